/*
 * router.c - topic and headers matching. The topic trie has one node per
 * pattern prefix; literal words hang off a small open-addressed table per
 * node, '*' and '#' off their own slots. The headers test walks the two
 * encoded tables directly and allocates nothing.
 */
#include "router.h"

#include "table.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Allocation in one place, so it can later go through the broker's allocator. */
static void *
mem_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (q == NULL) {
        fprintf(stderr, "warren: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return q;
}

static void
mem_free(void *p)
{
    free(p);
}

/*
 * A set of non-NULL pointers in an open-addressed table (linear probing,
 * power-of-two size, at most 3/4 full). The hash of an element comes from
 * a callback so one implementation serves child nodes and dests.
 */
struct pset {
    void **slots; /* owned; NULL marks a free slot */
    uint32_t n;
    uint32_t cap;
};

typedef uint32_t (*pset_hash_fn)(const void *elem);

#define PSET_NONE UINT32_MAX

static void
pset_fini(struct pset *s)
{
    mem_free(s->slots);
    s->slots = NULL;
    s->n = s->cap = 0;
}

static void
pset_place(struct pset *s, void *elem, pset_hash_fn hash)
{
    uint32_t mask = s->cap - 1;
    uint32_t i = hash(elem) & mask;

    while (s->slots[i] != NULL)
        i = (i + 1) & mask;
    s->slots[i] = elem;
}

/* Add elem, which the caller knows is not in s. */
static void
pset_insert(struct pset *s, void *elem, pset_hash_fn hash)
{
    if ((uint64_t)(s->n + 1) * 4 > (uint64_t)s->cap * 3) {
        struct pset old = *s;

        s->cap = old.cap ? old.cap * 2 : 4;
        s->slots = mem_realloc(NULL, s->cap * sizeof(*s->slots));
        memset(s->slots, 0, s->cap * sizeof(*s->slots));
        for (uint32_t i = 0; i < old.cap; i++) {
            if (old.slots[i] != NULL)
                pset_place(s, old.slots[i], hash);
        }
        mem_free(old.slots);
    }
    pset_place(s, elem, hash);
    s->n++;
}

/*
 * Empty slot i, then move later members of its probe run back so that no
 * lookup stops early at the hole (deletion without tombstones).
 */
static void
pset_remove_at(struct pset *s, uint32_t i, pset_hash_fn hash)
{
    uint32_t mask = s->cap - 1;
    uint32_t j = i;

    for (;;) {
        j = (j + 1) & mask;
        if (s->slots[j] == NULL)
            break;
        /* The element at j may fill the hole at i unless its home lies cyclically in (i, j]. */
        uint32_t home = hash(s->slots[j]) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            s->slots[i] = s->slots[j];
            i = j;
        }
    }
    s->slots[i] = NULL;
    if (--s->n == 0)
        pset_fini(s);
}

