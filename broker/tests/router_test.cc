/*
 * router_test.cc - the topic trie and the headers matcher. The tables marked
 * "RabbitMQ 3.10" were recorded by binding and publishing against a real
 * RabbitMQ 3.10 broker: Warren must route exactly as it did.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include "router.h"
}

namespace
{

struct wrn_slice
Sl(const std::string &s)
{
    struct wrn_slice sl = {reinterpret_cast<const uint8_t *>(s.data()),
                           static_cast<uint32_t>(s.size())};
    return sl;
}

/* ---- topic helpers ---- */

/* Collects every report, duplicates included, as dest -> times reported. */
void
collect(void *dest, void *arg)
{
    (*static_cast<std::map<void *, int> *>(arg))[dest]++;
}

std::map<void *, int>
match_counts(const struct wrn_topic_trie *t, const std::string &key)
{
    std::map<void *, int> got;
    wrn_topic_trie_match(t, Sl(key), collect, &got);
    return got;
}

std::set<void *>
match_set(const struct wrn_topic_trie *t, const std::string &key)
{
    std::set<void *> out;
    for (const auto &kv : match_counts(t, key))
        out.insert(kv.first);
    return out;
}

/* Distinct fake dests: addresses inside one array, never dereferenced. */
char dest_pool[20000];

void *
D(size_t i)
{
    return &dest_pool[i];
}

bool
topic_matches(const std::string &pattern, const std::string &key)
{
    struct wrn_topic_trie *t = wrn_topic_trie_new();
    EXPECT_EQ(wrn_topic_trie_add(t, Sl(pattern), D(0)), 0);
    bool hit = !match_set(t, key).empty();
    wrn_topic_trie_free(t);
    return hit;
}

/*
 * Reference matcher: plain recursion over word lists, as RabbitMQ defines
 * them (the empty string has no words).
 */
std::vector<std::string>
words(const std::string &s)
{
    std::vector<std::string> out;
    if (s.empty())
        return out;
    size_t start = 0;
    for (;;) {
        size_t dot = s.find('.', start);
        if (dot == std::string::npos) {
            out.push_back(s.substr(start));
            return out;
        }
        out.push_back(s.substr(start, dot - start));
        start = dot + 1;
    }
}

bool
ref_match(const std::vector<std::string> &p, size_t i, const std::vector<std::string> &k, size_t j)
{
    if (i == p.size())
        return j == k.size();
    if (p[i] == "#")
        return ref_match(p, i + 1, k, j) || (j < k.size() && ref_match(p, i, k, j + 1));
    if (j == k.size())
        return false;
    return (p[i] == "*" || p[i] == k[j]) && ref_match(p, i + 1, k, j + 1);
}

/* ---- headers helpers: field values with full control of every type letter ---- */

struct Val {
    std::string enc; /* type letter, then the value */
};
using Entry = std::pair<std::string, Val>;
using NamedVal = std::pair<std::string, Val>;
using NamedTable = std::pair<std::string, std::vector<Entry>>;

std::string
be(uint64_t v, int n)
{
    std::string s;
    for (int i = n - 1; i >= 0; i--)
        s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return s;
}

Val
vRaw(char letter, const std::string &payload)
{
    return Val{std::string(1, letter) + payload};
}

Val
vt(bool v)
{
    return vRaw('t', std::string(1, v ? 1 : 0));
}
Val
vb(int8_t v)
{
    return vRaw('b', be(static_cast<uint8_t>(v), 1));
}
Val
vB(uint8_t v)
{
    return vRaw('B', be(v, 1));
}
Val
vs16(int16_t v)
{
    return vRaw('s', be(static_cast<uint16_t>(v), 2));
}
Val
vu(uint16_t v)
{
    return vRaw('u', be(v, 2));
}
Val
vI(int32_t v)
{
    return vRaw('I', be(static_cast<uint32_t>(v), 4));
}
Val
vi(uint32_t v)
{
    return vRaw('i', be(v, 4));
}
Val
vl(int64_t v)
{
    return vRaw('l', be(static_cast<uint64_t>(v), 8));
}
Val
vL(int64_t v)
{
    return vRaw('L', be(static_cast<uint64_t>(v), 8));
}
Val
vT(uint64_t v)
{
    return vRaw('T', be(v, 8));
}
Val
vVoid()
{
    return vRaw('V', "");
}

Val
vf(float v)
{
    uint32_t u;
    std::memcpy(&u, &v, sizeof(u));
    return vRaw('f', be(u, 4));
}

Val
vd(double v)
{
    uint64_t u;
    std::memcpy(&u, &v, sizeof(u));
    return vRaw('d', be(u, 8));
}

Val
vD(uint8_t scale, uint32_t v)
{
    return vRaw('D', be(scale, 1) + be(v, 4));
}
Val
vS(const std::string &s)
{
    return vRaw('S', be(s.size(), 4) + s);
}
Val
vX(const std::string &s)
{
    return vRaw('x', be(s.size(), 4) + s);
}

/* Encoded table contents, without the length prefix. */
std::string
Table(const std::vector<Entry> &entries)
{
    std::string out;
    for (const auto &e : entries)
        out += std::string(1, static_cast<char>(e.first.size())) + e.first + e.second.enc;
    return out;
}

Val
vF(const std::vector<Entry> &entries)
{
    std::string body = Table(entries);
    return vRaw('F', be(body.size(), 4) + body);
}

Val
vA(const std::vector<Val> &vals)
{
    std::string body;
    for (const auto &v : vals)
        body += v.enc;
    return vRaw('A', be(body.size(), 4) + body);
}

bool
hmatch(const std::vector<Entry> &binding, const std::vector<Entry> &headers)
{
    std::string b = Table(binding), h = Table(headers);
    return wrn_headers_match(Sl(b), Sl(h));
}

Entry
xmatch(const char *mode)
{
    return {"x-match", vS(mode)};
}

/* ---- recorded from RabbitMQ 3.10 ---- */

