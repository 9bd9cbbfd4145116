/*
 * vhost_test.cc - the exchanges every vhost starts with, lookup by name,
 * and freeing a vhost whose exchanges auto-delete each other.
 */
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fake_channel.h"

extern "C" {
#include "dict.h"
#include "exchange.h"
}

namespace
{

class Vhost : public ::testing::Test
{
  protected:
    void
    SetUp() override
    {
        fake::reset();
    }

    void
    TearDown() override
    {
        while (server.vhosts != NULL) {
            struct wrn_vhost *v = server.vhosts;
            server.vhosts = v->next;
            wrn_vhost_free(v);
        }
        fake::reset();
    }
};

TEST_F(Vhost, PredeclaresTheDefaultAndAmqExchanges)
{
    struct wrn_vhost *v = wrn_vhost_new("/");
    const struct {
        const char *name;
        enum wrn_exchange_type type;
    } want[] = {
        {"", WRN_EXCHANGE_DIRECT},
        {"amq.direct", WRN_EXCHANGE_DIRECT},
        {"amq.fanout", WRN_EXCHANGE_FANOUT},
        {"amq.topic", WRN_EXCHANGE_TOPIC},
        {"amq.headers", WRN_EXCHANGE_HEADERS},
        {"amq.match", WRN_EXCHANGE_HEADERS},
    };

    EXPECT_EQ(wrn_dict_size(v->exchanges), 6u);
    EXPECT_EQ(wrn_dict_size(v->queues), 0u);
    for (const auto &w : want) {
        struct wrn_exchange *x = wrn_vhost_exchange(v, wrn_slice_str(w.name));
        ASSERT_NE(x, nullptr) << "'" << w.name << "'";
        EXPECT_EQ(x->type, w.type) << w.name;
        EXPECT_STREQ(x->name, w.name);
        EXPECT_TRUE(x->durable) << w.name;
        EXPECT_TRUE(x->builtin) << w.name;
        EXPECT_FALSE(x->auto_delete) << w.name;
        EXPECT_FALSE(x->internal) << w.name;
        EXPECT_EQ(x->vhost, v);
    }
    EXPECT_EQ(wrn_vhost_exchange(v, Sl("amq.rabbitmq.trace")), nullptr);
}

TEST_F(Vhost, FindByNameAndKeepNamespacesApart)
{
    struct wrn_vhost *root = wrn_vhost_new("/");
    struct wrn_vhost *other = wrn_vhost_new("other");

    EXPECT_EQ(wrn_vhost_find(Sl("/")), root);
    EXPECT_EQ(wrn_vhost_find(Sl("other")), other);
    EXPECT_EQ(wrn_vhost_find(Sl("oth")), nullptr);
    EXPECT_EQ(wrn_vhost_find(Sl("")), nullptr);

    struct wrn_queue *q = NewQueue(root, "q");
    EXPECT_EQ(wrn_vhost_queue(root, Sl("q")), q);
    EXPECT_EQ(wrn_vhost_queue(other, Sl("q")), nullptr);
    EXPECT_NE(wrn_vhost_exchange(root, Sl("amq.direct")),
              wrn_vhost_exchange(other, Sl("amq.direct")));
}

/* dict.c's hash (FNV-1a), to pick names that share a bucket. */
uint32_t
Fnv1a(const std::string &s)
{
    uint32_t h = 2166136261u;
    for (unsigned char ch : s) {
        h ^= ch;
        h *= 16777619u;
    }
    return h;
}

/*
 * Exchanges bound in a ring, all auto-delete: deleting any one takes all
 * the others with it, from inside the vhost's walk over its exchanges. Their
 * names share a hash bucket, so the walk's next entry is one of those
 * deleted under it, and ASan reports a walk that does not start over.
 */
TEST_F(Vhost, FreeSurvivesExchangesAutoDeletingEachOther)
{
    struct wrn_vhost *v = wrn_vhost_new("/");
    struct wrn_slice none = {NULL, 0};
    std::vector<struct wrn_exchange *> ring;
    const uint32_t bucket_bits = 0xfff; /* the same bucket in tables up to 4096 */

    for (int i = 0; ring.size() < 40; i++) {
        std::string name = "x" + std::to_string(i);
        if ((Fnv1a(name) & bucket_bits) != (Fnv1a("x0") & bucket_bits))
            continue;
        ring.push_back(
            wrn_exchange_new(v, Sl(name), WRN_EXCHANGE_FANOUT, false, true, false, none));
    }
    for (size_t i = 0; i < ring.size(); i++)
        wrn_binding_add(ring[i], NULL, ring[(i + 1) % ring.size()], Sl(""), none);
    struct wrn_queue *q = NewQueue(v, "q");
    wrn_binding_add(ring[0], q, NULL, Sl(""), none);
    EXPECT_EQ(wrn_dict_size(v->exchanges), 6u + ring.size());

    /* the same cascade outside a walk: one delete empties the ring */
    struct wrn_vhost *w = wrn_vhost_new("other");
    std::vector<struct wrn_exchange *> small;
    for (int i = 0; i < 5; i++) {
        std::string name = "y" + std::to_string(i);
        small.push_back(
            wrn_exchange_new(w, Sl(name), WRN_EXCHANGE_FANOUT, false, true, false, none));
    }
    for (int i = 0; i < 5; i++)
        wrn_binding_add(small[i], NULL, small[(i + 1) % 5], Sl(""), none);
    wrn_exchange_delete(small[2]);
    EXPECT_EQ(wrn_dict_size(w->exchanges), 6u);
}

} // namespace
