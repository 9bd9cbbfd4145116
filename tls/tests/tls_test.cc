/*
 * tls_test.cc - the TLS context's errors (each names the setting, the file
 * and OpenSSL's reason), reload, and the peer certificate's name checked
 * against what RabbitMQ 3.10 derives from the same subjects. Certificates
 * are made here with OpenSSL, in a temporary folder.
 */
#include "tls.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

/* One name attribute; set_with_previous puts it in the previous RDN (multi-valued). */
struct Attr {
    const char *field;
    std::string value;
    bool set_with_previous;
};

EVP_PKEY *
NewKey()
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    EXPECT_NE(k, nullptr);
    return k;
}

X509_NAME *
NewName(const std::vector<Attr> &attrs)
{
    X509_NAME *n = X509_NAME_new();
    for (const Attr &a : attrs) {
        int ok = X509_NAME_add_entry_by_txt(n, a.field, MBSTRING_UTF8,
                                            (const unsigned char *)a.value.data(),
                                            (int)a.value.size(), -1, a.set_with_previous ? -1 : 0);
        EXPECT_EQ(ok, 1) << a.field;
    }
    return n;
}

/* A certificate for key with subject, signed by issuer_key (self-signed when issuer is NULL). */
X509 *
NewCert(EVP_PKEY *key, const std::vector<Attr> &subject, X509 *issuer, EVP_PKEY *issuer_key,
        long serial, bool ca)
{
    X509 *c = X509_new();
    X509_NAME *name = NewName(subject);
    X509V3_CTX v3;

    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400);
    X509_set_subject_name(c, name);
    X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
    X509_set_pubkey(c, key);
    X509V3_set_ctx(&v3, issuer ? issuer : c, c, nullptr, nullptr, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_basic_constraints,
                                              ca ? "critical,CA:TRUE" : "CA:FALSE");
    X509_add_ext(c, ext, -1);
    X509_EXTENSION_free(ext);
    X509_NAME_free(name);
    EXPECT_GT(X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()), 0);
    return c;
}

void
WriteFile(const std::string &path, const std::string &text)
{
    FILE *f = fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr) << path;
    fwrite(text.data(), 1, text.size(), f);
    fclose(f);
}

void
WritePem(const std::string &path, X509 *cert, EVP_PKEY *key)
{
    FILE *f = fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr) << path;
    if (cert)
        PEM_write_X509(f, cert);
    if (key)
        PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    fclose(f);
}

class Tls : public ::testing::Test
{
  protected:
    std::string dir;
    EVP_PKEY *ca_key = nullptr, *key = nullptr, *other_key = nullptr;
    X509 *ca = nullptr, *server = nullptr;

    void
    SetUp() override
    {
        /* a side that hangs up mid-handshake must not kill the test */
        signal(SIGPIPE, SIG_IGN);
        std::string tmpl = ::testing::TempDir() + "warren-tls-test-XXXXXX";
        ASSERT_NE(mkdtemp(&tmpl[0]), nullptr);
        dir = tmpl;
        ca_key = NewKey();
        key = NewKey();
        other_key = NewKey();
        ca = NewCert(ca_key, {{"CN", "Test CA", false}}, nullptr, nullptr, 1, true);
        server = NewCert(key, {{"CN", "localhost", false}}, ca, ca_key, 0x1001, false);
        WritePem(Path("ca.pem"), ca, nullptr);
        WritePem(Path("server.pem"), server, nullptr);
        WritePem(Path("server.key"), nullptr, key);
        WritePem(Path("other.key"), nullptr, other_key);
        WritePem(Path("both.pem"), server, key);
        WriteFile(Path("text.txt"), "not a certificate\n");
    }

    void
    TearDown() override
    {
        X509_free(ca);
        X509_free(server);
        EVP_PKEY_free(ca_key);
        EVP_PKEY_free(key);
        EVP_PKEY_free(other_key);
        std::filesystem::remove_all(dir);
    }

