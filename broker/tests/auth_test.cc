/*
 * auth_test.cc - SASL PLAIN, AMQPLAIN and EXTERNAL, RabbitMQ's password
 * hashes, unknown users and mechanisms, and loopback_users.
 */
#include <gtest/gtest.h>

#include <string>

#include "fake_channel.h"

extern "C" {
#include "access.h"
#include "alloc.h"
#include "auth.h"
#include "config.h"
#include "password.h"
}

#include <cstring>

namespace
{

class Auth : public ::testing::Test
{
  protected:
    void
    SetUp() override
    {
        struct wrn_password_hash h;
        wrn_config_defaults(&server.cfg); /* loopback_users: guest */
        wrn_password_hash("guest", 5, &h);
        wrn_user_put("guest", &h, "administrator");
        wrn_password_hash("secret", 6, &h);
        wrn_user_put("alice", &h, "");
        wrn_user_put("cert-client", &h, "");
    }

    void
    TearDown() override
    {
        wrn_users_free();
    }

    enum wrn_auth_result
    Login(const std::string &mechanism, const std::string &response, bool loopback = false,
          const char *cert_name = NULL)
    {
        struct wrn_user *u = NULL;
        user[0] = '\0';
        who.p = NULL;
        who.len = 0;
        last_response = response; /* who points into it */
        enum wrn_auth_result r =
            wrn_auth_login(Sl(mechanism), Sl(last_response), cert_name, loopback, &u, &who);
        if (r == WRN_AUTH_OK)
            snprintf(user, sizeof(user), "%s", u->name);
        return r;
    }

    std::string
    Offered(const char *cert_name)
    {
        char out[160];
        wrn_auth_mechanisms(cert_name, out, sizeof(out));
        return out;
    }