/* Keys published to every pattern below. */
const char *const kTopicKeys[] = {
    "",    ".",     "..",    "...",   "a",     "a.",  ".a",  "a.b",     "a..b", "a.b.c",
    "b",   "a.b.b", "a.x.b", "a*",    "a#",    "*",   "#",   "#.#",     "ab",   "a.b.",
    "*.a", "a.a",   "b.a",   "a.a.a", "x.a.y", ".a.", "a.c", "a.b.x.c", "a..c", "a...b",
};
/* Per pattern, '1' for each key of kTopicKeys that RabbitMQ 3.10 routed to it. */
/* clang-format off */
const struct {
    const char *pattern;
    const char *routed;
} kTopicMatrix[] = {
    {"", "100000000000000000000000000000"},
    {"#", "111111111111111111111111111111"},
    {"*", "000010000010011110100000000000"},
    {"#.#", "111111111111111111111111111111"},
    {"*.#", "011111111111111111111111111111"},
    {"#.*", "011111111111111111111111111111"},
    {"*.*", "010001110000000001001110001000"},
    {"#.#.#", "111111111111111111111111111111"},
    {"a", "000010000000000000000000000000"},
    {"a.", "000001000000000000000000000000"},
    {".a", "000000100000000000000000000000"},
    {".", "010000000000000000000000000000"},
    {"..", "001000000000000000000000000000"},
    {"a..b", "000000001000000000000000000000"},
    {"a.*", "000001010000000000000100001000"},
    {"a.#", "000011011101100000010101001111"},
    {"a.#.b", "000000011001100000000000000001"},
    {"a.#.#.b", "000000011001100000000000000001"},
    {"#.a", "000010100000000000001111000000"},
    {"*.a", "000000100000000000001110000000"},
    {"a.*.b", "000000001001100000000000000000"},
    {"#.b", "000000011011100000000000000001"},
    {"a.#.", "000001000000000000010000000000"},
    {"a..", "000000000000000000000000000000"},
    {"*.", "010001000000000000000000000000"},
    {".*", "010000100000000000000000000000"},
    {"#.", "011101000000000000010000010000"},
    {".#", "011100100000000000000000010000"},
    {"a.b", "000000010000000000000000000000"},
    {"a.b.c", "000000000100000000000000000000"},
    {"a*", "000000000000010000000000000000"},
    {"a#", "000000000000001000000000000000"},
    {"*a", "000000000000000000000000000000"},
    {"#a", "000000000000000000000000000000"},
    {"##", "000000000000000000000000000000"},
    {"**", "000000000000000000000000000000"},
    {"#.*.#", "011111111111111111111111111111"},
    {"*.#.*", "011101111101100001011111111111"},
    {"a.#.#", "000011011101100000010101001111"},
    {"#.a.#", "000011111101100000011111111111"},
    {"*.*.*", "001000001101100000010001110010"},
    {"a.*.#", "000001011101100000010101001111"},
    {"#.#.a", "000010100000000000001111000000"},
    {".#.", "011100000000000000000000010000"},
    {".*.", "001000000000000000000000010000"},
    {"*..*", "001000001000000000000000000010"},
    {"#..#", "011101101000000000010000010011"},
    {"a.b.#", "000000010101000000010000000100"},
    {"a.#.c", "000000000100000000000000001110"},
    {"#.*.*", "011101111101100001011111111111"},
};
/* clang-format on */
/* Values bound (no x-match, so "all") and published under the one key "k". */
std::vector<NamedVal>
type_values()
{
    return {
        {"I1", vI(1)},
        {"l1", vl(1)},
        {"b1", vb(1)},
        {"B1", vB(1)},
        {"s1", vs16(1)},
        {"u1", vu(1)},
        {"i1", vi(1)},
        {"T1", vT(1)},
        {"t1", vt(true)},
        {"d1", vd(1.0)},
        {"f1", vf(1.0)},
        {"D0_1", vD(0, 1)},
        {"D1_10", vD(1, 10)},
        {"S_a", vS("a")},
        {"x_a", vX("a")},
        {"S_1", vS("1")},
        {"V", vVoid()},
        {"bm1", vb(-1)},
        {"B255", vB(255)},
        {"Im1", vI(-1)},
        {"i4294967295", vi(4294967295ULL)},
        {"lm1", vl(-1)},
        {"f1.5", vf(1.5)},
        {"d1.5", vd(1.5)},
        {"t0", vt(false)},
        {"I0", vI(0)},
        {"F_ab", vF({{"a", vI(1)}, {"b", vI(2)}})},
        {"F_ba", vF({{"b", vI(2)}, {"a", vI(1)}})},
        {"F_al", vF({{"a", vl(1)}, {"b", vI(2)}})},
        {"A_I1", vA({vI(1)})},
        {"A_l1", vA({vl(1)})},
        {"A_empty", vA({})},
        {"F_empty", vF({})},
        {"S_empty", vS("")},
        {"A_L1", vA({vL(1)})},
        {"A_f1.5", vA({vf(1.5)})},
        {"A_d1.5", vA({vd(1.5)})},
        {"A_t1", vA({vt(true)})},
        {"A_t2", vA({vRaw('t', std::string("\x02", 1))})},
        {"A_d0", vA({vd(0.0)})},
        {"A_dm0", vA({vd(-0.0)})},
        {"A_S_a", vA({vS("a")})},
        {"A_x_a", vA({vX("a")})},
        {"A_V", vA({vVoid()})},
        {"A_A_empty", vA({vA({})})},
        {"A_F_empty", vA({vF({})})},
        {"F_nested", vF({{"a", vF({{"b", vl(1)}})}})},
        {"F_nested_I", vF({{"a", vF({{"b", vI(1)}})}})},
        {"F_dup", vF({{"a", vI(1)}, {"a", vI(1)}})},
        {"F_a1", vF({{"a", vI(1)}})},
        {"t2", vRaw('t', std::string("\x02", 1))},
        {"d0", vd(0.0)},
        {"dm0", vd(-0.0)},
        {"l2^53+1", vl(9007199254740993ULL)},
        {"d2^53", vd(9007199254740992.0)},
        {"l2^53", vl(9007199254740992ULL)},
        {"f0.1", vf(0.1)},
        {"d0.1", vd(0.1)},
        {"Lm1", vL(-1)},
        {"L1", vL(1)},
        {"lmin", vl(INT64_MIN)},
        {"d2^63", vd(9.223372036854776e+18)},
        {"dm2^63", vd(-9.223372036854776e+18)},
        {"D2_100", vD(2, 100)},
        {"D0_big", vD(0, 4294967295ULL)},
        {"T255", vT(255)},
    };
}
/* Row: binding value; column: message value; '1' where RabbitMQ 3.10 routed. */
const char *const kTypeMatrix[] = {
    "111111110110000000000000000000000000000000000000000000000001000000", /* I1 */
    "111111110110000000000000000000000000000000000000000000000001000000", /* l1 */
    "111111110110000000000000000000000000000000000000000000000001000000", /* b1 */
    "111111110110000000000000000000000000000000000000000000000001000000", /* B1 */
    "111111110110000000000000000000000000000000000000000000000001000000", /* s1 */
    "111111110110000000000000000000000000000000000000000000000001000000", /* u1 */
    "111111110110000000000000000000000000000000000000000000000001000000", /* i1 */
    "111111110110000000000000000000000000000000000000000000000001000000", /* T1 */
    "000000001000000000000000000000000000000000000000001000000000000000", /* t1 */
    "111111110110000000000000000000000000000000000000000000000001000000", /* d1 */
    "111111110110000000000000000000000000000000000000000000000001000000", /* f1 */
    "000000000001000000000000000000000000000000000000000000000000000000", /* D0_1 */
    "000000000000100000000000000000000000000000000000000000000000000000", /* D1_10 */
    "000000000000011000000000000000000000000000000000000000000000000000", /* S_a */
    "000000000000011000000000000000000000000000000000000000000000000000", /* x_a */
    "000000000000000100000000000000000000000000000000000000000000000000", /* S_1 */
    "111111111111111111111111111111111111111111111111111111111111111111", /* V */
    "000000000000000001010100000000000000000000000000000000000010000000", /* bm1 */
    "000000000000000000100000000000000000000000000000000000000000000001", /* B255 */
    "000000000000000001010100000000000000000000000000000000000010000000", /* Im1 */
    "000000000000000000001000000000000000000000000000000000000000000000", /* i4294967295 */
    "000000000000000001010100000000000000000000000000000000000010000000", /* lm1 */
    "000000000000000000000011000000000000000000000000000000000000000000", /* f1.5 */
    "000000000000000000000011000000000000000000000000000000000000000000", /* d1.5 */
    "000000000000000000000000100000000000000000000000000000000000000000", /* t0 */
    "000000000000000000000000010000000000000000000000000110000000000000", /* I0 */
    "000000000000000000000000001000000000000000000000000000000000000000", /* F_ab */
    "000000000000000000000000000100000000000000000000000000000000000000", /* F_ba */
    "000000000000000000000000000010000000000000000000000000000000000000", /* F_al */
    "000000000000000000000000000001000000000000000000000000000000000000", /* A_I1 */
    "000000000000000000000000000000100010000000000000000000000000000000", /* A_l1 */
    "000000000000000000000000000000011000000000000000000000000000000000", /* A_empty */
    "000000000000000000000000000000011000000000000000000000000000000000", /* F_empty */
    "000000000000000000000000000000000100000000000000000000000000000000", /* S_empty */
    "000000000000000000000000000000100010000000000000000000000000000000", /* A_L1 */
    "000000000000000000000000000000000001000000000000000000000000000000", /* A_f1.5 */
    "000000000000000000000000000000000000100000000000000000000000000000", /* A_d1.5 */
    "000000000000000000000000000000000000011000000000000000000000000000", /* A_t1 */
    "000000000000000000000000000000000000011000000000000000000000000000", /* A_t2 */
    "000000000000000000000000000000000000000110000000000000000000000000", /* A_d0 */
    "000000000000000000000000000000000000000110000000000000000000000000", /* A_dm0 */
    "000000000000000000000000000000000000000001000000000000000000000000", /* A_S_a */
    "000000000000000000000000000000000000000000100000000000000000000000", /* A_x_a */
    "000000000000000000000000000000000000000000010000000000000000000000", /* A_V */
    "000000000000000000000000000000000000000000001000000000000000000000", /* A_A_empty */
    "000000000000000000000000000000000000000000000100000000000000000000", /* A_F_empty */
    "000000000000000000000000000000000000000000000010000000000000000000", /* F_nested */
    "000000000000000000000000000000000000000000000001000000000000000000", /* F_nested_I */
    "000000000000000000000000000000000000000000000000100000000000000000", /* F_dup */
    "000000000000000000000000000000000000000000000000010000000000000000", /* F_a1 */
    "000000001000000000000000000000000000000000000000001000000000000000", /* t2 */
    "000000000000000000000000010000000000000000000000000110000000000000", /* d0 */
    "000000000000000000000000010000000000000000000000000110000000000000", /* dm0 */
    "000000000000000000000000000000000000000000000000000001000000000000", /* l2^53+1 */
    "000000000000000000000000000000000000000000000000000000110000000000", /* d2^53 */
    "000000000000000000000000000000000000000000000000000000110000000000", /* l2^53 */
    "000000000000000000000000000000000000000000000000000000001000000000", /* f0.1 */
    "000000000000000000000000000000000000000000000000000000000100000000", /* d0.1 */
    "000000000000000001010100000000000000000000000000000000000010000000", /* Lm1 */
    "111111110110000000000000000000000000000000000000000000000001000000", /* L1 */
    "000000000000000000000000000000000000000000000000000000000000101000", /* lmin */
    "000000000000000000000000000000000000000000000000000000000000010000", /* d2^63 */
    "000000000000000000000000000000000000000000000000000000000000101000", /* dm2^63 */
    "000000000000000000000000000000000000000000000000000000000000000100", /* D2_100 */
    "000000000000000000000000000000000000000000000000000000000000000010", /* D0_big */
    "000000000000000000100000000000000000000000000000000000000000000001", /* T255 */
};
std::vector<NamedTable>
mode_bindings()
{
    return {
        {"none", {}},
        {"all_empty", {{"x-match", vS("all")}}},
        {"any_empty", {{"x-match", vS("any")}}},
        {"allx_empty", {{"x-match", vS("all-with-x")}}},
        {"anyx_empty", {{"x-match", vS("any-with-x")}}},
        {"all_ab", {{"x-match", vS("all")}, {"a", vI(1)}, {"b", vI(2)}}},
        {"default_ab", {{"a", vI(1)}, {"b", vI(2)}}},
        {"any_ab", {{"x-match", vS("any")}, {"a", vI(1)}, {"b", vI(2)}}},
        {"all_xfoo", {{"x-match", vS("all")}, {"x-foo", vI(1)}}},
        {"any_xfoo", {{"x-match", vS("any")}, {"x-foo", vI(1)}}},
        {"allx_xfoo", {{"x-match", vS("all-with-x")}, {"x-foo", vI(1)}}},
        {"anyx_xfoo", {{"x-match", vS("any-with-x")}, {"x-foo", vI(1)}}},
        {"allx_a", {{"x-match", vS("all-with-x")}, {"a", vI(1)}}},
        {"anyx_a", {{"x-match", vS("any-with-x")}, {"a", vI(1)}}},
        {"allx_a_xfoo", {{"x-match", vS("all-with-x")}, {"a", vI(1)}, {"x-foo", vI(1)}}},
        {"anyx_a_xfoo", {{"x-match", vS("any-with-x")}, {"a", vI(1)}, {"x-foo", vI(1)}}},
        {"all_a_xfoo", {{"x-match", vS("all")}, {"a", vI(1)}, {"x-foo", vI(1)}}},
        {"any_a_xfoo", {{"x-match", vS("any")}, {"a", vI(1)}, {"x-foo", vI(1)}}},
        {"all_aV", {{"x-match", vS("all")}, {"a", vVoid()}}},
        {"any_aV_b2", {{"x-match", vS("any")}, {"a", vVoid()}, {"b", vI(2)}}},
        {"all_aV_b2", {{"x-match", vS("all")}, {"a", vVoid()}, {"b", vI(2)}}},
        {"xmatch_last_any", {{"a", vI(1)}, {"b", vI(2)}, {"x-match", vS("any")}}},
        {"all_X", {{"x-match", vS("all")}, {"X-foo", vI(1)}}},
        {"allx_xmatch2", {{"x-match", vS("all-with-x")}, {"x-match2", vI(1)}}},
        {"all_x", {{"x-match", vS("all")}, {"x", vI(1)}}},
        {"all_xdash", {{"x-match", vS("all")}, {"x-", vI(1)}}},
        {"all_dupa", {{"x-match", vS("all")}, {"a", vI(1)}, {"a", vI(2)}}},
        {"any_dupa", {{"x-match", vS("any")}, {"a", vI(1)}, {"a", vI(2)}}},
        {"all_b_a", {{"x-match", vS("all")}, {"b", vI(2)}, {"a", vI(1)}}},
        {"any_dupa21", {{"x-match", vS("any")}, {"a", vI(2)}, {"a", vI(1)}}},
        {"all_a_dupb", {{"x-match", vS("all")}, {"b", vI(2)}, {"a", vI(1)}, {"b", vI(3)}}},
        {"all_sl", {{"x-match", vS("all")}, {"a", vS("zz")}, {"b", vl(2)}}},
    };
}
/* "nohdr" was published without a headers property, "empty" with an empty table. */
std::vector<NamedTable>
mode_messages()
{
    return {
        {"nohdr", {}},
        {"empty", {}},
        {"a1", {{"a", vI(1)}}},
        {"b2", {{"b", vI(2)}}},
        {"a1b2", {{"a", vI(1)}, {"b", vI(2)}}},
        {"b2a1", {{"b", vI(2)}, {"a", vI(1)}}},
        {"a1b3", {{"a", vI(1)}, {"b", vI(3)}}},
        {"a1b2c3", {{"a", vI(1)}, {"b", vI(2)}, {"c", vI(3)}}},
        {"a2", {{"a", vI(2)}}},
        {"aV", {{"a", vVoid()}}},
        {"aS", {{"a", vS("zz")}}},
        {"xfoo1", {{"x-foo", vI(1)}}},
        {"xfoo2", {{"x-foo", vI(2)}}},
        {"a1xfoo1", {{"a", vI(1)}, {"x-foo", vI(1)}}},
        {"a1xfoo2", {{"a", vI(1)}, {"x-foo", vI(2)}}},
        {"a1_xmatch_allx", {{"a", vI(1)}, {"x-match", vS("all-with-x")}}},
        {"Xfoo1", {{"X-foo", vI(1)}}},
        {"xmatch2", {{"x-match2", vI(1)}}},
        {"x1", {{"x", vI(1)}}},
        {"xdash1", {{"x-", vI(1)}}},
        {"dup_a1a2", {{"a", vI(1)}, {"a", vI(2)}}},
        {"dup_a2a1", {{"a", vI(2)}, {"a", vI(1)}}},
        {"dup_a1a2b2", {{"a", vI(1)}, {"a", vI(2)}, {"b", vI(2)}}},
        {"dup_a2a1b2", {{"a", vI(2)}, {"a", vI(1)}, {"b", vI(2)}}},
        {"dup_b2a2a1", {{"b", vI(2)}, {"a", vI(2)}, {"a", vI(1)}}},
        {"dup_b2b3a1", {{"b", vI(2)}, {"b", vI(3)}, {"a", vI(1)}}},
        {"dup_b3b2a1", {{"b", vI(3)}, {"b", vI(2)}, {"a", vI(1)}}},
        {"aSzz_bx2", {{"a", vX("zz")}, {"b", vRaw('b', std::string("\x02", 1))}}},
    };
}
/* Row: binding; column: message; '1' where RabbitMQ 3.10 routed. */
const char *const kModeMatrix[] = {
    "1111111111111111111111111111", /* none */
    "1111111111111111111111111111", /* all_empty */
    "0000000000000000000000000000", /* any_empty */
    "1111111111111111111111111111", /* allx_empty */
    "0000000000000000000000000000", /* anyx_empty */
    "0000110100000000000000100100", /* all_ab */
    "0000110100000000000000100100", /* default_ab */
    "0011111100000111000010111111", /* any_ab */
    "1111111111111111111111111111", /* all_xfoo */
    "0000000000000000000000000000", /* any_xfoo */
    "0000000000010100000000000000", /* allx_xfoo */
    "0000000000010100000000000000", /* anyx_xfoo */
    "0010111100000111000010100110", /* allx_a */
    "0010111100000111000010100110", /* anyx_a */
    "0000000000000100000000000000", /* allx_a_xfoo */
    "0010111100010111000010100110", /* anyx_a_xfoo */
    "0010111100000111000010100110", /* all_a_xfoo */
    "0010111100000111000010100110", /* any_a_xfoo */
    "0010111111100111000011111111", /* all_aV */
    "0011111111100111000011111111", /* any_aV_b2 */
    "0000110100000000000000111101", /* all_aV_b2 */
    "0011111100000111000010111111", /* xmatch_last_any */
    "0000000000000000100000000000", /* all_X */
    "0000000000000000010000000000", /* allx_xmatch2 */
    "0000000000000000001000000000", /* all_x */
    "1111111111111111111111111111", /* all_xdash */
    "0000000000000000000010100000", /* all_dupa */
    "0010111100000111000010100110", /* any_dupa */
    "0000110100000000000000100100", /* all_b_a */
    "0000000010000000000001011000", /* any_dupa21 */
    "0000000000000000000000000100", /* all_a_dupb */
    "0000000000000000000000000001", /* all_sl */
};

} // namespace