    std::string
    Path(const char *name) const
    {
        return dir + "/" + name;
    }

    struct wrn_tls_options
    Options()
    {
        certfile = Path("server.pem");
        keyfile = Path("server.key");
        cafile = Path("ca.pem");
        struct wrn_tls_options o = {};
        o.certfile = certfile.c_str();
        o.keyfile = keyfile.c_str();
        o.cacertfile = cafile.c_str();
        return o;
    }

    /* err from wrn_tls_new(o), which must fail */
    std::string
    ErrorOf(const struct wrn_tls_options &o)
    {
        char err[1024] = "";
        struct wrn_tls *t = wrn_tls_new(&o, err, sizeof(err));
        EXPECT_EQ(t, nullptr);
        wrn_tls_free(t);
        return err;
    }

    std::string certfile, keyfile, cafile;
};

TEST_F(Tls, LoadsCertificateKeyAndCa)
{
    char err[512] = "";
    struct wrn_tls_options o = Options();
    o.verify_peer = true;
    o.fail_if_no_peer_cert = true;
    struct wrn_tls *t = wrn_tls_new(&o, err, sizeof(err));
    ASSERT_NE(t, nullptr) << err;
    wrn_tls_free(t);
    wrn_tls_free(nullptr);
}

TEST_F(Tls, KeyMayBeInTheCertificateFile)
{
    char err[512] = "";
    std::string both = Path("both.pem");
    struct wrn_tls_options o = Options();
    o.certfile = both.c_str();
    o.keyfile = nullptr;
    struct wrn_tls *t = wrn_tls_new(&o, err, sizeof(err));
    EXPECT_NE(t, nullptr) << err;
    wrn_tls_free(t);
}

TEST_F(Tls, MissingCertificateNamesFileAndReason)
{
    std::string missing = Path("missing.pem");
    struct wrn_tls_options o = Options();
    o.certfile = missing.c_str();
    EXPECT_EQ(ErrorOf(o), "ssl_options.certfile " + missing + ": No such file or directory");
}

TEST_F(Tls, CertificateThatIsNotPem)
{
    std::string text = Path("text.txt");
    struct wrn_tls_options o = Options();
    o.certfile = text.c_str();
    EXPECT_EQ(ErrorOf(o), "ssl_options.certfile " + text + ": PEM routines::no start line");
}

TEST_F(Tls, KeyOfAnotherCertificate)
{
    std::string other = Path("other.key");
    struct wrn_tls_options o = Options();
    o.keyfile = other.c_str();
    std::string err = ErrorOf(o);
    EXPECT_EQ(err.rfind("ssl_options.keyfile " + other + ": ", 0), 0u) << err;
    EXPECT_NE(err.find("key values mismatch"), std::string::npos) << err;
    EXPECT_NE(err.find(Path("server.pem")), std::string::npos) << err;
}

TEST_F(Tls, MissingKey)
{
    std::string missing = Path("missing.key");
    struct wrn_tls_options o = Options();
    o.keyfile = missing.c_str();
    EXPECT_EQ(ErrorOf(o), "ssl_options.keyfile " + missing + ": No such file or directory");
}

TEST_F(Tls, CaFileWithoutCertificates)
{
    std::string text = Path("text.txt");
    struct wrn_tls_options o = Options();
    o.cacertfile = text.c_str();
    std::string err = ErrorOf(o);
    EXPECT_EQ(err.rfind("ssl_options.cacertfile " + text + ": ", 0), 0u) << err;
    /* the key alone is PEM, but no CA */
    std::string keyonly = Path("server.key");
    o.cacertfile = keyonly.c_str();
    err = ErrorOf(o);
    EXPECT_EQ(err.rfind("ssl_options.cacertfile " + keyonly + ": ", 0), 0u) << err;
}

TEST_F(Tls, VerifyPeerNeedsCa)
{
    struct wrn_tls_options o = Options();
    o.cacertfile = nullptr;
    o.verify_peer = true;
    EXPECT_NE(ErrorOf(o).find("ssl_options.cacertfile"), std::string::npos);
}

