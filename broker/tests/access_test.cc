/*
 * access_test.cc - permission patterns (RabbitMQ's unanchored regex match,
 * "" meaning nothing, ".*" everything), the checks with their reply texts,
 * passive declares, the default exchange as amq.default, and topic rights
 * with {username} and {vhost}.
 */
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "fake_channel.h"

extern "C" {
#include "access.h"
#include "connection.h"
#include "exchange.h"
}

namespace
{

class Access : public ::testing::Test
{
  protected:
    void
    SetUp() override
    {
        fake::reset();
        v = wrn_vhost_new("prod");
        memset(&conn, 0, sizeof(conn));
        memset(&ch, 0, sizeof(ch));
        conn.vhost = v;
        snprintf(conn.user, sizeof(conn.user), "bob");
        ch.conn = &conn;
        ch.id = 1;
        fake::raised_code = 0;
        fake::raised_text.clear();
    }

    void
    TearDown() override
    {
        while (server.vhosts != NULL) {
            struct wrn_vhost *d = server.vhosts;
            server.vhosts = d->next;
            wrn_vhost_free(d);
        }
        fake::reset();
    }

    void
    Grant(const char *configure, const char *write, const char *read)
    {
        conn.permission = wrn_permission_set(v, "bob", configure, write, read);
    }

    bool
    Check(enum wrn_right r, const char *kind, const std::string &name)
    {
        fake::raised_code = 0;
        return wrn_access_check(&ch, r, kind, Sl(name)) == WRN_OK;
    }