/* ---- topic trie ---- */

/* The edge cases, one by one (each is also in kTopicMatrix). */
TEST(TopicTrie, RabbitMqEdgeCases)
{
    static const struct {
        const char *pattern, *key;
        bool match;
    } cases[] = {
        {"#", "", true}, /* the empty key has zero words */
        {"*", "", false},         {"", "", true},
        {"", ".", false}, /* "." is two empty words */
        {"*.*", ".", true},       {"*", ".", false},
        {"#", ".", true},         {"#.", "", false},
        {"#.", ".", true},        {".#", "", false},
        {"#.*", "", false},       {"a.*", "a.", true}, /* a trailing dot adds an empty word */
        {"a.#", "a", true},       {"a.#.", "a.", true},
        {"a..", "a.", false},     {"#.a", "a", true},
        {"#.#", "a", true},       {"#.#.#", "", true},
        {"*.#", "a", true},       {"*.#.*", "a", false},
        {"#.*.#", "a", true},     {"a.#.b", "a.b", true},
        {"a.#.#.b", "a.b", true}, {"a.#.b", "a.x.b", true},
        {"a.*.b", "a.b", false},  {"a..b", "a..b", true},
        {"*..*", "a..c", true},   {"a*", "ab", false}, /* a wildcard must be a whole word */
        {"a*", "a*", true},       {"a#", "a#", true},
        {"##", "a", false},       {"**", "a", false},
        {"*", "*", true},         {"*", "#", true},
        {"a.b", "a.*", false}, /* key words are always literal */
        {"a.b", "a.#", false},    {"#", "#.#", true},
    };
    for (const auto &c : cases)
        EXPECT_EQ(topic_matches(c.pattern, c.key), c.match)
            << "pattern '" << c.pattern << "' key '" << c.key << "'";
}