TEST_F(Tls, UnknownCiphers)
{
    struct wrn_tls_options o = Options();
    o.ciphers = "NO-SUCH-CIPHER";
    EXPECT_NE(ErrorOf(o).find("ssl_options.ciphers"), std::string::npos);
    o.ciphers = "TLS_NO_SUCH_SUITE";
    EXPECT_NE(ErrorOf(o).find("ssl_options.ciphers"), std::string::npos);
}

/* ---- handshakes over a socket pair ------------------------------------------ */

struct Client {
    X509 *cert = nullptr; /* borrowed */
    EVP_PKEY *key = nullptr;
    int max_version = 0;
};

struct Served {
    bool connected = false, failed = false;
    std::string peer_cn, peer_dn, describe;
    bool cn_ok = false, dn_ok = false;
    bool cn_fits = false, cn_short = true; /* the CN into exactly its size, and one byte less */
    std::string cn_short_out;
    long served_serial = -1;
};

void
event_cb(struct bufferevent *bev, short what, void *arg)
{
    Served *s = static_cast<Served *>(arg);
    char buf[1024];

    if (what & BEV_EVENT_CONNECTED) {
        s->connected = true;
        s->cn_ok = wrn_tls_peer_name(bev, false, buf, sizeof(buf));
        s->peer_cn = buf;
        s->dn_ok = wrn_tls_peer_name(bev, true, buf, sizeof(buf));
        s->peer_dn = buf;
        s->cn_fits = wrn_tls_peer_name(bev, false, buf, s->peer_cn.size() + 1);
        s->cn_short = wrn_tls_peer_name(bev, false, buf, s->peer_cn.size());
        s->cn_short_out = buf;
    } else {
        s->failed = true;
    }
    s->describe = wrn_tls_describe(bev, buf, sizeof(buf));
    event_base_loopbreak(bufferevent_get_base(bev));
}

/* Run one handshake between t and a client presenting c's certificate. */
Served
Handshake(struct wrn_tls *t, const Client &c)
{
    Served s;
    int sv[2];
    struct event_base *base = event_base_new();

    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    evutil_make_socket_nonblocking(sv[0]);
    struct bufferevent *bev = wrn_tls_bufferevent(t, base, sv[0], BEV_OPT_CLOSE_ON_FREE);
    EXPECT_NE(bev, nullptr);
    bufferevent_setcb(bev, nullptr, nullptr, event_cb, &s);
    bufferevent_enable(bev, EV_READ | EV_WRITE);

    long served_serial = -1;
    std::thread client([&] {
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        if (c.max_version)
            SSL_CTX_set_max_proto_version(ctx, c.max_version);
        if (c.cert) {
            SSL_CTX_use_certificate(ctx, c.cert);
            SSL_CTX_use_PrivateKey(ctx, c.key);
        }
        SSL *ssl = SSL_new(ctx);
        SSL_set_fd(ssl, sv[1]);
        if (SSL_connect(ssl) == 1) {
            X509 *peer = SSL_get0_peer_certificate(ssl);
            if (peer)
                served_serial = ASN1_INTEGER_get(X509_get0_serialNumber(peer));
            char byte;
            SSL_read(ssl, &byte, 1); /* until the server closes (TLS 1.3 alerts come here) */
        }
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        ERR_clear_error();
        close(sv[1]);
    });
    struct timeval limit = {10, 0};
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    /* ends the client's read; bufferevent_free closes sv[0] only once the
     * base runs its finalizers */
    shutdown(sv[0], SHUT_RDWR);
    bufferevent_free(bev);
    client.join();
    event_base_free(base);
    s.served_serial = served_serial;
    return s;
}

class TlsPeer : public Tls
{
  protected:
    struct wrn_tls *t = nullptr;

