/*
 * auth_test.cc - SASL PLAIN and AMQPLAIN responses, passwords, unknown
 * users and mechanisms, and users limited to loopback connections.
 */
#include <gtest/gtest.h>

#include <string>

#include "fake_channel.h"

extern "C" {
#include "alloc.h"
#include "auth.h"
}

namespace
{

class Auth : public ::testing::Test
{
  protected:
    void
    SetUp() override
    {
        wrn_user_add("guest", "guest", true);
        wrn_user_add("alice", "secret", false);
    }

    void
    TearDown() override
    {
        while (server.users != NULL) {
            struct wrn_user *u = server.users;
            server.users = u->next;
            wrn_free(u->name);
            wrn_free(u->password);
            wrn_free(u);
        }
    }

    enum wrn_auth_result
    Login(const std::string &mechanism, const std::string &response, bool loopback = false)
    {
        user[0] = '\0';
        who.p = NULL;
        who.len = 0;
        last_response = response; /* who points into it */
        return wrn_auth_login(Sl(mechanism), Sl(last_response), loopback, user, &who);
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
    EXPECT_EQ(Login("EXTERNAL", r), WRN_AUTH_BAD_MECHANISM);
    EXPECT_EQ(Login("plain", r), WRN_AUTH_BAD_MECHANISM);
    EXPECT_EQ(Login("", r), WRN_AUTH_BAD_MECHANISM);
    EXPECT_EQ(Login("PLAIN ", r), WRN_AUTH_BAD_MECHANISM);
}

TEST_F(Auth, FindUser)
{
    struct wrn_user *u = wrn_user_find(Sl("alice"));
    ASSERT_NE(u, nullptr);
    EXPECT_STREQ(u->password, "secret");
    EXPECT_FALSE(u->loopback_only);
    EXPECT_TRUE(wrn_user_find(Sl("guest"))->loopback_only);
    EXPECT_EQ(wrn_user_find(Sl("alic")), nullptr);
    EXPECT_EQ(wrn_user_find(Sl("")), nullptr);
}

} // namespace