/* Every pattern x key pair recorded from RabbitMQ 3.10, one pattern per trie. */
TEST(TopicTrie, MatchesRabbitMqOnePatternAtATime)
{
    for (const auto &row : kTopicMatrix) {
        for (size_t k = 0; k < sizeof(kTopicKeys) / sizeof(kTopicKeys[0]); k++) {
            ASSERT_EQ(std::strlen(row.routed), sizeof(kTopicKeys) / sizeof(kTopicKeys[0]));
            EXPECT_EQ(topic_matches(row.pattern, kTopicKeys[k]), row.routed[k] == '1')
                << "pattern '" << row.pattern << "' key '" << kTopicKeys[k] << "'";
        }
    }
}

/* The same table with all patterns in one trie, where they share nodes. */
TEST(TopicTrie, MatchesRabbitMqAllPatternsTogether)
{
    const size_t npat = sizeof(kTopicMatrix) / sizeof(kTopicMatrix[0]);
    struct wrn_topic_trie *t = wrn_topic_trie_new();

    for (size_t p = 0; p < npat; p++)
        ASSERT_EQ(wrn_topic_trie_add(t, Sl(kTopicMatrix[p].pattern), D(p)), 0);
    EXPECT_EQ(wrn_topic_trie_count(t), npat);
    for (size_t k = 0; k < sizeof(kTopicKeys) / sizeof(kTopicKeys[0]); k++) {
        std::map<void *, int> want;
        for (size_t p = 0; p < npat; p++) {
            if (kTopicMatrix[p].routed[k] == '1')
                want[D(p)] = 1;
        }
        EXPECT_EQ(match_counts(t, kTopicKeys[k]), want) << "key '" << kTopicKeys[k] << "'";
    }
    wrn_topic_trie_free(t);
}