    void
    SetUp() override
    {
        Tls::SetUp();
        char err[512] = "";
        struct wrn_tls_options o = Options();
        o.verify_peer = true;
        t = wrn_tls_new(&o, err, sizeof(err));
        ASSERT_NE(t, nullptr) << err;
    }

    void
    TearDown() override
    {
        wrn_tls_free(t);
        Tls::TearDown();
    }

    /* The handshake of a client whose certificate (signed by the CA) has subject. */
    Served
    WithSubject(const std::vector<Attr> &subject)
    {
        X509 *cert = NewCert(other_key, subject, ca, ca_key, 7, false);
        Client c;
        c.cert = cert;
        c.key = other_key;
        Served s = Handshake(t, c);
        X509_free(cert);
        EXPECT_TRUE(s.connected) << s.describe;
        return s;
    }
};

/* The expected names below are what RabbitMQ 3.10.8's rabbit_ssl:peer_cert_auth_name
 * returned for certificates with the same subjects. */

TEST_F(TlsPeer, CommonNameAndDistinguishedName)
{
    Served s = WithSubject({{"C", "US", false},
                            {"ST", "CA", false},
                            {"O", "Warren, Test", false},
                            {"OU", "a+b", false},
                            {"CN", "client", false},
                            {"emailAddress", "x@y.z", false}});
    EXPECT_TRUE(s.cn_ok);
    EXPECT_EQ(s.peer_cn, "client");
    EXPECT_TRUE(s.dn_ok);
    EXPECT_EQ(s.peer_dn, "EMAILADDRESS=x@y.z,CN=client,OU=a\\+b,O=Warren\\, Test,ST=CA,C=US");
}

TEST_F(TlsPeer, EscapesAndMultiValuedRdn)
{
    Served s = WithSubject({{"DC", "org", false},
                            {"DC", "example", false},
                            {"O", "#hash ", false},
                            {"CN", "one", false},
                            {"UID", "u1", true},
                            {"CN", "two", false},
                            {"L", "Z\xc3\xbcrich", false},
                            {"serialNumber", "42", false},
                            {"title", "t;x", false},
                            {"street", "s<>\"\\q", false},
                            {"CN", " sp ", false}});
    EXPECT_EQ(s.peer_cn, "one,two, sp ");
    EXPECT_EQ(s.peer_dn, "CN=\\ sp\\ ,2.5.4.9=s\\<\\>\\\"\\\\q,TITLE=t\\;x,SERIALNUMBER=42,"
                         "L=Z\\C3\\BCrich,CN=two,CN=one+UID=u1,O=\\#hash\\ ,DC=example,DC=org");
}

TEST_F(TlsPeer, AttributeNamesAndBytesOutsidePrintableAscii)
{
    Served s = WithSubject({{"SN", "s", false},
                            {"GN", "g", false},
                            {"initials", "i", false},
                            {"generationQualifier", "q", false},
                            {"pseudonym", "p", false},
                            {"UID", "u", false},
                            {"street", "st", false},
                            {"dnQualifier", "d", false},
                            {"name", "n", false},
                            {"postalCode", "pc", false},
                            {"businessCategory", "bc", false},
                            {"description", "de", false},
                            {"CN", "Z\xc3\xbcrich", false},
                            {"CN", "tab\tx", false},
                            {"CN", "del", false},
                            {"O", "t~i=l{}|^`@!$%&*()_-", false}});
    EXPECT_EQ(s.peer_cn, "Z\xc3\xbcrich,tab\tx,del");
    EXPECT_EQ(s.peer_dn, "O=t\\7Ei=l{}|^`@!$%&*()_-,CN=del,CN=tab\\09x,CN=Z\\C3\\BCrich,"
                         "2.5.4.13=de,2.5.4.15=bc,2.5.4.17=pc,2.5.4.41=n,2.5.4.46=d,2.5.4.9=st,"
                         "UID=u,PSEUDONYM=p,GENERATIONQUALIFIER=q,INITIALS=i,GIVENNAME=g,SN=s");
}

