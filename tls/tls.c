/*
 * tls.c - the amqps side of Warren: one SSL_CTX built from the ssl_options
 * settings, rebuilt on reload, and handed to libevent's OpenSSL bufferevents
 * for each accepted socket; plus the verified client certificate's name in
 * RabbitMQ's format, for the EXTERNAL mechanism.
 */
#include "tls.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Used when ssl_options.ciphers lists no TLS 1.2 cipher: forward secret AEAD
 * suites only, ECDSA before RSA, AES-GCM before ChaCha20 (current common
 * practice for servers). TLS 1.3 keeps OpenSSL's default suites.
 */
static const char default_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
/* TLS 1.0 and 1.1 have no AEAD suites: when configured they need these too. */
static const char legacy_ciphers[] =
    ":ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA";

/* Ties sessions to this server; OpenSSL refuses to resume without one when
 * client certificates are verified. */
static const unsigned char session_id_context[] = "warren";

struct wrn_tls {
    SSL_CTX *ctx; /* owned reference; each SSL holds its own */
    /* owned copies of the options, to rebuild the context on reload */
    char *certfile, *keyfile, *cacertfile, *ciphers;
    bool verify_peer, fail_if_no_peer_cert;
    unsigned versions;
};

static char *
dup_or_null(const char *s)
{
    char *d;

    if (s == NULL || *s == '\0')
        return NULL;
    if ((d = strdup(s)) == NULL)
        abort(); /* as wrn_xmalloc: the broker does not run out of memory politely */
    return d;
}

/*
 * One OpenSSL error code as "library::reason" ("PEM routines::no start
 * line"), or the system's text for errno values; "" for 0 and for codes
 * that are not OpenSSL's (libevent queues SSL_get_error() results too).
 */
static void
error_reason(unsigned long e, char *out, size_t cap)
{
    const char *lib, *reason;

    out[0] = '\0';
    if (e == 0)
        return;
    if (ERR_SYSTEM_ERROR(e)) {
        snprintf(out, cap, "%s", strerror((int)ERR_GET_REASON(e)));
        return;
    }
    lib = ERR_lib_error_string(e);
    reason = ERR_reason_error_string(e);
    if (lib != NULL && reason != NULL)
        snprintf(out, cap, "%s::%s", lib, reason);
    else if (reason != NULL)
        snprintf(out, cap, "%s", reason);
}

/*
 * "setting file: reason" from the oldest error on OpenSSL's queue, which is
 * the one that says what went wrong ("No such file or directory", "PEM
 * routines::no start line"); the later ones only say who noticed. Clears
 * the queue.
 */
static void
file_error(char *err, size_t errlen, const char *setting, const char *file, const char *what)
{
    char why[256];

    error_reason(ERR_get_error(), why, sizeof(why));
    snprintf(err, errlen, "%s %s: %s", setting, file, why[0] ? why : what);
    ERR_clear_error();
}

/* Never prompt on the terminal for a key's pass phrase: encrypted keys are refused. */
static int
no_password_cb(char *buf, int size, int rwflag, void *userdata)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)userdata;
    return -1;
}

static int
proto_of(unsigned bit)
{
    switch (bit) {
    case WRN_TLS_VERSION_1_0:
        return TLS1_VERSION;
    case WRN_TLS_VERSION_1_1:
        return TLS1_1_VERSION;
    case WRN_TLS_VERSION_1_2:
        return TLS1_2_VERSION;
    default:
        return TLS1_3_VERSION;
    }
}

/*
 * Protocol versions: the lowest and highest configured bound the range, and
 * versions missing in between are switched off one by one. TLS 1.0 and 1.1
 * sign their handshakes with SHA-1 and MD5, which OpenSSL 3 refuses above
 * security level 0; an operator who lists them wants them to work.
 */