TEST(TopicTrie, AddRemoveAndDuplicates)
{
    struct wrn_topic_trie *t = wrn_topic_trie_new();

    EXPECT_EQ(wrn_topic_trie_count(t), 0u);
    EXPECT_EQ(wrn_topic_trie_add(t, Sl("a.*.c"), D(1)), 0);
    EXPECT_EQ(wrn_topic_trie_add(t, Sl("a.*.c"), D(1)), 1); /* same pair */
    EXPECT_EQ(wrn_topic_trie_add(t, Sl("a.*.c"), D(2)), 0); /* same pattern, new dest */
    EXPECT_EQ(wrn_topic_trie_add(t, Sl("a.b.c"), D(1)), 0); /* same dest, new pattern */
    EXPECT_EQ(wrn_topic_trie_add(t, Sl("a.#"), D(3)), 0);
    EXPECT_EQ(wrn_topic_trie_add(t, Sl(""), D(4)), 0);
    EXPECT_EQ(wrn_topic_trie_count(t), 5u);

    /* D(1) matches through two patterns, and is reported once for each. */
    std::map<void *, int> want = {{D(1), 2}, {D(2), 1}, {D(3), 1}};
    EXPECT_EQ(match_counts(t, "a.b.c"), want);
    EXPECT_EQ(match_set(t, ""), std::set<void *>({D(4)}));

    EXPECT_FALSE(wrn_topic_trie_remove(t, Sl("a.*.c"), D(3))); /* pattern there, dest not */
    EXPECT_FALSE(wrn_topic_trie_remove(t, Sl("a.*"), D(1)));   /* a prefix is not a pattern */
    EXPECT_FALSE(wrn_topic_trie_remove(t, Sl("x.y"), D(1)));
    EXPECT_FALSE(wrn_topic_trie_remove(t, Sl("a.*.c.d"), D(1)));
    EXPECT_EQ(wrn_topic_trie_count(t), 5u);

    EXPECT_TRUE(wrn_topic_trie_remove(t, Sl("a.*.c"), D(1)));
    EXPECT_FALSE(wrn_topic_trie_remove(t, Sl("a.*.c"), D(1)));
    EXPECT_EQ(wrn_topic_trie_count(t), 4u);
    want = {{D(1), 1}, {D(2), 1}, {D(3), 1}};
    EXPECT_EQ(match_counts(t, "a.b.c"), want);

    EXPECT_TRUE(wrn_topic_trie_remove(t, Sl("a.*.c"), D(2)));
    EXPECT_TRUE(wrn_topic_trie_remove(t, Sl("a.b.c"), D(1)));
    EXPECT_EQ(match_set(t, "a.b.c"), std::set<void *>({D(3)}));
    EXPECT_EQ(match_set(t, "a.x.c"), std::set<void *>({D(3)}));
    EXPECT_TRUE(wrn_topic_trie_remove(t, Sl("a.#"), D(3)));
    EXPECT_TRUE(wrn_topic_trie_remove(t, Sl(""), D(4)));
    EXPECT_EQ(wrn_topic_trie_count(t), 0u);
    EXPECT_TRUE(match_set(t, "a.b.c").empty());
    EXPECT_TRUE(match_set(t, "").empty());

    /* Pruned paths come back when added again. */
    EXPECT_EQ(wrn_topic_trie_add(t, Sl("a.*.c"), D(1)), 0);
    EXPECT_EQ(match_set(t, "a.q.c"), std::set<void *>({D(1)}));
    wrn_topic_trie_free(t);
}

/* Removing a pattern keeps a longer pattern that runs through its node, and vice versa. */
TEST(TopicTrie, RemoveKeepsSharedPrefixes)
{
    struct wrn_topic_trie *t = wrn_topic_trie_new();

    ASSERT_EQ(wrn_topic_trie_add(t, Sl("a.b"), D(1)), 0);
    ASSERT_EQ(wrn_topic_trie_add(t, Sl("a.b.c"), D(2)), 0);
    ASSERT_EQ(wrn_topic_trie_add(t, Sl("a.*"), D(3)), 0);
    ASSERT_EQ(wrn_topic_trie_add(t, Sl("a.#.c"), D(4)), 0);
    EXPECT_TRUE(wrn_topic_trie_remove(t, Sl("a.b"), D(1)));
    EXPECT_EQ(match_set(t, "a.b.c"), std::set<void *>({D(2), D(4)}));
    EXPECT_EQ(match_set(t, "a.b"), std::set<void *>({D(3)}));
    EXPECT_TRUE(wrn_topic_trie_remove(t, Sl("a.b.c"), D(2)));
    EXPECT_EQ(match_set(t, "a.b.c"), std::set<void *>({D(4)}));
    ASSERT_EQ(wrn_topic_trie_add(t, Sl("a.b"), D(1)), 0);
    EXPECT_TRUE(wrn_topic_trie_remove(t, Sl("a.#.c"), D(4)));
    EXPECT_EQ(match_set(t, "a.b"), std::set<void *>({D(1), D(3)}));
    EXPECT_TRUE(match_set(t, "a.x.c").empty());
    wrn_topic_trie_free(t);
}

TEST(TopicTrie, ManyDestsOnOnePattern)
{
    struct wrn_topic_trie *t = wrn_topic_trie_new();
    std::map<void *, int> want;

    for (size_t i = 0; i < 1000; i++) {
        ASSERT_EQ(wrn_topic_trie_add(t, Sl("orders.*"), D(i)), 0);
        want[D(i)] = 1;
    }
    for (size_t i = 0; i < 1000; i += 7)
        ASSERT_EQ(wrn_topic_trie_add(t, Sl("orders.*"), D(i)), 1);
    EXPECT_EQ(wrn_topic_trie_count(t), 1000u);
    EXPECT_EQ(match_counts(t, "orders.eu"), want);
    for (size_t i = 0; i < 1000; i += 2) {
        ASSERT_TRUE(wrn_topic_trie_remove(t, Sl("orders.*"), D(i)));
        want.erase(D(i));
    }
    EXPECT_EQ(wrn_topic_trie_count(t), 500u);
    EXPECT_EQ(match_counts(t, "orders.us"), want);
    EXPECT_TRUE(match_counts(t, "orders").empty());
    wrn_topic_trie_free(t);
}