TEST_F(TlsPeer, NoCommonName)
{
    Served s = WithSubject({{"O", "NoCN", false}});
    EXPECT_FALSE(s.cn_ok);
    EXPECT_EQ(s.peer_cn, "");
    EXPECT_TRUE(s.dn_ok);
    EXPECT_EQ(s.peer_dn, "O=NoCN");
}

TEST_F(TlsPeer, NulInCommonNameIsRefused)
{
    Served s = WithSubject({{"CN", std::string("admin\0.evil", 11), false}});
    EXPECT_FALSE(s.cn_ok);
    EXPECT_FALSE(s.dn_ok);
}

TEST_F(TlsPeer, NameLongerThanTheBuffer)
{
    Served s = WithSubject({{"CN", std::string(60, 'x'), false}});
    EXPECT_EQ(s.peer_cn, std::string(60, 'x'));
    EXPECT_TRUE(s.cn_fits);
    EXPECT_FALSE(s.cn_short);
    EXPECT_EQ(s.cn_short_out, "");
}

TEST_F(TlsPeer, NoClientCertificate)
{
    Served s = Handshake(t, Client{});
    ASSERT_TRUE(s.connected) << s.describe;
    EXPECT_FALSE(s.cn_ok);
    EXPECT_FALSE(s.dn_ok);
    EXPECT_EQ(s.describe.rfind("TLSv1.3 ", 0), 0u) << s.describe;
}

TEST_F(TlsPeer, ClientCertificateFromAnotherCaIsRefused)
{
    EVP_PKEY *rogue_key = NewKey();
    X509 *rogue = NewCert(rogue_key, {{"CN", "Test CA", false}}, nullptr, nullptr, 1, true);
    X509 *cert = NewCert(other_key, {{"CN", "client", false}}, rogue, rogue_key, 7, false);
    Client c;
    c.cert = cert;
    c.key = other_key;
    c.max_version = TLS1_2_VERSION; /* the refusal comes inside the handshake */
    Served s = Handshake(t, c);
    EXPECT_TRUE(s.failed);
    EXPECT_NE(s.describe.find("certificate verify failed"), std::string::npos) << s.describe;
    X509_free(cert);
    X509_free(rogue);
    EVP_PKEY_free(rogue_key);
}

TEST_F(Tls, VerifyNoneNeverNamesThePeer)
{
    char err[512] = "";
    struct wrn_tls_options o = Options();
    struct wrn_tls *t = wrn_tls_new(&o, err, sizeof(err));
    ASSERT_NE(t, nullptr) << err;
    X509 *cert = NewCert(other_key, {{"CN", "client", false}}, ca, ca_key, 7, false);
    Client c;
    c.cert = cert;
    c.key = other_key;
    Served s = Handshake(t, c);
    EXPECT_TRUE(s.connected) << s.describe;
    EXPECT_FALSE(s.cn_ok);
    X509_free(cert);
    wrn_tls_free(t);
}

TEST_F(Tls, PlainBuffereventHasNoPeerName)
{
    struct event_base *base = event_base_new();
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
    char buf[64] = "x";
    EXPECT_FALSE(wrn_tls_peer_name(bev, false, buf, sizeof(buf)));
    EXPECT_STREQ(buf, "");
    EXPECT_FALSE(wrn_tls_peer_verified(bev));
    wrn_tls_shutdown(bev); /* a no-op */
    bufferevent_free(bev);
    event_base_free(base);
}