    struct wrn_vhost *v;
    struct wrn_conn conn;
    struct wrn_channel ch;
};

TEST_F(Access, EachRightIsItsOwnPattern)
{
    Grant("^cfg-", "^w-", "^r-");
    EXPECT_TRUE(Check(WRN_CONFIGURE, "queue", "cfg-1"));
    EXPECT_FALSE(Check(WRN_CONFIGURE, "queue", "w-1"));
    EXPECT_TRUE(Check(WRN_WRITE, "exchange", "w-x"));
    EXPECT_FALSE(Check(WRN_WRITE, "exchange", "r-x"));
    EXPECT_TRUE(Check(WRN_READ, "queue", "r-q"));
    EXPECT_FALSE(Check(WRN_READ, "queue", "cfg-q"));
}

TEST_F(Access, RefusalTextIsRabbitMQs)
{
    Grant("", "", "");
    EXPECT_FALSE(Check(WRN_CONFIGURE, "queue", "orders"));
    EXPECT_EQ(fake::raised_code, WRN_ACCESS_REFUSED);
    EXPECT_EQ(fake::raised_text,
              "configure access to queue 'orders' in vhost 'prod' refused for user 'bob'");
    EXPECT_FALSE(Check(WRN_WRITE, "exchange", "events"));
    EXPECT_EQ(fake::raised_text,
              "write access to exchange 'events' in vhost 'prod' refused for user 'bob'");
    EXPECT_FALSE(Check(WRN_READ, "queue", "orders"));
    EXPECT_EQ(fake::raised_text,
              "read access to queue 'orders' in vhost 'prod' refused for user 'bob'");
}

TEST_F(Access, PatternsMatchAnywhereUnlessAnchored)
{
    Grant("orders", "^orders$", ".*");
    EXPECT_TRUE(Check(WRN_CONFIGURE, "queue", "eu.orders.new")) << "re:run is a search";
    EXPECT_TRUE(Check(WRN_WRITE, "exchange", "orders"));
    EXPECT_FALSE(Check(WRN_WRITE, "exchange", "orders2"));
    EXPECT_TRUE(Check(WRN_READ, "queue", "")) << "'.*' matches the empty name too";
}

TEST_F(Access, EmptyPatternMatchesNothing)
{
    Grant("", "", "");
    EXPECT_FALSE(Check(WRN_CONFIGURE, "queue", "a"));
    /* RabbitMQ's "" is "^$"; the only name it could match, "", is the default
     * exchange, which is checked as amq.default */
    EXPECT_FALSE(Check(WRN_WRITE, "exchange", ""));
}

TEST_F(Access, DefaultExchangeIsAmqDefault)
{
    Grant("", "^amq\\.default$", "");
    EXPECT_TRUE(Check(WRN_WRITE, "exchange", ""));
    Grant("", "^$", "");
    EXPECT_FALSE(Check(WRN_WRITE, "exchange", ""));
    EXPECT_EQ(fake::raised_text,
              "write access to exchange 'amq.default' in vhost 'prod' refused for user 'bob'");
}

TEST_F(Access, NoPermissionInTheVhostRefusesEverything)
{
    conn.permission = NULL;
    EXPECT_FALSE(Check(WRN_READ, "queue", "a"));
    EXPECT_FALSE(Check(WRN_WRITE, "exchange", "amq.direct"));
}

TEST_F(Access, PassiveDeclareNeedsAnyRight)
{
    Grant("", "", "^q$");
    EXPECT_EQ(wrn_access_check_any(&ch, "queue", Sl("q")), WRN_OK);
    EXPECT_EQ(wrn_access_check_any(&ch, "queue", Sl("other")), WRN_EAMQP);
    EXPECT_EQ(fake::raised_text,
              "configure access to queue 'other' in vhost 'prod' refused for user 'bob'");
    Grant("", "^other$", "");
    EXPECT_EQ(wrn_access_check_any(&ch, "queue", Sl("other")), WRN_OK);
}

TEST_F(Access, PatternCheckReportsTheReason)
{
    char err[256];
    EXPECT_EQ(wrn_pattern_check("^ok-.*", err, sizeof(err)), 0);
    EXPECT_EQ(wrn_pattern_check("", err, sizeof(err)), 0);
    EXPECT_EQ(wrn_pattern_check("(unclosed", err, sizeof(err)), -1);
    EXPECT_NE(strstr(err, "(unclosed"), nullptr) << err;
    EXPECT_NE(strstr(err, "parenthesis"), nullptr) << err;
}

TEST_F(Access, TopicRightsOnlyOnTopicExchangesWithAPermission)
{
    struct wrn_exchange *topic = wrn_vhost_exchange(v, Sl("amq.topic"));
    struct wrn_exchange *direct = wrn_vhost_exchange(v, Sl("amq.direct"));

    Grant(".*", ".*", ".*");
    EXPECT_EQ(wrn_access_check_topic(&ch, WRN_WRITE, topic, Sl("anything")), WRN_OK)
        << "no topic permission: everything allowed";
    ASSERT_EQ(wrn_topic_permission_set(v, "bob", "amq.topic", "^a\\.", "^r\\."), 0);
    EXPECT_EQ(wrn_access_check_topic(&ch, WRN_WRITE, topic, Sl("a.b")), WRN_OK);
    EXPECT_EQ(wrn_access_check_topic(&ch, WRN_WRITE, topic, Sl("b.a")), WRN_EAMQP);
    EXPECT_EQ(fake::raised_text, "write access to topic 'b.a' in exchange 'amq.topic' in vhost "
                                 "'prod' refused for user 'bob'");
    EXPECT_EQ(wrn_access_check_topic(&ch, WRN_READ, topic, Sl("r.x")), WRN_OK);
    EXPECT_EQ(wrn_access_check_topic(&ch, WRN_READ, topic, Sl("a.x")), WRN_EAMQP);
    EXPECT_EQ(wrn_access_check_topic(&ch, WRN_WRITE, direct, Sl("b.a")), WRN_OK)
        << "only topic exchanges";
    wrn_topic_permission_clear(v, "bob", "amq.topic");
    EXPECT_EQ(wrn_access_check_topic(&ch, WRN_WRITE, topic, Sl("b.a")), WRN_OK);
}

TEST_F(Access, TopicVariablesAreExpandedAndEscaped)
{
    struct wrn_exchange *topic = wrn_vhost_exchange(v, Sl("amq.topic"));
    struct wrn_vhost *dotted = wrn_vhost_new("a.b");
    struct wrn_channel ch2 = ch;
    struct wrn_conn conn2 = conn;

    Grant(".*", ".*", ".*");
    ASSERT_EQ(wrn_topic_permission_set(v, "bob", "amq.topic", "^users\\.{username}\\.", ".*"), 0);
    EXPECT_EQ(wrn_access_check_topic(&ch, WRN_WRITE, topic, Sl("users.bob.x")), WRN_OK);
    EXPECT_EQ(wrn_access_check_topic(&ch, WRN_WRITE, topic, Sl("users.alice.x")), WRN_EAMQP);

    /* a vhost name with a dot matches only itself */
    conn2.vhost = dotted;
    conn2.permission = wrn_permission_set(dotted, "bob", ".*", ".*", ".*");
    ch2.conn = &conn2;
    ASSERT_EQ(wrn_topic_permission_set(dotted, "bob", "amq.topic", "^{vhost}$", ".*"), 0);
    topic = wrn_vhost_exchange(dotted, Sl("amq.topic"));
    EXPECT_EQ(wrn_access_check_topic(&ch2, WRN_WRITE, topic, Sl("a.b")), WRN_OK);
    EXPECT_EQ(wrn_access_check_topic(&ch2, WRN_WRITE, topic, Sl("axb")), WRN_EAMQP);
}

TEST_F(Access, UserDeleteTakesItsPermissions)
{
    struct wrn_password_hash h;
    wrn_password_hash("pw", 2, &h);
    struct wrn_user *u = wrn_user_put("bob", &h, "");
    Grant(".*", ".*", ".*");
    ASSERT_NE(wrn_permission_find(v, "bob"), nullptr);
    wrn_user_delete(u);
    EXPECT_EQ(wrn_permission_find(v, "bob"), nullptr);
    EXPECT_EQ(wrn_user_find(Sl("bob")), nullptr);
}

} // namespace
