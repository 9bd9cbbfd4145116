/*
 * tls.h - TLS for the broker's amqps listener: the server's OpenSSL context
 * (protocol versions, ciphers, certificate, key, CA), its reload on SIGHUP,
 * libevent bufferevents that speak TLS, and the verified peer certificate's
 * identity for the EXTERNAL mechanism. Knows nothing of the broker or AMQP.
 */
#ifndef WRN_TLS_H
#define WRN_TLS_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bufferevent;
struct event_base;

/* Protocol versions, for wrn_tls_options.versions */
#define WRN_TLS_VERSION_1_0 0x1u
#define WRN_TLS_VERSION_1_1 0x2u
#define WRN_TLS_VERSION_1_2 0x4u
#define WRN_TLS_VERSION_1_3 0x8u

struct wrn_tls_options {
    const char *certfile;      /* PEM: the server certificate, then any intermediates */
    const char *keyfile;       /* PEM, unencrypted; NULL or "": the key is in certfile */
    const char *cacertfile;    /* PEM: CAs that client certificates must chain to; may be NULL */
    bool verify_peer;          /* ask clients for a certificate and verify it */
    bool fail_if_no_peer_cert; /* with verify_peer: refuse clients without one */
    unsigned versions;         /* WRN_TLS_VERSION_* bits; 0: TLS 1.2 and 1.3 */
    /* ':'-separated; names starting "TLS_" are TLS 1.3 suites, the others
     * OpenSSL cipher names for TLS 1.2 and older. NULL or "": defaults. */
    const char *ciphers;
};

struct wrn_tls; /* opaque: the current SSL_CTX and the options to rebuild it */

/*
 * Build a server context from o (copied; the strings need not outlive the
 * call), reading the certificate, key and CA files now. Returns the context,
 * or NULL with a message in err that names the setting, the file and
 * OpenSSL's reason ("ssl_options.certfile F: No such file or directory").
 */
struct wrn_tls *wrn_tls_new(const struct wrn_tls_options *o, char *err, size_t errlen);

/*
 * Read the files again into a fresh context. On success, connections
 * accepted from now on use it, while established ones keep the context they
 * started with (each holds a reference). On failure returns -1 with a
 * message in err and keeps the old context.
 */
int wrn_tls_reload(struct wrn_tls *t, char *err, size_t errlen);

/* Free t; connections still open keep their own reference. NULL is a no-op. */
void wrn_tls_free(struct wrn_tls *t);

/*
 * A bufferevent for the accepted socket fd that runs the server side of the
 * TLS handshake, then carries plaintext. bev_options are the usual BEV_OPT_*;
 * with BEV_OPT_CLOSE_ON_FREE, freeing it closes fd. A peer that closes TCP
 * without close_notify reports BEV_EVENT_EOF, not an error. Returns NULL if
 * OpenSSL is out of memory; fd is then still the caller's to close.
 */
struct bufferevent *wrn_tls_bufferevent(struct wrn_tls *t, struct event_base *base, int fd,
                                        int bev_options);

/*
 * After the handshake: the identity of the peer's verified certificate, as
 * RabbitMQ's ssl_cert_login_from names it. full_dn false: the subject's
 * common name (several CNs joined with ','). full_dn true: the whole subject
 * in RFC 4514 form as RabbitMQ writes it ("CN=client,O=Warren Test,C=US").
 * Returns false, with out set to "", when bev is not TLS, there is no
 * verified peer certificate, the subject has no CN, a value holds a NUL, or
 * the name does not fit in cap bytes.
 */
bool wrn_tls_peer_name(struct bufferevent *bev, bool full_dn, char *out, size_t cap);

/* Whether the peer presented a certificate that verified (bev may be plain TCP). */
bool wrn_tls_peer_verified(struct bufferevent *bev);

/*
 * For logs: the negotiated protocol and cipher ("TLSv1.3 TLS_AES_256_GCM_SHA384")
 * once the handshake is done, or after a failure the OpenSSL reasons queued
 * on bev ("SSL routines::unsupported protocol"). Returns out.
 */
const char *wrn_tls_describe(struct bufferevent *bev, char *out, size_t cap);

/*
 * Send close_notify (once) so that the peer sees a clean TLS end before the
 * caller half-closes the socket. Does nothing on a non-TLS bev.
 */
void wrn_tls_shutdown(struct bufferevent *bev);

#ifdef __cplusplus
}
#endif

#endif /* WRN_TLS_H */