TEST_F(Tls, ReloadSwapsCertificateAndKeepsTheOldOnFailure)
{
    char err[512] = "";
    struct wrn_tls_options o = Options();
    struct wrn_tls *t = wrn_tls_new(&o, err, sizeof(err));
    ASSERT_NE(t, nullptr) << err;
    EXPECT_EQ(Handshake(t, Client{}).served_serial, 0x1001);

    X509 *next = NewCert(key, {{"CN", "localhost", false}}, ca, ca_key, 0x2002, false);
    WritePem(Path("server.pem"), next, nullptr);
    X509_free(next);
    ASSERT_EQ(wrn_tls_reload(t, err, sizeof(err)), 0) << err;
    EXPECT_EQ(Handshake(t, Client{}).served_serial, 0x2002);

    WriteFile(Path("server.pem"), "garbage\n");
    EXPECT_EQ(wrn_tls_reload(t, err, sizeof(err)), -1);
    EXPECT_NE(std::string(err).find(Path("server.pem")), std::string::npos) << err;
    EXPECT_EQ(Handshake(t, Client{}).served_serial, 0x2002);
    wrn_tls_free(t);
}

TEST_F(Tls, OnlyConfiguredVersions)
{
    char err[512] = "";
    struct wrn_tls_options o = Options();
    o.versions = WRN_TLS_VERSION_1_3;
    struct wrn_tls *t = wrn_tls_new(&o, err, sizeof(err));
    ASSERT_NE(t, nullptr) << err;
    Client c;
    c.max_version = TLS1_2_VERSION;
    Served s = Handshake(t, c);
    EXPECT_TRUE(s.failed);
    EXPECT_NE(s.describe.find("unsupported protocol"), std::string::npos) << s.describe;
    s = Handshake(t, Client{});
    EXPECT_TRUE(s.connected);
    EXPECT_EQ(s.describe.rfind("TLSv1.3", 0), 0u) << s.describe;
    wrn_tls_free(t);

    o.versions = 0; /* the default: 1.2 and 1.3 */
    t = wrn_tls_new(&o, err, sizeof(err));
    ASSERT_NE(t, nullptr) << err;
    s = Handshake(t, c);
    EXPECT_TRUE(s.connected) << s.describe;
    EXPECT_EQ(s.describe.rfind("TLSv1.2", 0), 0u) << s.describe;
    wrn_tls_free(t);
}

struct Ends {
    short what = 0;
};

void
end_cb(struct bufferevent *bev, short what, void *arg)
{
    if (what & BEV_EVENT_CONNECTED)
        return;
    static_cast<Ends *>(arg)->what = what;
    event_base_loopbreak(bufferevent_get_base(bev));
}

/* Clients mostly just close TCP: that is an end of stream, not an error. */
TEST_F(Tls, CloseWithoutCloseNotifyIsEof)
{
    char err[512] = "";
    struct wrn_tls_options o = Options();
    struct wrn_tls *t = wrn_tls_new(&o, err, sizeof(err));
    ASSERT_NE(t, nullptr) << err;
    struct event_base *base = event_base_new();
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    evutil_make_socket_nonblocking(sv[0]);
    struct bufferevent *bev = wrn_tls_bufferevent(t, base, sv[0], BEV_OPT_CLOSE_ON_FREE);
    ASSERT_NE(bev, nullptr);
    Ends ends;
    bufferevent_setcb(bev, nullptr, nullptr, end_cb, &ends);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    std::thread client([&] {
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        /* TLS 1.2: no session tickets arrive after the handshake to be left
         * unread, which would turn our close into a reset */
        SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
        SSL *ssl = SSL_new(ctx);
        SSL_set_fd(ssl, sv[1]);
        EXPECT_EQ(SSL_connect(ssl), 1);
        SSL_write(ssl, "AMQP", 4);
        shutdown(sv[1], SHUT_WR); /* no close_notify */
        SSL_free(ssl);
        SSL_CTX_free(ctx);
    });
    struct timeval limit = {10, 0};
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    client.join();
    EXPECT_EQ(ends.what & (BEV_EVENT_EOF | BEV_EVENT_ERROR), BEV_EVENT_EOF);
    EXPECT_EQ(evbuffer_get_length(bufferevent_get_input(bev)), 4u); /* the data came first */
    bufferevent_free(bev);
    close(sv[1]);
    event_base_free(base);
    wrn_tls_free(t);
}

} // namespace