static uint32_t
hash_bytes(const uint8_t *p, uint32_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (uint32_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

static uint32_t
hash_ptr(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;

    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (uint32_t)x;
}

enum node_kind { NODE_ROOT, NODE_WORD, NODE_STAR, NODE_HASH };

struct node {
    struct node *parent; /* borrowed; NULL for the root */
    struct node *star;   /* owned: child for a "*" word */
    struct node *hash;   /* owned: child for a "#" word */
    struct pset kids;    /* owned nodes: children for literal words */
    struct pset dests;   /* borrowed dests of the patterns that end here */
    /*
     * Match memo, used on '#' nodes: the pass that last entered the node and
     * the earliest key offset it was entered at in that pass. The root is
     * never a '#' node; its seen_pass counts the passes instead.
     */
    uint64_t seen_pass;
    uint32_t seen_from;
    uint32_t word_hash;
    uint32_t word_len;
    uint8_t kind;
    uint8_t word[]; /* literal word, NODE_WORD only */
};

struct wrn_topic_trie {
    struct node *root; /* owned */
    size_t count;
};

static uint32_t
node_hash(const void *elem)
{
    return ((const struct node *)elem)->word_hash;
}

static struct node *
node_new(struct node *parent, enum node_kind kind, const uint8_t *word, uint32_t len)
{
    struct node *n = mem_realloc(NULL, sizeof(*n) + len);

    memset(n, 0, sizeof(*n));
    n->parent = parent;
    n->kind = (uint8_t)kind;
    n->word_len = len;
    n->word_hash = hash_bytes(word, len);
    if (len > 0)
        memcpy(n->word, word, len);
    return n;
}

/* The literal child of n for word, or NULL. */
static struct node *
kid_find(const struct node *n, const uint8_t *word, uint32_t len, uint32_t *slot)
{
    uint32_t mask, i;

    if (n->kids.n == 0)
        return NULL;
    mask = n->kids.cap - 1;
    for (i = hash_bytes(word, len) & mask; n->kids.slots[i] != NULL; i = (i + 1) & mask) {
        struct node *k = n->kids.slots[i];
        if (k->word_len == len && (len == 0 || memcmp(k->word, word, len) == 0)) {
            if (slot != NULL)
                *slot = i;
            return k;
        }
    }
    return NULL;
}

static uint32_t
dest_find(const struct node *n, const void *dest)
{
    uint32_t mask, i;

    if (n->dests.n == 0)
        return PSET_NONE;
    mask = n->dests.cap - 1;
    for (i = hash_ptr(dest) & mask; n->dests.slots[i] != NULL; i = (i + 1) & mask) {
        if (n->dests.slots[i] == dest)
            return i;
    }
    return PSET_NONE;
}

static bool
node_is_empty(const struct node *n)
{
    return n->kids.n == 0 && n->dests.n == 0 && n->star == NULL && n->hash == NULL;
}

/* Length of the word starting at p (up to the next '.' or the end). */
static uint32_t
word_length(const uint8_t *p, uint32_t left)
{
    const uint8_t *dot = left ? memchr(p, '.', left) : NULL;

    return dot ? (uint32_t)(dot - p) : left;
}

/*
 * The child of n for one pattern word, created if create is set; NULL if
 * absent and not created.
 */
static struct node *
child_for(struct node *n, const uint8_t *word, uint32_t len, bool create)
{
    struct node *k;

    if (len == 1 && word[0] == '*') {
        if (n->star == NULL && create)
            n->star = node_new(n, NODE_STAR, NULL, 0);
        return n->star;
    }
    if (len == 1 && word[0] == '#') {
        if (n->hash == NULL && create)
            n->hash = node_new(n, NODE_HASH, NULL, 0);
        return n->hash;
    }
    k = kid_find(n, word, len, NULL);
    if (k == NULL && create) {
        k = node_new(n, NODE_WORD, word, len);
        pset_insert(&n->kids, k, node_hash);
    }
    return k;
}

/* The node for pattern, created on the way if create is set; NULL if absent. */
static struct node *
walk_pattern(struct node *root, struct wrn_slice pattern, bool create)
{
    struct node *n = root;
    uint32_t pos = 0;

    /* The empty pattern has no words at all: its dests live on the root. */
    if (pattern.len == 0)
        return root;
    for (;;) {
        uint32_t len = word_length(pattern.p + pos, pattern.len - pos);

        n = child_for(n, pattern.p + pos, len, create);
        if (n == NULL)
            return NULL;
        pos += len;
        if (pos == pattern.len)
            return n;
        pos++; /* the dot */
    }
}

/* Unlink the empty, non-root node n from its parent and free it. */
static void
node_detach_free(struct node *n)
{
    struct node *p = n->parent;
    uint32_t slot;

    if (n->kind == NODE_STAR) {
        p->star = NULL;
    } else if (n->kind == NODE_HASH) {
        p->hash = NULL;
    } else {
        kid_find(p, n->word, n->word_len, &slot);
        pset_remove_at(&p->kids, slot, node_hash);
    }
    mem_free(n);
}

struct wrn_topic_trie *
wrn_topic_trie_new(void)
{
    struct wrn_topic_trie *t = mem_realloc(NULL, sizeof(*t));

    t->root = node_new(NULL, NODE_ROOT, NULL, 0);
    t->count = 0;
    return t;
}

/*
 * Frees every node through an explicit stack rather than recursion, so a
 * deep pattern cannot exhaust the C stack.
 */
void
wrn_topic_trie_free(struct wrn_topic_trie *t)
{
    struct node **stack;
    size_t depth = 0, cap = 16;

    if (t == NULL)
        return;
    stack = mem_realloc(NULL, sizeof(*stack) * cap);
    stack[depth++] = t->root;
    while (depth > 0) {
        struct node *n = stack[--depth];

        /* At most 2 + kids.n pushes. */
        if (depth + 2 + n->kids.n > cap) {
            cap = (depth + 2 + n->kids.n) * 2;
            stack = mem_realloc(stack, sizeof(*stack) * cap);
        }
        if (n->star != NULL)
            stack[depth++] = n->star;
        if (n->hash != NULL)
            stack[depth++] = n->hash;
        for (uint32_t i = 0; i < n->kids.cap; i++) {
            if (n->kids.slots[i] != NULL)
                stack[depth++] = n->kids.slots[i];
        }
        pset_fini(&n->kids);
        pset_fini(&n->dests);
        mem_free(n);
    }
    mem_free(stack);
    mem_free(t);
}

int
wrn_topic_trie_add(struct wrn_topic_trie *t, struct wrn_slice pattern, void *dest)
{
    struct node *n = walk_pattern(t->root, pattern, true);

    if (dest_find(n, dest) != PSET_NONE)
        return 1;
    pset_insert(&n->dests, dest, hash_ptr);
    t->count++;
    return 0;
}

bool
wrn_topic_trie_remove(struct wrn_topic_trie *t, struct wrn_slice pattern, void *dest)
{
    struct node *n = walk_pattern(t->root, pattern, false);
    uint32_t slot;

    if (n == NULL || (slot = dest_find(n, dest)) == PSET_NONE)
        return false;
    pset_remove_at(&n->dests, slot, hash_ptr);
    t->count--;
    /* Prune the branch that only led to this pattern. */
    while (n->parent != NULL && node_is_empty(n)) {
        struct node *parent = n->parent;
        node_detach_free(n);
        n = parent;
    }
    return true;
}

size_t
wrn_topic_trie_count(const struct wrn_topic_trie *t)
{
    return t->count;
}

/*
 * Matching walks the trie and the key together, depth first. A position in
 * the key is the byte offset where the next word starts; end (len + 1)
 * means no words are left. A node other than '#' is reached at most once
 * per position (its parent is unique), so only '#' nodes, which stay alive
 * over many positions, need the memo: entered again at a position at or
 * after one already done, there is nothing new to do. That keeps "#.#.#"
 * linear in the key instead of exponential.
 */
struct match {
    const uint8_t *key;
    uint32_t len;
    uint32_t end;
    uint64_t pass;
    void (*fn)(void *dest, void *arg);
    void *arg;
};

static void match_node(struct match *m, struct node *n, uint32_t pos);

static void
report(const struct match *m, const struct node *n)
{
    for (uint32_t i = 0; i < n->dests.cap; i++) {
        if (n->dests.slots[i] != NULL)
            m->fn(n->dests.slots[i], m->arg);
    }
}

/* Follow the word at pos (which is not end) from n: its literal child and '*'. */
static void
match_word(struct match *m, const struct node *n, uint32_t pos)
{
    uint32_t len = word_length(m->key + pos, m->len - pos);
    struct node *k = kid_find(n, m->key + pos, len, NULL);

    if (k != NULL)
        match_node(m, k, pos + len + 1);
    if (n->star != NULL)
        match_node(m, n->star, pos + len + 1);
}

/* '#' node h, entered at from: it may swallow any number of words from there on. */
static void
match_hash(struct match *m, struct node *h, uint32_t from)
{
    uint32_t until = m->end + 1;

    if (h->seen_pass == m->pass) {
        if (h->seen_from <= from)
            return;
        until = h->seen_from; /* positions from there on were done already */
    }
    h->seen_pass = m->pass;
    h->seen_from = from;
    if (h->hash != NULL)
        match_hash(m, h->hash, from);
    for (uint32_t pos = from; pos < until;) {
        if (pos == m->end) {
            report(m, h);
            break;
        }
        match_word(m, h, pos);
        pos += word_length(m->key + pos, m->len - pos) + 1;
    }
}

/* Node n (not '#') with the key consumed up to pos. */
static void
match_node(struct match *m, struct node *n, uint32_t pos)
{
    if (n->hash != NULL)
        match_hash(m, n->hash, pos); /* '#' matching zero words, or more */
    if (pos == m->end)
        report(m, n);
    else
        match_word(m, n, pos);
}

void
wrn_topic_trie_match(const struct wrn_topic_trie *t, struct wrn_slice key,
                     void (*fn)(void *dest, void *arg), void *arg)
{
    struct match m;

    m.key = key.p;
    m.len = key.len;
    m.end = key.len + 1;
    m.pass = ++t->root->seen_pass;
    m.fn = fn;
    m.arg = arg;
    /* The empty key has no words; otherwise the first word starts at 0. */
    match_node(&m, t->root, key.len == 0 ? m.end : 0);
}

/*
 * Headers exchange. RabbitMQ sorts both tables by key (stably) and walks
 * them side by side, so the k-th binding entry with a given key is compared
 * with the k-th message entry with that key. That only matters when a key
 * repeats, but we follow it so that duplicate keys route the same way.
 */
enum x_match { X_ALL, X_ANY, X_ALL_WITH_X, X_ANY_WITH_X, X_INVALID };

static const uint8_t empty_table[1];

/* A slice safe to iterate: never a NULL pointer, even when empty. */
static struct wrn_slice
table_slice(struct wrn_slice s)
{
    if (s.len == 0)
        s.p = empty_table;
    return s;
}

static enum x_match
parse_x_match(struct wrn_slice args)
{
    struct wrn_field f;

    if (!wrn_table_get(table_slice(args), "x-match", &f))
        return X_ALL;
    if (f.type != 'S') /* RabbitMQ: "Invalid x-match field type ... expected longstr" */
        return X_INVALID;
    if (wrn_slice_eq_str(f.v.s, "all"))
        return X_ALL;
    if (wrn_slice_eq_str(f.v.s, "any"))
        return X_ANY;
    if (wrn_slice_eq_str(f.v.s, "all-with-x"))
        return X_ALL_WITH_X;
    if (wrn_slice_eq_str(f.v.s, "any-with-x"))
        return X_ANY_WITH_X;
    return X_INVALID;
}

bool
wrn_headers_binding_valid(struct wrn_slice binding_args)
{
    return parse_x_match(binding_args) != X_INVALID;
}

/* A numeric value in the widest form its letter allows. */
struct number {
    enum { NUM_SIGNED, NUM_UNSIGNED, NUM_FLOAT } kind;
    int64_t i;
    uint64_t u;
    double d;
};

static bool
as_number(const struct wrn_field *f, struct number *n)
{
    switch (f->type) {
    case 'b':
    case 's':
    case 'I':
    case 'l':
    case 'L':
        n->kind = NUM_SIGNED;
        n->i = f->v.i;
        return true;
    case 'B':
    case 'u':
    case 'i':
    case 'T':
        n->kind = NUM_UNSIGNED;
        n->u = f->v.u;
        return true;
    case 'f':
        n->kind = NUM_FLOAT;
        n->d = f->v.f;
        return true;
    case 'd':
        n->kind = NUM_FLOAT;
        n->d = f->v.d;
        return true;
    default:
        return false;
    }
}

/* Exact comparison, as Erlang's ==: 1 equals 1.0, but 2^53 + 1 does not equal 2.0^53. */
static bool
float_eq_signed(double d, int64_t i)
{
    int64_t t;

    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        return false; /* out of range, or NaN */
    t = (int64_t)d;
    return (double)t == d && t == i;
}

static bool
float_eq_unsigned(double d, uint64_t u)
{
    uint64_t t;

    if (!(d >= 0.0 && d < 18446744073709551616.0))
        return false;
    t = (uint64_t)d;
    return (double)t == d && t == u;
}

static bool
number_eq(const struct number *a, const struct number *b)
{
    if (a->kind == NUM_FLOAT && b->kind == NUM_FLOAT)
        return a->d == b->d;
    if (a->kind == NUM_FLOAT)
        return b->kind == NUM_SIGNED ? float_eq_signed(a->d, b->i) : float_eq_unsigned(a->d, b->u);
    if (b->kind == NUM_FLOAT)
        return number_eq(b, a);
    if (a->kind == b->kind)
        return a->kind == NUM_SIGNED ? a->i == b->i : a->u == b->u;
    if (a->kind == NUM_SIGNED)
        return a->i >= 0 && (uint64_t)a->i == b->u;
    return b->i >= 0 && (uint64_t)b->i == a->u;
}

static bool container_eq(uint8_t type, struct wrn_slice a, struct wrn_slice b);

/*
 * Values inside a nested table or array: RabbitMQ keeps their type tags,
 * so the letters must agree ('L' is read as 'l', as RabbitMQ does) and then
 * the values. Floats compare as numbers, so 0.0 equals -0.0.
 */
static bool
nested_eq(const struct wrn_field *a, const struct wrn_field *b)
{
    uint8_t ta = a->type == 'L' ? 'l' : a->type;
    uint8_t tb = b->type == 'L' ? 'l' : b->type;

    if (ta != tb)
        return false;
    switch (ta) {
    case 't':
        return a->v.b == b->v.b;
    case 'b':
    case 's':
    case 'I':
    case 'l':
        return a->v.i == b->v.i;
    case 'B':
    case 'u':
    case 'i':
    case 'T':
        return a->v.u == b->v.u;
    case 'f':
        return a->v.f == b->v.f;
    case 'd':
        return a->v.d == b->v.d;
    case 'D':
        return a->v.dec.scale == b->v.dec.scale && a->v.dec.value == b->v.dec.value;
    case 'S':
    case 'x':
        return wrn_slice_eq(a->v.s, b->v.s);
    case 'F':
    case 'A':
        return container_eq(ta, a->v.s, b->v.s);
    case 'V':
        return true;
    default:
        return false;
    }
}

/* Two tables ('F') or two arrays ('A'): same entries in the same order. */
static bool
container_eq(uint8_t type, struct wrn_slice a, struct wrn_slice b)
{
    struct wrn_table_iter ia, ib;
    struct wrn_slice ka, kb;
    struct wrn_field fa, fb;
    int ra, rb;

    if (wrn_slice_eq(a, b))
        return true; /* the same bytes are the same values */
    if (type == 'F') {
        wrn_table_iter_init(&ia, table_slice(a));
        wrn_table_iter_init(&ib, table_slice(b));
    } else {
        wrn_array_iter_init(&ia, table_slice(a));
        wrn_array_iter_init(&ib, table_slice(b));
    }
    for (;;) {
        if (type == 'F') {
            ra = wrn_table_next(&ia, &ka, &fa);
            rb = wrn_table_next(&ib, &kb, &fb);
        } else {
            ra = wrn_array_next(&ia, &fa);
            rb = wrn_array_next(&ib, &fb);
        }
        if (ra != 1 || rb != 1)
            return ra == 0 && rb == 0;
        if (type == 'F' && !wrn_slice_eq(ka, kb))
            return false;
        if (!nested_eq(&fa, &fb))
            return false;
    }
}

/*
 * A binding value against a message value, at the top level. RabbitMQ
 * compares the values without their type tags: numbers of any letter by
 * value, 'S' and 'x' by bytes, booleans, decimals (scale and digits, so
 * 1.0 is not 1), and containers by content; an empty table equals an
 * empty array.
 */
static bool
value_eq(const struct wrn_field *a, const struct wrn_field *b)
{
    struct number na, nb;

    if (as_number(a, &na))
        return as_number(b, &nb) && number_eq(&na, &nb);
    switch (a->type) {
    case 't':
        return b->type == 't' && a->v.b == b->v.b;
    case 'S':
    case 'x':
        return (b->type == 'S' || b->type == 'x') && wrn_slice_eq(a->v.s, b->v.s);
    case 'D':
        return b->type == 'D' && a->v.dec.scale == b->v.dec.scale &&
               a->v.dec.value == b->v.dec.value;
    case 'V':
        return b->type == 'V';
    case 'F':
    case 'A':
        if (b->type != 'F' && b->type != 'A')
            return false;
        if (a->type != b->type)
            return a->v.s.len == 0 && b->v.s.len == 0;
        return container_eq(a->type, a->v.s, b->v.s);
    default:
        return false;
    }
}

/* How many entries before position stop of table have key. */
static uint32_t
key_rank(struct wrn_slice table, const uint8_t *stop, struct wrn_slice key)
{
    struct wrn_table_iter it;
    struct wrn_slice k;
    struct wrn_field f;
    uint32_t rank = 0;

    wrn_table_iter_init(&it, table);
    while (it.c.p < stop && wrn_table_next(&it, &k, &f) == 1) {
        if (wrn_slice_eq(k, key))
            rank++;
    }
    return rank;
}

/* The rank-th (from 0) entry of table with key; false if there are fewer. */
static bool
find_nth(struct wrn_slice table, struct wrn_slice key, uint32_t rank, struct wrn_field *out)
{
    struct wrn_table_iter it;
    struct wrn_slice k;

    wrn_table_iter_init(&it, table);
    while (wrn_table_next(&it, &k, out) == 1) {
        if (wrn_slice_eq(k, key) && rank-- == 0)
            return true;
    }
    return false;
}

static bool
is_x_key(struct wrn_slice key)
{
    return key.len >= 2 && key.p[0] == 'x' && key.p[1] == '-';
}

bool
wrn_headers_match(struct wrn_slice binding_args, struct wrn_slice msg_headers)
{
    struct wrn_slice args = table_slice(binding_args);
    struct wrn_slice hdrs = table_slice(msg_headers);
    enum x_match mode = parse_x_match(args);
    bool any = mode == X_ANY || mode == X_ANY_WITH_X;
    bool with_x = mode == X_ALL_WITH_X || mode == X_ANY_WITH_X;
    struct wrn_table_iter it;
    struct wrn_slice key;
    struct wrn_field want, got;
    const uint8_t *entry = args.p;

    /* An invalid x-match was refused at bind time; X_INVALID falls back to "all". */
    wrn_table_iter_init(&it, args);
    while (wrn_table_next(&it, &key, &want) == 1) {
        const uint8_t *this_entry = entry;
        bool ok;

        entry = it.c.p;
        if (wrn_slice_eq_str(key, "x-match") || (!with_x && is_x_key(key)))
            continue;
        ok = find_nth(hdrs, key, key_rank(args, this_entry, key), &got) &&
             (want.type == 'V' || value_eq(&want, &got));
        if (ok && any)
            return true;
        if (!ok && !any)
            return false;
    }
    return !any;
}