static int
set_versions(SSL_CTX *ctx, unsigned versions, char *err, size_t errlen)
{
    static const unsigned bits[] = {WRN_TLS_VERSION_1_0, WRN_TLS_VERSION_1_1, WRN_TLS_VERSION_1_2,
                                    WRN_TLS_VERSION_1_3};
    static const uint64_t no_op[] = {SSL_OP_NO_TLSv1, SSL_OP_NO_TLSv1_1, SSL_OP_NO_TLSv1_2,
                                     SSL_OP_NO_TLSv1_3};
    int lo = -1, hi = -1;

    for (int i = 0; i < 4; i++) {
        if (versions & bits[i]) {
            if (lo < 0)
                lo = i;
            hi = i;
        }
    }
    if (lo < 0) {
        snprintf(err, errlen, "ssl_options.versions: no protocol version enabled");
        return -1;
    }
    if (!SSL_CTX_set_min_proto_version(ctx, proto_of(bits[lo])) ||
        !SSL_CTX_set_max_proto_version(ctx, proto_of(bits[hi]))) {
        snprintf(err, errlen, "ssl_options.versions: not supported by this OpenSSL");
        return -1;
    }
    for (int i = lo + 1; i < hi; i++)
        if (!(versions & bits[i]))
            SSL_CTX_set_options(ctx, no_op[i]);
    if (versions & (WRN_TLS_VERSION_1_0 | WRN_TLS_VERSION_1_1))
        SSL_CTX_set_security_level(ctx, 0);
    return 0;
}

/*
 * Split "A:TLS_B:C" into the TLS 1.3 suites (TLS_*) and the older ciphers,
 * and give each to OpenSSL; a half left empty keeps its default.
 */
static int
set_ciphers(SSL_CTX *ctx, const char *list, unsigned versions, char *err, size_t errlen)
{
    size_t n = list ? strlen(list) : 0;
    char *v13 = calloc(1, n + 1),
         *v12 = calloc(1, n + sizeof(default_ciphers) + sizeof(legacy_ciphers));
    const char *p = list;
    int rc = -1;

    if (v13 == NULL || v12 == NULL)
        abort();
    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *dst = strncmp(p, "TLS_", 4) == 0 ? v13 : v12;

        if (len > 0) {
            if (*dst != '\0')
                strcat(dst, ":");
            strncat(dst, p, len);
        }
        p = end ? end + 1 : NULL;
    }
    if (*v12 == '\0') {
        strcpy(v12, default_ciphers);
        if (versions & (WRN_TLS_VERSION_1_0 | WRN_TLS_VERSION_1_1))
            strcat(v12, legacy_ciphers);
    }
    if (!SSL_CTX_set_cipher_list(ctx, v12)) {
        snprintf(err, errlen, "ssl_options.ciphers: no usable cipher in '%s'", v12);
        goto out;
    }
    if (*v13 != '\0' && !SSL_CTX_set_ciphersuites(ctx, v13)) {
        snprintf(err, errlen, "ssl_options.ciphers: no usable TLS 1.3 suite in '%s'", v13);
        goto out;
    }
    rc = 0;
out:
    ERR_clear_error();
    free(v13);
    free(v12);
    return rc;
}

/*
 * The CA file: the trust anchors for client certificates, and the list of
 * CA names sent in the CertificateRequest so clients pick the right
 * certificate. A file that holds no certificate is an error rather than a
 * silent "trust nobody".
 */