/* 10,000 distinct patterns under one node; each key finds exactly its own. */
TEST(TopicTrie, TenThousandPatterns)
{
    const size_t n = 10000;
    struct wrn_topic_trie *t = wrn_topic_trie_new();

    for (size_t i = 0; i < n; i++)
        ASSERT_EQ(wrn_topic_trie_add(t, Sl("stock.X" + std::to_string(i) + ".*"), D(i)), 0);
    EXPECT_EQ(wrn_topic_trie_count(t), n);
    for (size_t i = 0; i < n; i++) {
        std::map<void *, int> want = {{D(i), 1}};
        ASSERT_EQ(match_counts(t, "stock.X" + std::to_string(i) + ".nyse"), want) << i;
    }
    EXPECT_TRUE(match_set(t, "stock.X123").empty());
    EXPECT_TRUE(match_set(t, "stock.X123.nyse.extra").empty());
    EXPECT_TRUE(match_set(t, "stock.X10000.nyse").empty());

    ASSERT_EQ(wrn_topic_trie_add(t, Sl("stock.#"), D(n)), 0);
    EXPECT_EQ(match_set(t, "stock.X42.lse"), std::set<void *>({D(42), D(n)}));
    for (size_t i = 0; i < n; i += 2)
        ASSERT_TRUE(wrn_topic_trie_remove(t, Sl("stock.X" + std::to_string(i) + ".*"), D(i)));
    EXPECT_EQ(wrn_topic_trie_count(t), n / 2 + 1);
    EXPECT_EQ(match_set(t, "stock.X42.lse"), std::set<void *>({D(n)}));
    EXPECT_EQ(match_set(t, "stock.X43.lse"), std::set<void *>({D(43), D(n)}));
    wrn_topic_trie_free(t);
}

/*
 * Stacked '#' words: each pattern node is visited once per key position, so
 * every dest is reported exactly once (and the walk stays polynomial: without
 * the memo this key would take longer than the test suite's lifetime).
 */
TEST(TopicTrie, StackedHashesReportOnce)
{
    struct wrn_topic_trie *t = wrn_topic_trie_new();
    std::string key;

    ASSERT_EQ(wrn_topic_trie_add(t, Sl("#.#.#.#.#.#.#.#.#.#.#.#"), D(1)), 0);
    ASSERT_EQ(wrn_topic_trie_add(t, Sl("#.a.#.a.#.a.#.a.#.a.#"), D(2)), 0);
    ASSERT_EQ(wrn_topic_trie_add(t, Sl("#.*.#.*.#.*.#.b"), D(3)), 0);
    ASSERT_EQ(wrn_topic_trie_add(t, Sl("#.#.#.#.#.#.#.#.#.#.#.#.c"), D(4)), 0);
    for (int i = 0; i < 120; i++)
        key += i ? ".a" : "a";
    std::map<void *, int> want = {{D(1), 1}, {D(2), 1}};
    EXPECT_EQ(match_counts(t, key), want);
    want = {{D(1), 1}, {D(2), 1}, {D(3), 1}};
    EXPECT_EQ(match_counts(t, key + ".b"), want);
    want = {{D(1), 1}, {D(4), 1}};
    EXPECT_EQ(match_counts(t, "c"), want);
    wrn_topic_trie_free(t);
}

/*
 * The trie against the reference matcher: random patterns and keys over a
 * small alphabet (so that they collide), random adds and removes, fixed seed.
 * Every matching (pattern, dest) pair must be reported exactly once.
 */
TEST(TopicTrie, RandomAgainstReference)
{
    std::mt19937 rng(20240531);
    const char *const pattern_words[] = {"a", "b", "", "*", "#", "ab"};
    const char *const key_words[] = {"a", "b", "", "ab", "*", "#"};
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    auto gen = [&](const char *const *alphabet, int nwords_max) {
        int n = pick(nwords_max + 1);
        std::string s;
        for (int i = 0; i < n; i++) {
            if (i)
                s += '.';
            s += alphabet[pick(6)];
        }
        return s;
    };
    struct wrn_topic_trie *t = wrn_topic_trie_new();
    std::set<std::pair<std::string, size_t>> bound;
    std::map<std::string, std::vector<std::string>> split_cache;

    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 50; i++) {
            std::string p = gen(pattern_words, 5);
            size_t d = static_cast<size_t>(pick(40));
            bool fresh = bound.insert({p, d}).second;
            ASSERT_EQ(wrn_topic_trie_add(t, Sl(p), D(d)), fresh ? 0 : 1) << p;
        }
        for (int i = 0; i < 25 && !bound.empty(); i++) {
            auto it = bound.begin();
            std::advance(it, pick(static_cast<int>(bound.size())));
            ASSERT_TRUE(wrn_topic_trie_remove(t, Sl(it->first), D(it->second)));
            ASSERT_FALSE(wrn_topic_trie_remove(t, Sl(it->first), D(it->second)));
            bound.erase(it);
        }
        ASSERT_EQ(wrn_topic_trie_count(t), bound.size());
        for (int i = 0; i < 60; i++) {
            std::string key = gen(key_words, 6);
            std::vector<std::string> kw = words(key);
            std::map<void *, int> want;
            for (const auto &b : bound) {
                auto pw = split_cache.find(b.first);
                if (pw == split_cache.end())
                    pw = split_cache.emplace(b.first, words(b.first)).first;
                if (ref_match(pw->second, 0, kw, 0))
                    want[D(b.second)]++;
            }
            ASSERT_EQ(match_counts(t, key), want) << "round " << round << " key '" << key << "'";
        }
    }
    for (const auto &b : bound)
        ASSERT_TRUE(wrn_topic_trie_remove(t, Sl(b.first), D(b.second)));
    EXPECT_EQ(wrn_topic_trie_count(t), 0u);
    EXPECT_TRUE(match_counts(t, "a").empty());
    wrn_topic_trie_free(t);
}

/* A dest's callback may match the same trie again; the inner pass is complete. */
TEST(TopicTrie, NestedMatchFromCallback)
{
    struct Ctx {
        struct wrn_topic_trie *t;
        std::set<void *> outer, inner;
    } ctx;
    ctx.t = wrn_topic_trie_new();
    ASSERT_EQ(wrn_topic_trie_add(ctx.t, Sl("#.x.#"), D(1)), 0);
    ASSERT_EQ(wrn_topic_trie_add(ctx.t, Sl("#.#.y"), D(2)), 0);
    ASSERT_EQ(wrn_topic_trie_add(ctx.t, Sl("#"), D(3)), 0);
    wrn_topic_trie_match(
        ctx.t, Sl("x.x.y"),
        [](void *dest, void *arg) {
            Ctx *c = static_cast<Ctx *>(arg);
            c->outer.insert(dest);
            if (c->inner.empty()) {
                wrn_topic_trie_match(
                    c->t, Sl("x.y.y"),
                    [](void *d, void *a) { static_cast<Ctx *>(a)->inner.insert(d); }, c);
            }
        },
        &ctx);
    EXPECT_EQ(ctx.outer, std::set<void *>({D(1), D(2), D(3)}));
    EXPECT_EQ(ctx.inner, std::set<void *>({D(1), D(2), D(3)}));
    wrn_topic_trie_free(ctx.t);
}