    char user[256];
    struct wrn_slice who;
    std::string last_response;
};

std::string
Plain(const std::string &authzid, const std::string &user, const std::string &pass)
{
    return authzid + std::string(1, '\0') + user + std::string(1, '\0') + pass;
}

TEST_F(Auth, PlainWithoutAuthzid)
{
    std::string r = Plain("", "alice", "secret");
    EXPECT_EQ(Login("PLAIN", r), WRN_AUTH_OK);
    EXPECT_STREQ(user, "alice");
    EXPECT_EQ(Str(who), "alice");
}

TEST_F(Auth, PlainWithAuthzid)
{
    std::string r = Plain("admin", "alice", "secret");
    EXPECT_EQ(Login("PLAIN", r), WRN_AUTH_OK);
    EXPECT_STREQ(user, "alice") << "the authentication id logs in, not the authzid";
}

TEST_F(Auth, PlainWithoutBothNulsIsMalformed)
{
    EXPECT_EQ(Login("PLAIN", "alice secret"), WRN_AUTH_MALFORMED);
    EXPECT_EQ(Login("PLAIN", std::string("\0alicesecret", 12)), WRN_AUTH_MALFORMED);
    EXPECT_EQ(Login("PLAIN", ""), WRN_AUTH_MALFORMED);
}

TEST_F(Auth, PlainPasswordMayContainNul)
{
    /* everything after the second NUL is the password */
    std::string r = Plain("", "alice", std::string("sec\0ret", 7));
    EXPECT_EQ(Login("PLAIN", r), WRN_AUTH_REFUSED);
}

TEST_F(Auth, AmqplainTable)
{
    std::string r = Table({{"LOGIN", "alice"}, {"PASSWORD", "secret"}});
    EXPECT_EQ(Login("AMQPLAIN", r), WRN_AUTH_OK);
    EXPECT_STREQ(user, "alice");

    std::string reversed = Table({{"PASSWORD", "secret"}, {"LOGIN", "alice"}});
    EXPECT_EQ(Login("AMQPLAIN", reversed), WRN_AUTH_OK);
    EXPECT_EQ(Login("AMQPLAIN", Table({{"LOGIN", "alice"}, {"PASSWORD", "wrong"}})),
              WRN_AUTH_REFUSED);
}

TEST_F(Auth, AmqplainMalformed)
{
    EXPECT_EQ(Login("AMQPLAIN", Table({{"LOGIN", "alice"}})), WRN_AUTH_MALFORMED);
    EXPECT_EQ(Login("AMQPLAIN", Table({{"PASSWORD", "secret"}})), WRN_AUTH_MALFORMED);
    EXPECT_EQ(Login("AMQPLAIN", Table({{"login", "alice"}, {"password", "secret"}})),
              WRN_AUTH_MALFORMED);
    /* a PLAIN response is not a field table */
    EXPECT_EQ(Login("AMQPLAIN", Plain("", "alice", "secret")), WRN_AUTH_MALFORMED);
    /* a table cut short */
    std::string t = Table({{"LOGIN", "alice"}, {"PASSWORD", "secret"}});
    EXPECT_EQ(Login("AMQPLAIN", t.substr(0, t.size() - 2)), WRN_AUTH_MALFORMED);
    /* LOGIN must be a string */
    std::string intlogin =
        std::string("\x05LOGINI\x00\x00\x00\x01", 11) + Table({{"PASSWORD", "secret"}});
    EXPECT_EQ(Login("AMQPLAIN", intlogin), WRN_AUTH_MALFORMED);
}

TEST_F(Auth, WrongPasswordIsRefused)
{
    EXPECT_EQ(Login("PLAIN", Plain("", "alice", "wrong")), WRN_AUTH_REFUSED);
    EXPECT_EQ(Login("PLAIN", Plain("", "alice", "secre")), WRN_AUTH_REFUSED);
    EXPECT_EQ(Login("PLAIN", Plain("", "alice", "secret!")), WRN_AUTH_REFUSED);
    EXPECT_EQ(Login("PLAIN", Plain("", "alice", "")), WRN_AUTH_REFUSED);
    EXPECT_EQ(Login("PLAIN", Plain("", "alice", "guest")), WRN_AUTH_REFUSED);
    EXPECT_STREQ(user, "") << "nothing copied out on failure";
    EXPECT_EQ(Str(who), "alice") << "the name is reported for the log";
}

TEST_F(Auth, UnknownUserIsRefused)
{
    EXPECT_EQ(Login("PLAIN", Plain("", "mallory", "secret")), WRN_AUTH_REFUSED);
    EXPECT_EQ(Login("PLAIN", Plain("", "Alice", "secret")), WRN_AUTH_REFUSED);
    EXPECT_EQ(Login("PLAIN", Plain("", "", "")), WRN_AUTH_REFUSED);
    EXPECT_EQ(Str(who), "");
}

TEST_F(Auth, LoopbackOnlyUser)
{
    EXPECT_EQ(Login("PLAIN", Plain("", "guest", "guest"), true), WRN_AUTH_OK);
    EXPECT_STREQ(user, "guest");
    EXPECT_EQ(Login("PLAIN", Plain("", "guest", "guest"), false), WRN_AUTH_LOOPBACK_ONLY);
    EXPECT_STREQ(user, "");
    EXPECT_EQ(Login("AMQPLAIN", Table({{"LOGIN", "guest"}, {"PASSWORD", "guest"}}), false),
              WRN_AUTH_LOOPBACK_ONLY);
    /* other users are not limited */
    EXPECT_EQ(Login("PLAIN", Plain("", "alice", "secret"), false), WRN_AUTH_OK);
}

TEST_F(Auth, UnknownMechanism)
{
    std::string r = Plain("", "alice", "secret");
    EXPECT_EQ(Login("EXTERNAL", r), WRN_AUTH_BAD_MECHANISM) << "not offered without a certificate";
    EXPECT_EQ(Login("plain", r), WRN_AUTH_BAD_MECHANISM);
    EXPECT_EQ(Login("", r), WRN_AUTH_BAD_MECHANISM);
    EXPECT_EQ(Login("PLAIN ", r), WRN_AUTH_BAD_MECHANISM);
}

TEST_F(Auth, FindUser)
{
    struct wrn_user *u = wrn_user_find(Sl("alice"));
    ASSERT_NE(u, nullptr);
    EXPECT_TRUE(wrn_password_check(&u->hash, Sl("secret")));
    EXPECT_EQ(wrn_user_find(Sl("alic")), nullptr);
    EXPECT_EQ(wrn_user_find(Sl("")), nullptr);
}

TEST_F(Auth, LoopbackUsersSetting)
{
    char err[128];
    ASSERT_EQ(wrn_config_set(&server.cfg, "loopback_users.guest", "false", err, sizeof(err)), 0);
    EXPECT_EQ(Login("PLAIN", Plain("", "guest", "guest"), false), WRN_AUTH_OK);
    ASSERT_EQ(wrn_config_set(&server.cfg, "loopback_users.alice", "true", err, sizeof(err)), 0);
    EXPECT_EQ(Login("PLAIN", Plain("", "alice", "secret"), false), WRN_AUTH_LOOPBACK_ONLY);
    EXPECT_EQ(Login("PLAIN", Plain("", "alice", "secret"), true), WRN_AUTH_OK);
    ASSERT_EQ(wrn_config_set(&server.cfg, "loopback_users", "none", err, sizeof(err)), 0);
    EXPECT_EQ(Login("PLAIN", Plain("", "alice", "secret"), false), WRN_AUTH_OK);
}

TEST_F(Auth, ExternalOfferedOnlyWithACertificate)
{
    EXPECT_EQ(Offered(NULL), "PLAIN AMQPLAIN");
    EXPECT_EQ(Offered("cert-client"), "PLAIN AMQPLAIN EXTERNAL");
    EXPECT_EQ(Login("EXTERNAL", "", false, NULL), WRN_AUTH_BAD_MECHANISM);
    EXPECT_EQ(Login("EXTERNAL", "", false, "cert-client"), WRN_AUTH_OK);
    EXPECT_STREQ(user, "cert-client");
    /* the response cannot name someone else: the certificate decides */
    EXPECT_EQ(Login("EXTERNAL", "alice", false, "cert-client"), WRN_AUTH_OK);
    EXPECT_STREQ(user, "cert-client");
    EXPECT_EQ(Login("EXTERNAL", "", false, "nobody"), WRN_AUTH_REFUSED);
    EXPECT_EQ(Str(who), "nobody");
}

TEST_F(Auth, ConfiguredMechanisms)
{
    char err[128];
    ASSERT_EQ(wrn_config_set(&server.cfg, "auth_mechanisms.1", "EXTERNAL", err, sizeof(err)), 0);
    EXPECT_EQ(Offered(NULL), "");
    EXPECT_EQ(Offered("cert-client"), "EXTERNAL");
    EXPECT_EQ(Login("PLAIN", Plain("", "alice", "secret")), WRN_AUTH_BAD_MECHANISM)
        << "a mechanism not offered is refused even if Warren knows it";
    ASSERT_EQ(wrn_config_set(&server.cfg, "auth_mechanisms.2", "PLAIN", err, sizeof(err)), 0);
    EXPECT_EQ(Offered("cert-client"), "EXTERNAL PLAIN");
    EXPECT_EQ(Login("AMQPLAIN", Table({{"LOGIN", "alice"}, {"PASSWORD", "secret"}})),
              WRN_AUTH_BAD_MECHANISM);
    EXPECT_EQ(wrn_config_set(&server.cfg, "auth_mechanisms.3", "CRAM-MD5", err, sizeof(err)), -1);
}

/* A hash exported from RabbitMQ 3.10 (export_definitions) for "correct horse". */
TEST_F(Auth, RabbitMQPasswordHash)
{
    struct wrn_password_hash h;
    char b64[WRN_PASSWORD_B64_MAX];
    const char *exported = "Re1AdvpVgla/Nb+jgmvbj+vDDoZ4EjcI2QvffCz9U8R73Kzv";

    ASSERT_EQ(wrn_password_from_base64(exported, WRN_HASH_NONE, &h), 0);
    EXPECT_EQ(h.algorithm, WRN_HASH_SHA256);
    EXPECT_TRUE(wrn_password_check(&h, Sl("correct horse")));
    EXPECT_FALSE(wrn_password_check(&h, Sl("correct horsE")));
    EXPECT_FALSE(wrn_password_check(&h, Sl("")));
    wrn_password_to_base64(&h, b64);
    EXPECT_STREQ(b64, exported);
    EXPECT_EQ(wrn_password_algorithm_parse("rabbit_password_hashing_sha256"), WRN_HASH_SHA256);
    EXPECT_EQ(wrn_password_algorithm_parse("rabbit_password_hashing_sha1"), -1);
}

TEST_F(Auth, PasswordHashRoundTripAndSalt)
{
    struct wrn_password_hash a, b, back;
    char b64[WRN_PASSWORD_B64_MAX];

    wrn_password_hash("pw", 2, &a);
    wrn_password_hash("pw", 2, &b);
    EXPECT_EQ(a.len, 36);
    EXPECT_NE(memcmp(a.bytes, b.bytes, a.len), 0) << "each hash has its own salt";
    wrn_password_to_base64(&a, b64);
    EXPECT_EQ(strlen(b64), 48u);
    ASSERT_EQ(wrn_password_from_base64(b64, WRN_HASH_NONE, &back), 0);
    EXPECT_TRUE(wrn_password_check(&back, Sl("pw")));
    /* blank password: password logins always refused */
    wrn_password_hash("", 0, &a);
    EXPECT_EQ(a.algorithm, WRN_HASH_NONE);
    EXPECT_FALSE(wrn_password_check(&a, Sl("")));
    /* not hashes */
    EXPECT_EQ(wrn_password_from_base64("abc", WRN_HASH_NONE, &back), -1);
    EXPECT_EQ(wrn_password_from_base64("YWJjZA==", WRN_HASH_NONE, &back), -1);
    EXPECT_EQ(wrn_password_from_base64("!!!!", WRN_HASH_NONE, &back), -1);
}

} // namespace