static int
load_ca(SSL_CTX *ctx, const char *file, char *err, size_t errlen)
{
    STACK_OF(X509_NAME) *names;

    ERR_clear_error();
    if (!SSL_CTX_load_verify_locations(ctx, file, NULL)) {
        file_error(err, errlen, "ssl_options.cacertfile", file, "cannot load");
        return -1;
    }
    names = SSL_load_client_CA_file(file);
    if (names == NULL) {
        file_error(err, errlen, "ssl_options.cacertfile", file, "no certificate in the file");
        return -1;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    ERR_clear_error();
    return 0;
}

/* A new SSL_CTX from t's options, or NULL with a message in err. */
static SSL_CTX *
build_ctx(const struct wrn_tls *t, char *err, size_t errlen)
{
    const char *keyfile = t->keyfile ? t->keyfile : t->certfile;
    SSL_CTX *ctx;
    int mode;

    ERR_clear_error();
    if (t->certfile == NULL) {
        snprintf(err, errlen, "ssl_options.certfile is not set");
        return NULL;
    }
    if (t->verify_peer && t->cacertfile == NULL) {
        snprintf(err, errlen, "ssl_options.verify = verify_peer needs ssl_options.cacertfile");
        return NULL;
    }
    if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
        snprintf(err, errlen, "cannot create a TLS context: %s",
                 ERR_reason_error_string(ERR_get_error()));
        ERR_clear_error();
        return NULL;
    }
    /* No renegotiation (a DoS lever, and gone from TLS 1.3), no compression
     * (CRIME), and the server's cipher order, not the client's. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* A TCP close without close_notify ends the stream like close_notify
     * (libevent then reports EOF, not an error). Truncation cannot pass
     * unseen: AMQP ends a connection with connection.close. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* Idle connections give their read and write buffers back. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_dh_auto(ctx, 1);
    SSL_CTX_set_session_id_context(ctx, session_id_context, sizeof(session_id_context) - 1);
    SSL_CTX_set_default_passwd_cb(ctx, no_password_cb);
    if (set_versions(ctx, t->versions, err, errlen) != 0 ||
        set_ciphers(ctx, t->ciphers, t->versions, err, errlen) != 0)
        goto out_free_ctx;

    if (!SSL_CTX_use_certificate_chain_file(ctx, t->certfile)) {
        file_error(err, errlen, "ssl_options.certfile", t->certfile, "cannot load");
        goto out_free_ctx;
    }
    /* OpenSSL checks here that the key belongs to the certificate */
    if (!SSL_CTX_use_PrivateKey_file(ctx, keyfile, SSL_FILETYPE_PEM) ||
        !SSL_CTX_check_private_key(ctx)) {
        bool mismatch = ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH;
        char why[1024];

        file_error(why, sizeof(why), "ssl_options.keyfile", keyfile, "cannot load");
        if (mismatch)
            snprintf(err, errlen, "%s (not the key of ssl_options.certfile %s)", why, t->certfile);
        else
            snprintf(err, errlen, "%s", why);
        goto out_free_ctx;
    }
    if (t->cacertfile != NULL && load_ca(ctx, t->cacertfile, err, errlen) != 0)
        goto out_free_ctx;

    mode = SSL_VERIFY_NONE;
    if (t->verify_peer) {
        mode = SSL_VERIFY_PEER;
        if (t->fail_if_no_peer_cert)
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    SSL_CTX_set_verify(ctx, mode, NULL);
    return ctx;

out_free_ctx:
    SSL_CTX_free(ctx);
    return NULL;
}

struct wrn_tls *
wrn_tls_new(const struct wrn_tls_options *o, char *err, size_t errlen)
{
    struct wrn_tls *t = calloc(1, sizeof(*t));

    if (t == NULL)
        abort();
    t->certfile = dup_or_null(o->certfile);
    t->keyfile = dup_or_null(o->keyfile);
    t->cacertfile = dup_or_null(o->cacertfile);
    t->ciphers = dup_or_null(o->ciphers);
    t->verify_peer = o->verify_peer;
    t->fail_if_no_peer_cert = o->fail_if_no_peer_cert;
    t->versions = o->versions ? o->versions : WRN_TLS_VERSION_1_2 | WRN_TLS_VERSION_1_3;
    if ((t->ctx = build_ctx(t, err, errlen)) == NULL) {
        wrn_tls_free(t);
        return NULL;
    }
    return t;
}

int
wrn_tls_reload(struct wrn_tls *t, char *err, size_t errlen)
{
    SSL_CTX *ctx = build_ctx(t, err, errlen);

    if (ctx == NULL)
        return -1;
    /* SSLs made from the old context hold references; it goes when they do */
    SSL_CTX_free(t->ctx);
    t->ctx = ctx;
    return 0;
}

void
wrn_tls_free(struct wrn_tls *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    free(t->certfile);
    free(t->keyfile);
    free(t->cacertfile);
    free(t->ciphers);
    free(t);
}

struct bufferevent *
wrn_tls_bufferevent(struct wrn_tls *t, struct event_base *base, int fd, int bev_options)
{
    SSL *ssl = SSL_new(t->ctx);
    struct bufferevent *bev;

    if (ssl == NULL) {
        ERR_clear_error();
        return NULL;
    }
    /* Without BEV_OPT_CLOSE_ON_FREE libevent leaves ssl to us on failure too. */
    bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, bev_options);
    if (bev == NULL) {
        if (!(bev_options & BEV_OPT_CLOSE_ON_FREE))
            SSL_free(ssl);
        ERR_clear_error();
        return NULL;
    }
    /* Most AMQP clients just close TCP after connection.close-ok. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

/* ---- peer identity -------------------------------------------------------- */

/* Short names as RabbitMQ prints them; other attributes appear as dotted OIDs. */
static const struct {
    int nid;
    const char *name;
} attr_names[] = {
    {NID_commonName, "CN"},
    {NID_surname, "SN"},
    {NID_givenName, "GIVENNAME"},
    {NID_initials, "INITIALS"},
    {NID_generationQualifier, "GENERATIONQUALIFIER"},
    {NID_localityName, "L"},
    {NID_stateOrProvinceName, "ST"},
    {NID_organizationName, "O"},
    {NID_organizationalUnitName, "OU"},
    {NID_title, "TITLE"},
    {NID_countryName, "C"},
    {NID_serialNumber, "SERIALNUMBER"},
    {NID_pseudonym, "PSEUDONYM"},
    {NID_domainComponent, "DC"},
    {NID_pkcs9_emailAddress, "EMAILADDRESS"},
    {NID_userId, "UID"},
};

/* A growing string that fails once it would not fit in cap bytes. */
struct out {
    char *p;
    size_t len, cap;
    bool overflow;
};

static void
out_add(struct out *o, const char *s, size_t n)
{
    if (o->overflow || o->len + n >= o->cap) {
        o->overflow = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

/* The entry's value as UTF-8 (owned by the caller, OPENSSL_free), or NULL. */
static unsigned char *
entry_utf8(const X509_NAME_ENTRY *e, int *len)
{
    unsigned char *s = NULL;

    *len = ASN1_STRING_to_UTF8(&s, X509_NAME_ENTRY_get_data(e));
    if (*len < 0)
        return NULL;
    if (memchr(s, '\0', (size_t)*len) != NULL) {
        /* "admin\0.evil.example" must not log in as admin */
        OPENSSL_free(s);
        return NULL;
    }
    return s;
}

/*
 * One attribute as "TYPE=value", the value escaped as RFC 4514 asks
 * (a leading '#' or space, a trailing space, and ",+\"\\<>;" get a
 * backslash), and, as RabbitMQ does, every byte outside 0x20..0x7d as \XX.
 */
static bool
add_attribute(struct out *o, const X509_NAME_ENTRY *e)
{
    const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(e);
    int nid = OBJ_obj2nid(obj), len;
    unsigned char *v;
    char type[128];
    size_t i;

    type[0] = '\0';
    for (i = 0; i < sizeof(attr_names) / sizeof(attr_names[0]); i++)
        if (attr_names[i].nid == nid)
            snprintf(type, sizeof(type), "%s", attr_names[i].name);
    if (type[0] == '\0' && OBJ_obj2txt(type, sizeof(type), obj, 1) <= 0)
        return false;
    if ((v = entry_utf8(e, &len)) == NULL)
        return false;
    out_add(o, type, strlen(type));
    out_add(o, "=", 1);
    for (int k = 0; k < len; k++) {
        unsigned char ch = v[k];
        char hex[4];

        if (ch < 0x20 || ch >= 0x7e) {
            snprintf(hex, sizeof(hex), "\\%02X", ch);
            out_add(o, hex, 3);
            continue;
        }
        if (strchr(",+\"\\<>;", ch) != NULL || (k == 0 && (ch == '#' || ch == ' ')) ||
            (k == len - 1 && ch == ' '))
            out_add(o, "\\", 1);
        out_add(o, (const char *)&ch, 1);
    }
    OPENSSL_free(v);
    return true;
}

/*
 * The subject as RabbitMQ's ssl_cert_login_from = distinguished_name gives
 * it: the RDNs last first, joined with ','; the attributes of a
 * multi-valued RDN in their encoded order, joined with '+'.
 */
static bool
format_dn(const X509_NAME *name, struct out *o)
{
    int n = X509_NAME_entry_count(name);
    int set = n > 0 ? X509_NAME_ENTRY_set(X509_NAME_get_entry(name, n - 1)) : -1;
    bool first = true;

    for (; set >= 0; set--) {
        bool first_in_set = true;
        for (int i = 0; i < n; i++) {
            const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
            if (X509_NAME_ENTRY_set(e) != set)
                continue;
            if (!first_in_set)
                out_add(o, "+", 1);
            else if (!first)
                out_add(o, ",", 1);
            first = first_in_set = false;
            if (!add_attribute(o, e))
                return false;
        }
    }
    return !first && !o->overflow;
}

/* The CN values in encoded order, raw UTF-8, joined with ',' (RabbitMQ's common_name). */
static bool
format_cn(const X509_NAME *name, struct out *o)
{
    int i = -1;
    bool any = false;

    while ((i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0) {
        int len;
        unsigned char *v = entry_utf8(X509_NAME_get_entry(name, i), &len);
        if (v == NULL)
            return false;
        if (any)
            out_add(o, ",", 1);
        out_add(o, (const char *)v, (size_t)len);
        OPENSSL_free(v);
        any = true;
    }
    return any && !o->overflow;
}

/* bev's verified peer certificate (borrowed), or NULL. */
static X509 *
verified_peer(struct bufferevent *bev)
{
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    X509 *cert;

    if (ssl == NULL || !SSL_is_init_finished(ssl))
        return NULL;
    cert = SSL_get0_peer_certificate(ssl);
    if (cert == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
        return NULL;
    /* verify_none never asks for a certificate, so one here was verified */
    if (!(SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER))
        return NULL;
    return cert;
}

bool
wrn_tls_peer_verified(struct bufferevent *bev)
{
    return verified_peer(bev) != NULL;
}

bool
wrn_tls_peer_name(struct bufferevent *bev, bool full_dn, char *out, size_t cap)
{
    X509 *cert = verified_peer(bev);
    struct out o = {out, 0, cap, false};
    bool ok;

    if (cap == 0)
        return false;
    out[0] = '\0';
    if (cert == NULL)
        return false;
    ok = full_dn ? format_dn(X509_get_subject_name(cert), &o)
                 : format_cn(X509_get_subject_name(cert), &o);
    if (!ok)
        out[0] = '\0';
    return ok;
}

const char *
wrn_tls_describe(struct bufferevent *bev, char *out, size_t cap)
{
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    unsigned long e;
    size_t len = 0;

    if (cap == 0)
        return out;
    out[0] = '\0';
    if (ssl == NULL)
        return out;
    if (SSL_is_init_finished(ssl)) {
        snprintf(out, cap, "%s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
        return out;
    }
    while ((e = bufferevent_get_openssl_error(bev)) != 0 && len + 1 < cap) {
        char why[200];
        int n;

        error_reason(e, why, sizeof(why));
        if (why[0] == '\0')
            continue;
        n = snprintf(out + len, cap - len, "%s%s", len ? "; " : "", why);
        if (n < 0)
            break;
        len += (size_t)n < cap - len ? (size_t)n : cap - len - 1;
    }
    if (len == 0)
        snprintf(out, cap, "handshake not finished");
    return out;
}

void
wrn_tls_shutdown(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);

    if (ssl == NULL || !SSL_is_init_finished(ssl) || (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN))
        return;
    /* One non-blocking try: the alert is a few bytes into an empty socket
     * buffer; if it cannot go, the peer sees a dirty close, which it copes with. */
    if (SSL_shutdown(ssl) < 0)
        ERR_clear_error();
}