TEST(TopicTrie, FreeNullAndNonEmpty)
{
    wrn_topic_trie_free(NULL);
    struct wrn_topic_trie *t = wrn_topic_trie_new();
    ASSERT_EQ(wrn_topic_trie_add(t, Sl("a.b.c.d.e.f"), D(1)), 0);
    ASSERT_EQ(wrn_topic_trie_add(t, Sl("#.*.#"), D(2)), 0);
    ASSERT_EQ(wrn_topic_trie_add(t, Sl(std::string(255, '.')), D(3)), 0);
    EXPECT_EQ(match_set(t, std::string(255, '.')), std::set<void *>({D(2), D(3)}));
    wrn_topic_trie_free(t); /* ASan reports anything left behind */
}

/* ---- headers ---- */

/* Every binding value x message value pair recorded from RabbitMQ 3.10. */
TEST(HeadersMatch, ValueTypesMatchRabbitMq)
{
    std::vector<NamedVal> vals = type_values();
    ASSERT_EQ(vals.size(), sizeof(kTypeMatrix) / sizeof(kTypeMatrix[0]));
    for (size_t b = 0; b < vals.size(); b++) {
        ASSERT_EQ(std::strlen(kTypeMatrix[b]), vals.size());
        for (size_t m = 0; m < vals.size(); m++) {
            EXPECT_EQ(hmatch({{"k", vals[b].second}}, {{"k", vals[m].second}}),
                      kTypeMatrix[b][m] == '1')
                << "binding " << vals[b].first << " message " << vals[m].first;
        }
    }
}

/* Every x-match mode x header set pair recorded from RabbitMQ 3.10. */
TEST(HeadersMatch, ModesMatchRabbitMq)
{
    std::vector<NamedTable> binds = mode_bindings(), msgs = mode_messages();
    ASSERT_EQ(binds.size(), sizeof(kModeMatrix) / sizeof(kModeMatrix[0]));
    for (size_t b = 0; b < binds.size(); b++) {
        ASSERT_EQ(std::strlen(kModeMatrix[b]), msgs.size());
        for (size_t m = 0; m < msgs.size(); m++) {
            EXPECT_EQ(hmatch(binds[b].second, msgs[m].second), kModeMatrix[b][m] == '1')
                << "binding " << binds[b].first << " message " << msgs[m].first;
        }
    }
}

TEST(HeadersMatch, AllAndAny)
{
    std::vector<Entry> ab = {{"a", vI(1)}, {"b", vS("x")}};
    std::vector<Entry> all = {xmatch("all"), {"a", vI(1)}, {"b", vS("x")}};
    std::vector<Entry> any = {xmatch("any"), {"a", vI(1)}, {"b", vS("x")}};

    EXPECT_TRUE(hmatch(ab, {{"b", vS("x")}, {"a", vI(1)}})); /* no x-match: all */
    EXPECT_TRUE(hmatch(all, {{"b", vS("x")}, {"z", vI(9)}, {"a", vI(1)}}));
    EXPECT_FALSE(hmatch(all, {{"a", vI(1)}}));                 /* b missing */
    EXPECT_FALSE(hmatch(all, {{"a", vI(1)}, {"b", vS("y")}})); /* b differs */
    EXPECT_TRUE(hmatch(any, {{"a", vI(1)}}));
    EXPECT_TRUE(hmatch(any, {{"a", vI(2)}, {"b", vS("x")}}));
    EXPECT_FALSE(hmatch(any, {{"a", vI(2)}, {"b", vS("y")}}));
    EXPECT_FALSE(hmatch(any, {{"c", vI(1)}}));
    EXPECT_FALSE(hmatch(any, {}));
    /* Key names are compared byte for byte. */
    EXPECT_FALSE(hmatch(all, {{"A", vI(1)}, {"b", vS("x")}}));
}

TEST(HeadersMatch, XKeysAndWithX)
{
    /* all/any leave x- keys out of the binding; the -with-x modes compare them. */
    EXPECT_TRUE(hmatch({xmatch("all"), {"x-tenant", vS("t1")}}, {}));
    EXPECT_FALSE(hmatch({xmatch("any"), {"x-tenant", vS("t1")}}, {{"x-tenant", vS("t1")}}));
    EXPECT_TRUE(hmatch({xmatch("all"), {"a", vI(1)}, {"x-tenant", vS("t1")}}, {{"a", vI(1)}}));
    EXPECT_TRUE(hmatch({xmatch("all-with-x"), {"x-tenant", vS("t1")}}, {{"x-tenant", vS("t1")}}));
    EXPECT_FALSE(hmatch({xmatch("all-with-x"), {"x-tenant", vS("t1")}}, {{"x-tenant", vS("t2")}}));
    EXPECT_FALSE(
        hmatch({xmatch("all-with-x"), {"a", vI(1)}, {"x-tenant", vS("t1")}}, {{"a", vI(1)}}));
    EXPECT_TRUE(hmatch({xmatch("any-with-x"), {"a", vI(1)}, {"x-tenant", vS("t1")}},
                       {{"x-tenant", vS("t1")}}));
    /* x-match itself is never a key to compare, in any mode. */
    EXPECT_TRUE(hmatch({xmatch("all-with-x"), {"a", vI(1)}}, {{"a", vI(1)}}));
    /* Only a lower-case "x-" prefix counts. */
    EXPECT_FALSE(hmatch({xmatch("all"), {"X-tenant", vS("t1")}}, {}));
    EXPECT_FALSE(hmatch({xmatch("all"), {"x", vI(1)}}, {}));
    EXPECT_TRUE(hmatch({xmatch("all"), {"x-", vI(1)}}, {}));
    /* x- keys in the message are just more headers. */
    EXPECT_TRUE(hmatch({{"a", vI(1)}}, {{"x-a", vI(2)}, {"a", vI(1)}}));
}

TEST(HeadersMatch, VoidMatchesAnyValue)
{
    std::vector<Entry> all = {xmatch("all"), {"a", vVoid()}, {"b", vI(2)}};
    std::vector<Entry> any = {xmatch("any"), {"a", vVoid()}};

    EXPECT_TRUE(hmatch(all, {{"a", vS("anything")}, {"b", vI(2)}}));
    EXPECT_TRUE(hmatch(all, {{"a", vVoid()}, {"b", vI(2)}}));
    EXPECT_FALSE(hmatch(all, {{"b", vI(2)}})); /* present is required */
    EXPECT_TRUE(hmatch(any, {{"a", vF({})}}));
    EXPECT_FALSE(hmatch(any, {{"b", vI(2)}}));
    /* A void in the message is only equal to a void (or a void binding). */
    EXPECT_FALSE(hmatch({{"a", vS("")}}, {{"a", vVoid()}}));
}

