/*
 * dict_test.cc - the byte-string hash map: set, replace, get, remove,
 * growth, iteration (with removal of the current entry), binary and empty
 * keys.
 */
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "fake_channel.h"

extern "C" {
#include "dict.h"
}

namespace
{

/* Distinct values: addresses inside one array, never dereferenced. */
char pool[5000];

void *
V(size_t i)
{
    return &pool[i];
}

TEST(Dict, SetGetReplaceRemove)
{
    struct wrn_dict *d = wrn_dict_new();

    EXPECT_EQ(wrn_dict_size(d), 0u);
    EXPECT_EQ(wrn_dict_get(d, Sl("a")), nullptr);
    wrn_dict_set(d, Sl("a"), V(1));
    wrn_dict_set(d, Sl("b"), V(2));
    EXPECT_EQ(wrn_dict_get(d, Sl("a")), V(1));
    EXPECT_EQ(wrn_dict_get(d, Sl("b")), V(2));
    EXPECT_EQ(wrn_dict_size(d), 2u);

    wrn_dict_set(d, Sl("a"), V(3));
    EXPECT_EQ(wrn_dict_get(d, Sl("a")), V(3));
    EXPECT_EQ(wrn_dict_size(d), 2u) << "replacing adds nothing";

    EXPECT_EQ(wrn_dict_remove(d, Sl("a")), V(3));
    EXPECT_EQ(wrn_dict_get(d, Sl("a")), nullptr);
    EXPECT_EQ(wrn_dict_remove(d, Sl("a")), nullptr);
    EXPECT_EQ(wrn_dict_remove(d, Sl("zz")), nullptr);
    EXPECT_EQ(wrn_dict_size(d), 1u);
    EXPECT_EQ(wrn_dict_get(d, Sl("b")), V(2));
    wrn_dict_free(d);
    wrn_dict_free(NULL);
}

TEST(Dict, KeysAreCopied)
{
    struct wrn_dict *d = wrn_dict_new();
    std::string key = "queue";

    wrn_dict_set(d, Sl(key), V(1));
    key[0] = 'Q';
    EXPECT_EQ(wrn_dict_get(d, Sl("queue")), V(1));
    EXPECT_EQ(wrn_dict_get(d, Sl("Queue")), nullptr);
    wrn_dict_free(d);
}

TEST(Dict, GrowsPastManyKeys)
{
    struct wrn_dict *d = wrn_dict_new();

    for (size_t i = 0; i < 5000; i++)
        wrn_dict_set(d, Sl("key-" + std::to_string(i)), V(i));
    EXPECT_EQ(wrn_dict_size(d), 5000u);
    for (size_t i = 0; i < 5000; i++)
        ASSERT_EQ(wrn_dict_get(d, Sl("key-" + std::to_string(i))), V(i)) << i;
    for (size_t i = 0; i < 5000; i += 2)
        ASSERT_EQ(wrn_dict_remove(d, Sl("key-" + std::to_string(i))), V(i));
    EXPECT_EQ(wrn_dict_size(d), 2500u);
    for (size_t i = 0; i < 5000; i++)
        ASSERT_EQ(wrn_dict_get(d, Sl("key-" + std::to_string(i))), i % 2 ? V(i) : nullptr);
    wrn_dict_free(d);
}

TEST(Dict, IterationVisitsEveryEntryOnce)
{
    struct wrn_dict *d = wrn_dict_new();
    std::map<std::string, void *> want, got;
    struct wrn_dict_iter it;
    struct wrn_slice key;
    void *value;

    wrn_dict_iter_init(&it, d);
    EXPECT_FALSE(wrn_dict_iter_next(&it, &key, &value));
    for (size_t i = 0; i < 300; i++) {
        want["k" + std::to_string(i)] = V(i);
        wrn_dict_set(d, Sl("k" + std::to_string(i)), V(i));
    }
    wrn_dict_iter_init(&it, d);
    while (wrn_dict_iter_next(&it, &key, &value)) {
        EXPECT_TRUE(got.emplace(Str(key), value).second) << "twice: " << Str(key);
    }
    EXPECT_EQ(got, want);
    wrn_dict_free(d);
}

TEST(Dict, RemovingTheCurrentEntryWhileIterating)
{
    struct wrn_dict *d = wrn_dict_new();
    std::set<std::string> seen;
    struct wrn_dict_iter it;
    struct wrn_slice key;
    void *value;

    for (size_t i = 0; i < 200; i++)
        wrn_dict_set(d, Sl("k" + std::to_string(i)), V(i));
    /* remove every other entry as it is returned; the walk still sees all */
    wrn_dict_iter_init(&it, d);
    size_t n = 0;
    while (wrn_dict_iter_next(&it, &key, &value)) {
        std::string k = Str(key);
        EXPECT_TRUE(seen.insert(k).second) << "twice: " << k;
        if (n++ % 2 == 0) {
            EXPECT_EQ(wrn_dict_remove(d, Sl(k)), value);
        }
    }
    EXPECT_EQ(seen.size(), 200u);
    EXPECT_EQ(wrn_dict_size(d), 100u);

    /* and removing every entry empties the map */
    wrn_dict_iter_init(&it, d);
    while (wrn_dict_iter_next(&it, &key, &value))
        wrn_dict_remove(d, key);
    EXPECT_EQ(wrn_dict_size(d), 0u);
    wrn_dict_iter_init(&it, d);
    EXPECT_FALSE(wrn_dict_iter_next(&it, &key, &value));
    wrn_dict_free(d);
}

TEST(Dict, BinaryKeysWithNulBytes)
{
    struct wrn_dict *d = wrn_dict_new();
    std::string a("a\0b", 3), c("a\0c", 3), nul(1, '\0'), two(2, '\0');

    wrn_dict_set(d, Sl(a), V(1));
    wrn_dict_set(d, Sl(c), V(2));
    wrn_dict_set(d, Sl("a"), V(3));
    wrn_dict_set(d, Sl(nul), V(4));
    wrn_dict_set(d, Sl(two), V(5));
    EXPECT_EQ(wrn_dict_size(d), 5u);
    EXPECT_EQ(wrn_dict_get(d, Sl(a)), V(1));
    EXPECT_EQ(wrn_dict_get(d, Sl(c)), V(2));
    EXPECT_EQ(wrn_dict_get(d, Sl("a")), V(3));
    EXPECT_EQ(wrn_dict_get(d, Sl(nul)), V(4));
    EXPECT_EQ(wrn_dict_get(d, Sl(two)), V(5));
    EXPECT_EQ(wrn_dict_get(d, Sl(std::string("a\0", 2))), nullptr);
    EXPECT_EQ(wrn_dict_remove(d, Sl(a)), V(1));
    EXPECT_EQ(wrn_dict_get(d, Sl(c)), V(2));
    wrn_dict_free(d);
}

/* Keys chosen offline to share an FNV-1a hash: only the key bytes tell them apart. */
TEST(Dict, KeysWithTheSameHash)
{
    struct wrn_dict *d = wrn_dict_new();

    wrn_dict_set(d, Sl("k043b18"), V(1));
    wrn_dict_set(d, Sl("q"), V(3));
    EXPECT_EQ(wrn_dict_get(d, Sl("k0fc9cc")), nullptr);
    EXPECT_EQ(wrn_dict_get(d, Sl("qiyzpxzlb")), nullptr) << "a longer key, same hash";
    wrn_dict_set(d, Sl("k0fc9cc"), V(2));
    wrn_dict_set(d, Sl("qiyzpxzlb"), V(4));
    EXPECT_EQ(wrn_dict_size(d), 4u);
    EXPECT_EQ(wrn_dict_get(d, Sl("k043b18")), V(1));
    EXPECT_EQ(wrn_dict_get(d, Sl("k0fc9cc")), V(2));
    EXPECT_EQ(wrn_dict_get(d, Sl("q")), V(3));
    EXPECT_EQ(wrn_dict_get(d, Sl("qiyzpxzlb")), V(4));
    EXPECT_EQ(wrn_dict_remove(d, Sl("q")), V(3));
    EXPECT_EQ(wrn_dict_get(d, Sl("qiyzpxzlb")), V(4));
    EXPECT_EQ(wrn_dict_remove(d, Sl("k0fc9cc")), V(2));
    EXPECT_EQ(wrn_dict_get(d, Sl("k043b18")), V(1));
    wrn_dict_free(d);
}

TEST(Dict, EmptyKey)
{
    struct wrn_dict *d = wrn_dict_new();
    struct wrn_slice null_empty = {NULL, 0};

    EXPECT_EQ(wrn_dict_get(d, null_empty), nullptr);
    wrn_dict_set(d, Sl(""), V(1));
    EXPECT_EQ(wrn_dict_get(d, null_empty), V(1)) << "any empty slice is the same key";
    EXPECT_EQ(wrn_dict_get(d, Sl(std::string(1, '\0'))), nullptr);
    wrn_dict_set(d, null_empty, V(2));
    EXPECT_EQ(wrn_dict_size(d), 1u);
    EXPECT_EQ(wrn_dict_remove(d, Sl("")), V(2));
    EXPECT_EQ(wrn_dict_size(d), 0u);
    wrn_dict_free(d);
}

} // namespace
