/*
 * amqps with rabbitmq-c against brokers this suite starts itself (the binary
 * from WARREN_BIN, which launch.py sets; skipped when it is unset, as when
 * the suite runs against another broker): the server's certificate verified,
 * client certificates required and refused, EXTERNAL login, TLS 1.1 refused.
 * Certificates are made with the openssl command in a temporary folder.
 */
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fcntl.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <spawn.h>
#include <string>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char **environ;

namespace {

namespace fs = std::filesystem;

/* Run argv (no shell) in folder cwd ("" for ours), output appended to
 * out_file; returns its exit status, or -1. */
int
run(const std::vector<std::string> &args, const std::string &out_file = "/dev/null",
    const std::string &cwd = "")
{
    std::vector<char *> argv;
    for (const std::string &a : args)
        argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (!cwd.empty())
        posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
    posix_spawn_file_actions_addopen(&fa, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

int
free_port()
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    bind(s, (struct sockaddr *)&a, sizeof(a));
    getsockname(s, (struct sockaddr *)&a, &len);
    close(s);
    return ntohs(a.sin_port);
}

bool
port_open(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    return ok;
}

std::string
slurp(const std::string &path)
{
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

/* A warren process with the given extra config lines. */
struct Broker {
    std::string dir, log;
    int ssl_port = 0;
    pid_t pid = -1;

    bool
    start(const std::string &bin, const std::string &certs, const std::string &name,
          const std::vector<std::string> &settings,
          const std::vector<std::vector<std::string>> &ctl_commands)
    {
        dir = certs + "/" + name;
        fs::create_directories(dir);
        log = dir + "/broker.log";
        std::string data = dir + "/data";
        for (const auto &cmd : ctl_commands) {
            std::vector<std::string> args = {bin, "--data-dir", data};
            args.insert(args.end(), cmd.begin(), cmd.end());
            if (run(args, log) != 0) {
                ADD_FAILURE() << "warren " << cmd[0] << " failed:\n" << slurp(log);
                return false;
            }
        }
        ssl_port = free_port();
        std::ofstream conf(dir + "/warren.conf");
        conf << "listeners.tcp = none\n"
             << "listeners.ssl.default = 127.0.0.1:" << ssl_port << "\n"
             << "ssl_options.certfile = " << certs << "/server.pem\n"
             << "ssl_options.keyfile = " << certs << "/server.key\n"
             << "ssl_options.cacertfile = " << certs << "/ca.pem\n";
        for (const std::string &s : settings)
            conf << s << "\n";
        conf.close();
        std::string confpath = dir + "/warren.conf";
        std::vector<char *> argv = {const_cast<char *>(bin.c_str()),
                                    const_cast<char *>("--config"),
                                    const_cast<char *>(confpath.c_str()),
                                    const_cast<char *>("--data-dir"),
                                    const_cast<char *>(data.c_str()), nullptr};
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                         0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        int rc = posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) {
            ADD_FAILURE() << "cannot start " << bin;
            pid = -1;
            return false;
        }
        for (int i = 0; i < 1500 && !port_open(ssl_port); i++) {
            int status;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                pid = -1;
                ADD_FAILURE() << "broker exited while starting:\n" << slurp(log);
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return port_open(ssl_port);
    }

    /* SIGTERM; the broker must exit 0 (under ASan a leak makes it fail). */
    void
    stop()
    {
        if (pid <= 0)
            return;
        kill(pid, SIGTERM);
        int status = 0;
        waitpid(pid, &status, 0);
        pid = -1;
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
            << "broker status " << status << " after SIGTERM; its log:\n"
            << slurp(log);
    }
};

struct Options {
    std::string ca = "ca.pem";
    std::string cert; /* name of a client certificate, "" for none */
    amqp_tls_version_t min = AMQP_TLSv1_2, max = AMQP_TLSvLATEST;
};

/* A connection, open or not; frees itself. */
struct Conn {
    amqp_connection_state_t c = amqp_new_connection();
    bool open = false;   /* TLS up */
    bool logged_in = false;
    amqp_rpc_reply_t login;

    ~Conn()
    {
        if (logged_in)
            amqp_connection_close(c, AMQP_REPLY_SUCCESS);
        amqp_destroy_connection(c);
    }
};

class Tls : public ::testing::Test
{
  protected:
    static std::string bin, certs;
    static Broker mtls, old_versions;
    static bool ready;

    /* the openssl command, run in the certificate folder */
    static bool
    openssl(std::initializer_list<std::string> args)
    {
        std::vector<std::string> argv = {"openssl"};
        argv.insert(argv.end(), args);
        return run(argv, certs + "/openssl.log", certs) == 0;
    }

    static bool
    make_key(const std::string &name)
    {
        return openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-out", name + ".key"});
    }

    static bool
    make_ca(const std::string &name, const std::string &subject)
    {
        return make_key(name) &&
               openssl({"req", "-x509", "-new", "-key", name + ".key", "-subj", subject, "-days",
                        "2", "-out", name + ".pem", "-addext", "basicConstraints=critical,CA:true"});
    }

    static bool
    make_cert(const std::string &name, const std::string &subject, const std::string &ca,
              bool server)
    {
        std::ofstream(certs + "/" + name + ".ext")
            << (server ? "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
                       : "extendedKeyUsage=clientAuth\n");
        return make_key(name) &&
               openssl({"req", "-new", "-key", name + ".key", "-subj", subject, "-out",
                        name + ".csr"}) &&
               openssl({"x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey",
                        ca + ".key", "-set_serial", std::to_string(rand() + 1), "-days", "2",
                        "-extfile", name + ".ext", "-out", name + ".pem"});
    }

    static void
    SetUpTestSuite()
    {
        const char *b = getenv("WARREN_BIN");
        if (b == nullptr || *b == '\0')
            return;
        bin = b;
        signal(SIGPIPE, SIG_IGN);
        std::string tmpl = (fs::temp_directory_path() / "warren-c-tls-XXXXXX").string();
        if (mkdtemp(&tmpl[0]) == nullptr)
            return;
        certs = tmpl;
        /* rabbitmq-c cannot set ciphers, and the system's OpenSSL security
         * level keeps clients from offering TLS 1.0/1.1: lower it for this
         * process (read when rabbitmq-c first initializes OpenSSL), so that
         * a refusal of TLS 1.1 is the broker's. */
        std::ofstream(certs + "/client-openssl.cnf")
            << "openssl_conf = conf\n[conf]\nssl_conf = ssl\n[ssl]\nsystem_default = sys\n"
               "[sys]\nCipherString = DEFAULT:@SECLEVEL=0\nMinProtocol = TLSv1\n";
        setenv("OPENSSL_CONF", (certs + "/client-openssl.cnf").c_str(), 1);
        if (!make_ca("ca", "/CN=Warren Test CA") || !make_cert("server", "/CN=localhost", "ca", true) ||
            !make_cert("client", "/C=US/O=Warren Test/CN=tls-client", "ca", false) ||
            !make_cert("ext-user", "/CN=ext-user", "ca", false) ||
            !make_cert("nobody", "/CN=nobody", "ca", false) || !make_ca("rogue-ca", "/CN=Rogue CA") ||
            !make_cert("rogue-client", "/CN=ext-user", "rogue-ca", false)) {
            ADD_FAILURE() << "openssl could not make the test certificates";
            return;
        }
        ready = mtls.start(bin, certs, "mtls",
                           {"ssl_options.verify = verify_peer",
                            "ssl_options.fail_if_no_peer_cert = true",
                            "auth_mechanisms.1 = EXTERNAL", "auth_mechanisms.2 = PLAIN"},
                           {{"add_user", "ext-user", "not-used-with-external"},
                            {"set_permissions", "-p", "/", "ext-user", "^ext-user-.*", ".*", ".*"}}) &&
                old_versions.start(bin, certs, "old-versions",
                                   {"ssl_options.versions.1 = tlsv1.1",
                                    "ssl_options.versions.2 = tlsv1.2"},
                                   {});
    }

    static void
    TearDownTestSuite()
    {
        mtls.stop();
        old_versions.stop();
        if (!certs.empty())
            fs::remove_all(certs);
    }

    void
    SetUp() override
    {
        if (bin.empty())
            GTEST_SKIP() << "WARREN_BIN is not set: no broker of our own to start";
        ASSERT_TRUE(ready) << "the test brokers did not start";
    }

    /* TLS to broker b as "localhost", verifying its certificate, then a login
     * (PLAIN guest, or EXTERNAL when external). */
    static void
    Connect(Conn &conn, const Broker &b, const Options &o, bool external = false)
    {
        amqp_socket_t *s = amqp_ssl_socket_new(conn.c);
        ASSERT_NE(s, nullptr);
        ASSERT_EQ(amqp_ssl_socket_set_cacert(s, (certs + "/" + o.ca).c_str()), AMQP_STATUS_OK);
        if (!o.cert.empty()) {
            ASSERT_EQ(amqp_ssl_socket_set_key(s, (certs + "/" + o.cert + ".pem").c_str(),
                                              (certs + "/" + o.cert + ".key").c_str()),
                      AMQP_STATUS_OK);
        }
        amqp_ssl_socket_set_verify_peer(s, 1);
        amqp_ssl_socket_set_verify_hostname(s, 1);
        ASSERT_EQ(amqp_ssl_socket_set_ssl_versions(s, o.min, o.max), AMQP_STATUS_OK);
        struct timeval tv = {10, 0};
        if (amqp_socket_open_noblock(s, "localhost", b.ssl_port, &tv) != AMQP_STATUS_OK)
            return;
        conn.open = true;
        if (external)
            conn.login = amqp_login(conn.c, "/", 0, 131072, 0, AMQP_SASL_METHOD_EXTERNAL,
                                    "ext-user");
        else
            conn.login = amqp_login(conn.c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest",
                                    "guest");
        conn.logged_in = conn.login.reply_type == AMQP_RESPONSE_NORMAL;
    }

    /* Publish one message to a new queue and read it back. */
    static void
    Roundtrip(Conn &conn)
    {
        ASSERT_NE(amqp_channel_open(conn.c, 1), nullptr);
        amqp_queue_declare_ok_t *q =
            amqp_queue_declare(conn.c, 1, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
        ASSERT_NE(q, nullptr);
        amqp_bytes_t name = amqp_bytes_malloc_dup(q->queue);
        std::string body = "over TLS with rabbitmq-c";
        ASSERT_EQ(amqp_basic_publish(conn.c, 1, amqp_empty_bytes, name, 1, 0, nullptr,
                                     amqp_cstring_bytes(body.c_str())),
                  AMQP_STATUS_OK);
        amqp_rpc_reply_t r;
        bool got = false;
        for (int i = 0; i < 50 && !got; i++) {
            r = amqp_basic_get(conn.c, 1, name, 1);
            ASSERT_EQ(r.reply_type, AMQP_RESPONSE_NORMAL);
            got = r.reply.id == AMQP_BASIC_GET_OK_METHOD;
        }
        ASSERT_TRUE(got);
        amqp_message_t msg;
        ASSERT_EQ(amqp_read_message(conn.c, 1, &msg, 0).reply_type, AMQP_RESPONSE_NORMAL);
        EXPECT_EQ(std::string((const char *)msg.body.bytes, msg.body.len), body);
        amqp_destroy_message(&msg);
        amqp_bytes_free(name);
        amqp_channel_close(conn.c, 1, AMQP_REPLY_SUCCESS);
    }
};

std::string Tls::bin, Tls::certs;
Broker Tls::mtls, Tls::old_versions;
bool Tls::ready = false;

TEST_F(Tls, VerifiedServerAndClientCertificate)
{
    Conn conn;
    Options o;
    o.cert = "client";
    Connect(conn, mtls, o);
    ASSERT_TRUE(conn.open);
    ASSERT_TRUE(conn.logged_in);
    Roundtrip(conn);
}

TEST_F(Tls, ServerFromAnotherCaRefused)
{
    Conn conn;
    Options o;
    o.cert = "client";
    o.ca = "rogue-ca.pem";
    Connect(conn, mtls, o);
    EXPECT_FALSE(conn.open);
}

/* In TLS 1.3 the client's side of the handshake ends before the server has
 * checked the client's certificate: the refusal may surface at login. */
TEST_F(Tls, NoClientCertificateRefused)
{
    Conn conn;
    Connect(conn, mtls, Options());
    EXPECT_FALSE(conn.open && conn.logged_in);
    if (conn.open) {
        EXPECT_EQ(conn.login.reply_type, AMQP_RESPONSE_LIBRARY_EXCEPTION);
    }
}

TEST_F(Tls, ClientCertificateFromAnotherCaRefused)
{
    Conn conn;
    Options o;
    o.cert = "rogue-client";
    Connect(conn, mtls, o);
    EXPECT_FALSE(conn.open && conn.logged_in);
    if (conn.open) {
        EXPECT_EQ(conn.login.reply_type, AMQP_RESPONSE_LIBRARY_EXCEPTION);
    }
}

TEST_F(Tls, ExternalLogsInAsTheCertificateCn)
{
    Conn conn;
    Options o;
    o.cert = "ext-user";
    Connect(conn, mtls, o, true);
    ASSERT_TRUE(conn.open);
    ASSERT_TRUE(conn.logged_in) << "reply type " << conn.login.reply_type;
    ASSERT_NE(amqp_channel_open(conn.c, 1), nullptr);
    /* ext-user may configure only queues named ext-user-*: the 403 shows who we are */
    EXPECT_NE(amqp_queue_declare(conn.c, 1, amqp_cstring_bytes("ext-user-q"), 0, 0, 1, 1,
                                 amqp_empty_table),
              nullptr);
    EXPECT_EQ(amqp_queue_declare(conn.c, 1, amqp_cstring_bytes("someone-else-q"), 0, 0, 1, 1,
                                 amqp_empty_table),
              nullptr);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(conn.c);
    ASSERT_EQ(r.reply_type, AMQP_RESPONSE_SERVER_EXCEPTION);
    ASSERT_EQ(r.reply.id, AMQP_CHANNEL_CLOSE_METHOD);
    auto *close = static_cast<amqp_channel_close_t *>(r.reply.decoded);
    EXPECT_EQ(close->reply_code, 403);
    std::string text((const char *)close->reply_text.bytes, close->reply_text.len);
    EXPECT_NE(text.find("refused for user 'ext-user'"), std::string::npos) << text;
    amqp_channel_close_ok_t ok = {};
    amqp_send_method(conn.c, 1, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
}

TEST_F(Tls, ExternalRefusedForUnknownCn)
{
    Conn conn;
    Options o;
    o.cert = "nobody";
    Connect(conn, mtls, o, true);
    ASSERT_TRUE(conn.open);
    ASSERT_EQ(conn.login.reply_type, AMQP_RESPONSE_SERVER_EXCEPTION);
    ASSERT_EQ(conn.login.reply.id, AMQP_CONNECTION_CLOSE_METHOD);
    auto *close = static_cast<amqp_connection_close_t *>(conn.login.reply.decoded);
    EXPECT_EQ(close->reply_code, 403);
    std::string text((const char *)close->reply_text.bytes, close->reply_text.len);
    EXPECT_EQ(text.rfind("ACCESS_REFUSED", 0), 0u) << text;
}

TEST_F(Tls, Tls11RefusedByDefault)
{
    Options o;
    o.cert = "client";
    o.min = o.max = AMQP_TLSv1_1;
    {
        /* the control: a broker that allows TLS 1.1 takes this client */
        Conn conn;
        Connect(conn, old_versions, o);
        ASSERT_TRUE(conn.open && conn.logged_in)
            << "this client cannot do TLS 1.1 even with a broker that allows it";
    }
    Conn conn;
    Connect(conn, mtls, o);
    EXPECT_FALSE(conn.open);
    EXPECT_NE(slurp(mtls.log).find("unsupported protocol"), std::string::npos);
}

} // namespace