TEST(HeadersMatch, TypesAsRabbitMqComparesThem)
{
    /* Numbers by value, whatever the letter. */
    EXPECT_TRUE(hmatch({{"k", vI(1)}}, {{"k", vl(1)}}));
    EXPECT_TRUE(hmatch({{"k", vb(-1)}}, {{"k", vL(-1)}}));
    EXPECT_TRUE(hmatch({{"k", vT(1)}}, {{"k", vd(1.0)}}));
    EXPECT_TRUE(hmatch({{"k", vf(1.5f)}}, {{"k", vd(1.5)}}));
    EXPECT_FALSE(hmatch({{"k", vf(0.1f)}}, {{"k", vd(0.1)}})); /* float 0.1 != double 0.1 */
    EXPECT_FALSE(hmatch({{"k", vB(255)}}, {{"k", vb(-1)}}));
    EXPECT_FALSE(hmatch({{"k", vi(4294967295u)}}, {{"k", vI(-1)}}));
    EXPECT_FALSE(hmatch({{"k", vl(9007199254740993LL)}}, {{"k", vd(9007199254740992.0)}}));
    EXPECT_TRUE(hmatch({{"k", vl(INT64_MIN)}}, {{"k", vd(-9223372036854775808.0)}}));
    EXPECT_FALSE(hmatch({{"k", vd(9223372036854775808.0)}}, {{"k", vl(INT64_MAX)}}));
    EXPECT_TRUE(hmatch({{"k", vT(18446744073709549568ULL)}}, {{"k", vd(18446744073709549568.0)}}));
    EXPECT_FALSE(hmatch({{"k", vT(UINT64_MAX)}}, {{"k", vd(18446744073709549568.0)}}));
    EXPECT_FALSE(hmatch({{"k", vT(UINT64_MAX)}}, {{"k", vL(-1)}}));
    EXPECT_TRUE(hmatch({{"k", vd(0.0)}}, {{"k", vd(-0.0)}}));
    /* Strings by bytes: longstr equals byte array. */
    EXPECT_TRUE(hmatch({{"k", vS("a")}}, {{"k", vX("a")}}));
    EXPECT_FALSE(hmatch({{"k", vS("1")}}, {{"k", vI(1)}}));
    /* Booleans only equal booleans; any non-zero octet is true. */
    EXPECT_FALSE(hmatch({{"k", vt(true)}}, {{"k", vI(1)}}));
    EXPECT_FALSE(hmatch({{"k", vt(false)}}, {{"k", vI(0)}}));
    EXPECT_TRUE(hmatch({{"k", vt(true)}}, {{"k", vRaw('t', "\x02")}}));
    /* Decimals by scale and digits, not by value. */
    EXPECT_TRUE(hmatch({{"k", vD(2, 100)}}, {{"k", vD(2, 100)}}));
    EXPECT_FALSE(hmatch({{"k", vD(1, 10)}}, {{"k", vD(0, 1)}}));
    EXPECT_FALSE(hmatch({{"k", vD(0, 1)}}, {{"k", vI(1)}}));
    /* Containers keep their letters inside, and their order. */
    EXPECT_FALSE(hmatch({{"k", vA({vI(1)})}}, {{"k", vA({vl(1)})}}));
    EXPECT_TRUE(hmatch({{"k", vA({vL(1)})}}, {{"k", vA({vl(1)})}}));
    EXPECT_FALSE(hmatch({{"k", vA({vS("a")})}}, {{"k", vA({vX("a")})}}));
    EXPECT_TRUE(hmatch({{"k", vA({vd(0.0)})}}, {{"k", vA({vd(-0.0)})}}));
    EXPECT_TRUE(hmatch({{"k", vA({vt(true)})}}, {{"k", vA({vRaw('t', "\x07")})}}));
    EXPECT_FALSE(hmatch({{"k", vF({{"a", vI(1)}, {"b", vI(2)}})}},
                        {{"k", vF({{"b", vI(2)}, {"a", vI(1)}})}}));
    EXPECT_TRUE(hmatch({{"k", vF({{"a", vA({vF({{"b", vL(5)}})})}})}},
                       {{"k", vF({{"a", vA({vF({{"b", vl(5)}})})}})}}));
    EXPECT_FALSE(hmatch({{"k", vA({vI(1)})}}, {{"k", vA({vI(1), vI(1)})}}));
    EXPECT_TRUE(hmatch({{"k", vA({})}}, {{"k", vF({})}})); /* both empty */
    EXPECT_FALSE(hmatch({{"k", vA({vA({})})}}, {{"k", vA({vF({})})}}));
}

TEST(HeadersMatch, EmptyTables)
{
    struct wrn_slice none = {NULL, 0};
    std::string all = Table({xmatch("all")}), any = Table({xmatch("any")});
    std::string anyx = Table({xmatch("any-with-x")});
    std::string hdrs = Table({{"a", vI(1)}});

    EXPECT_TRUE(wrn_headers_match(none, none)); /* empty binding: all, nothing to check */
    EXPECT_TRUE(wrn_headers_match(none, Sl(hdrs)));
    EXPECT_TRUE(wrn_headers_match(Sl(all), none));
    EXPECT_FALSE(wrn_headers_match(Sl(any), none)); /* any with nothing to compare */
    EXPECT_FALSE(wrn_headers_match(Sl(any), Sl(hdrs)));
    EXPECT_FALSE(wrn_headers_match(Sl(anyx), Sl(hdrs)));
    std::string a1 = Table({{"a", vI(1)}});
    EXPECT_FALSE(wrn_headers_match(Sl(a1), none)); /* a missing key, all */
}

/* RabbitMQ pairs the k-th binding entry of a key with the k-th message entry of it. */
TEST(HeadersMatch, RepeatedKeysPairInOrder)
{
    std::vector<Entry> all2 = {xmatch("all"), {"a", vI(1)}, {"a", vI(2)}};
    std::vector<Entry> any2 = {xmatch("any"), {"a", vI(1)}, {"a", vI(2)}};

    EXPECT_TRUE(hmatch(all2, {{"a", vI(1)}, {"a", vI(2)}}));
    EXPECT_FALSE(hmatch(all2, {{"a", vI(2)}, {"a", vI(1)}}));
    EXPECT_FALSE(hmatch(all2, {{"a", vI(1)}}));
    EXPECT_FALSE(hmatch(any2, {{"a", vI(2)}}));
    EXPECT_FALSE(hmatch({{"a", vI(1)}}, {{"a", vI(2)}, {"a", vI(1)}}));
    EXPECT_TRUE(hmatch({{"a", vI(1)}}, {{"b", vI(0)}, {"a", vI(1)}, {"a", vI(2)}}));
}

TEST(HeadersMatch, BindingValidity)
{
    auto valid = [](const std::vector<Entry> &args) {
        std::string b = Table(args);
        return wrn_headers_binding_valid(Sl(b));
    };
    struct wrn_slice none = {NULL, 0};

    EXPECT_TRUE(wrn_headers_binding_valid(none));
    EXPECT_TRUE(valid({{"a", vI(1)}}));
    for (const char *ok : {"all", "any", "all-with-x", "any-with-x"})
        EXPECT_TRUE(valid({{"a", vI(1)}, xmatch(ok)})) << ok;
    /* Refused by RabbitMQ 3.10 with 406 "Invalid x-match field value ...". */
    for (const char *bad : {"ALL", "", "foo", "any ", "all-with-X"})
        EXPECT_FALSE(valid({xmatch(bad), {"a", vI(1)}})) << bad;
    /* ... and with 406 "Invalid x-match field type ...; expected longstr". */
    EXPECT_FALSE(valid({{"x-match", vX("all")}}));
    EXPECT_FALSE(valid({{"x-match", vI(1)}}));
    EXPECT_FALSE(valid({{"x-match", vl(0)}}));
    EXPECT_FALSE(valid({{"x-match", vVoid()}}));
}
