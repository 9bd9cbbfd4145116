/*
 * store_rocksdb_test.cc - the RocksDB store: reads and writes, atomic
 * batches, range deletes, bounded iteration over a drained queue, restarts,
 * and refusing a folder that is in use, corrupt or unreadable (leaving it
 * untouched); then group commit through the notify fd.
 */
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <rocksdb/c.h> /* perf counters only: the store itself is used through store.h */

#include "keys.h"
#include "store.h"

namespace fs = std::filesystem;

namespace
{

/* A fresh folder from mkdtemp, removed with everything in it afterwards. */
class TempDir
{
  public:
    TempDir()
    {
        std::string tmpl = (fs::temp_directory_path() / "warren-store-XXXXXX").string();
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        if (mkdtemp(buf.data()) == nullptr)
            ADD_FAILURE() << "mkdtemp " << tmpl << ": " << strerror(errno);
        path_ = buf.data();
    }
    ~TempDir()
    {
        std::error_code ec;
        fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path_, ec);
    }
    const std::string &
    path() const
    {
        return path_;
    }
    std::string
    Sub(const std::string &name) const
    {
        return path_ + "/" + name;
    }

  private:
    std::string path_;
};

using StorePtr = std::unique_ptr<wrn_store, decltype(&wrn_store_close)>;

StorePtr
Open(const std::string &dir)
{
    wrn_store *s = nullptr;
    char err[512] = "";

    EXPECT_EQ(0, wrn_store_open(dir.c_str(), &s, err, sizeof(err))) << err;
    return StorePtr(s, wrn_store_close);
}

/* Opens dir expecting failure; returns the message. */
std::string
OpenError(const std::string &dir)
{
    static int poison;
    wrn_store *s = reinterpret_cast<wrn_store *>(&poison); /* open must reset it */
    char err[512] = "";

    EXPECT_EQ(-1, wrn_store_open(dir.c_str(), &s, err, sizeof(err)));
    EXPECT_EQ(nullptr, s);
    if (s != nullptr && s != reinterpret_cast<wrn_store *>(&poison))
        wrn_store_close(s);
    return err;
}

struct Reaped {
    std::vector<intptr_t> cookies;
    std::vector<int> statuses;
};

void
OnDone(void *cookie, int status, void *arg)
{
    Reaped *r = static_cast<Reaped *>(arg);

    r->cookies.push_back(reinterpret_cast<intptr_t>(cookie));
    r->statuses.push_back(status);
}

void *
Cookie(intptr_t i)
{
    return reinterpret_cast<void *>(i);
}

/* Waits on the notify fd, as the event loop does, until want batches are back. */
void
ReapUntil(wrn_store *s, Reaped *r, size_t want)
{
    struct pollfd pfd = {wrn_store_notify_fd(s), POLLIN, 0};

    while (r->cookies.size() < want) {
        /* Only a guard against hanging on a lost wake-up, not a timing check. */
        int rc = poll(&pfd, 1, 60000);
        ASSERT_EQ(1, rc) << "no completion signalled; " << r->cookies.size() << " of " << want;
        wrn_store_reap(s, OnDone, r);
    }
}

/* Submits one batch, waits for it and returns its status. */
int
Commit(wrn_store *s, wrn_store_batch *b)
{
    Reaped r;

    wrn_store_submit(s, b, Cookie(42));
    wrn_store_drain(s);
    EXPECT_EQ(1u, wrn_store_reap(s, OnDone, &r));
    return r.statuses.size() == 1 ? r.statuses[0] : -2;
}

void
Put(wrn_store *s, const std::string &k, const std::string &v)
{
    wrn_store_batch *b = wrn_store_batch_new();

    wrn_store_batch_put(b, k.data(), k.size(), v.data(), v.size());
    ASSERT_EQ(0, Commit(s, b));
}

std::optional<std::string>
Get(wrn_store *s, const std::string &k)
{
    void *val = nullptr;
    size_t vlen = 12345;
    int rc = wrn_store_get(s, k.data(), k.size(), &val, &vlen);

    EXPECT_NE(-1, rc);
    if (rc != 1)
        return std::nullopt;
    std::string v(static_cast<char *>(val), vlen);
    wrn_store_free(val);
    return v;
}

std::string
Entry(uint64_t q, uint64_t seq)
{
    uint8_t k[WRN_KEY_ENTRY_LEN];

    wrn_key_entry(k, q, seq);
    return std::string(reinterpret_cast<char *>(k), sizeof(k));
}

std::pair<std::string, std::string>
QueueRange(uint64_t q)
{
    uint8_t lo[WRN_KEY_QUEUE_RANGE_LEN], hi[WRN_KEY_QUEUE_RANGE_LEN];

    wrn_key_queue_range(lo, hi, q);
    return {std::string(reinterpret_cast<char *>(lo), sizeof(lo)),
            std::string(reinterpret_cast<char *>(hi), sizeof(hi))};
}

using KVs = std::vector<std::pair<std::string, std::string>>;

/* Everything in [lo, hi); a null lo or hi is no bound. */
KVs
Scan(wrn_store *s, const std::string *lo, const std::string *hi)
{
    wrn_store_iter *it = wrn_store_iter_new(s, lo ? lo->data() : nullptr, lo ? lo->size() : 0,
                                            hi ? hi->data() : nullptr, hi ? hi->size() : 0);
    const void *k, *v;
    size_t kl, vl;
    KVs out;
    int rc;

    while ((rc = wrn_store_iter_next(it, &k, &kl, &v, &vl)) == 1)
        out.emplace_back(std::string(static_cast<const char *>(k), kl),
                         std::string(static_cast<const char *>(v), vl));
    EXPECT_EQ(0, rc);
    EXPECT_EQ(0, wrn_store_iter_next(it, &k, &kl, &v, &vl)); /* stays at the end */
    wrn_store_iter_free(it);
    return out;
}

KVs
ScanQueue(wrn_store *s, uint64_t q)
{
    auto r = QueueRange(q);
    return Scan(s, &r.first, &r.second);
}

std::vector<uint64_t>
Seqs(const KVs &kvs)
{
    std::vector<uint64_t> out;

    for (const auto &kv : kvs) {
        uint64_t q, seq;
        EXPECT_EQ(0, wrn_key_entry_decode(kv.first.data(), kv.first.size(), &q, &seq));
        out.push_back(seq);
    }
    return out;
}

std::vector<uint64_t>
Iota(uint64_t from, uint64_t to)
{
    std::vector<uint64_t> v;

    for (uint64_t i = from; i < to; i++)
        v.push_back(i);
    return v;
}

/* Puts entries seq [from, to) of queue q, batch_size per batch, all in flight at once. */
void
PutEntries(wrn_store *s, uint64_t q, uint64_t from, uint64_t to, size_t batch_size)
{
    Reaped r;
    size_t submitted = 0;

    for (uint64_t i = from; i < to;) {
        wrn_store_batch *b = wrn_store_batch_new();
        for (size_t j = 0; j < batch_size && i < to; j++, i++) {
            std::string k = Entry(q, i), v = "msg-" + std::to_string(i);
            wrn_store_batch_put(b, k.data(), k.size(), v.data(), v.size());
        }
        wrn_store_submit(s, b, Cookie(1));
        submitted++;
    }
    ReapUntil(s, &r, submitted);
    for (int st : r.statuses)
        ASSERT_EQ(0, st);
}

void
DeleteEntries(wrn_store *s, uint64_t q, uint64_t from, uint64_t to, size_t batch_size)
{
    Reaped r;
    size_t submitted = 0;

    for (uint64_t i = from; i < to;) {
        wrn_store_batch *b = wrn_store_batch_new();
        for (size_t j = 0; j < batch_size && i < to; j++, i++) {
            std::string k = Entry(q, i);
            wrn_store_batch_delete(b, k.data(), k.size());
        }
        wrn_store_submit(s, b, Cookie(1));
        submitted++;
    }
    ReapUntil(s, &r, submitted);
    for (int st : r.statuses)
        ASSERT_EQ(0, st);
}

/*
 * Every file under dir, by relative path, with its bytes, except RocksDB's
 * info log (LOG, LOG.old.*): RocksDB rotates it on every open attempt and it
 * holds diagnostics, not data.
 */
std::map<std::string, std::string>
Snapshot(const std::string &dir)
{
    std::map<std::string, std::string> files;

    for (const auto &e : fs::recursive_directory_iterator(dir)) {
        std::string name = fs::relative(e.path(), dir).string();
        if (!e.is_regular_file() || name == "LOG" || name.rfind("LOG.old.", 0) == 0)
            continue;
        std::ifstream in(e.path(), std::ios::binary);
        files[name] = std::string(std::istreambuf_iterator<char>(in), {});
    }
    return files;
}

std::string
FindFile(const std::string &dir, const std::string &prefix, const std::string &suffix)
{
    for (const auto &e : fs::directory_iterator(dir)) {
        std::string n = e.path().filename().string();
        if (n.size() >= prefix.size() + suffix.size() && n.compare(0, prefix.size(), prefix) == 0 &&
            n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
            return e.path().string();
    }
    return "";
}

void
WriteFile(const std::string &path, const std::string &bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

/* Same length as the file, deterministic garbage. */
void
Scribble(const std::string &path)
{
    std::string junk(fs::file_size(path), '\0');

    for (size_t i = 0; i < junk.size(); i++)
        junk[i] = static_cast<char>(i * 31 + 7);
    WriteFile(path, junk);
}

/* A closed store holding 1000 entries in an SST file (reopening flushes the WAL). */
void
MakeStoreWithSst(const std::string &dir)
{
    {
        StorePtr s = Open(dir);
        ASSERT_NE(nullptr, s.get());
        PutEntries(s.get(), 1, 0, 1000, 100);
    }
    StorePtr s = Open(dir);
    ASSERT_NE(nullptr, s.get());
    EXPECT_EQ(1000u, ScanQueue(s.get(), 1).size());
}

} // namespace

/* ---- reads and writes ---- */

TEST(Store, PutGetDeleteRoundTrip)
{
    TempDir d;
    StorePtr s = Open(d.Sub("data"));
    const std::string bin("k\0ey\xff", 5), binval("\0\x01\x02", 3);

    EXPECT_EQ(std::nullopt, Get(s.get(), "a"));
    Put(s.get(), "a", "1");
    Put(s.get(), bin, binval);
    Put(s.get(), "empty", "");
    EXPECT_EQ("1", Get(s.get(), "a"));
    EXPECT_EQ(binval, Get(s.get(), bin));
    /* An empty value is found, not absent. */
    EXPECT_EQ(std::string(), Get(s.get(), "empty"));
    EXPECT_EQ(std::nullopt, Get(s.get(), std::string("k\0ey", 4)));

    Put(s.get(), "a", "2");
    EXPECT_EQ("2", Get(s.get(), "a"));

    wrn_store_batch *b = wrn_store_batch_new();
    wrn_store_batch_delete(b, "a", 1);
    wrn_store_batch_delete(b, "never-there", 11);
    EXPECT_EQ(2u, wrn_store_batch_count(b));
    ASSERT_EQ(0, Commit(s.get(), b));
    EXPECT_EQ(std::nullopt, Get(s.get(), "a"));
    EXPECT_EQ(binval, Get(s.get(), bin));
}

TEST(Store, PutRefStoresTheBorrowedBytes)
{
    TempDir d;
    StorePtr s = Open(d.Sub("data"));
    std::string body(100000, 'x');
    wrn_store_batch *b = wrn_store_batch_new();

    body[0] = 'A';
    wrn_store_batch_put_ref(b, "m", 1, body.data(), body.size());
    wrn_store_batch_put_ref(b, "z", 1, nullptr, 0);
    ASSERT_EQ(0, Commit(s.get(), b));
    std::string stored = body;
    body[0] = 'B'; /* the batch is reaped: the store holds its own copy */
    EXPECT_EQ(stored, Get(s.get(), "m"));
    EXPECT_EQ(std::string(), Get(s.get(), "z"));
}

TEST(Store, BatchAppliesInOrderWithinAndAcrossBatches)
{
    TempDir d;
    StorePtr s = Open(d.Sub("data"));
    Reaped r;

    /* Held, so the three batches go out as one group. */
    wrn_store_hold(s.get(), true);
    wrn_store_batch *b1 = wrn_store_batch_new();
    wrn_store_batch_put(b1, "k", 1, "1", 1);
    wrn_store_batch_put(b1, "gone", 4, "x", 1);
    wrn_store_batch_delete(b1, "gone", 4);
    wrn_store_batch_delete(b1, "back", 4);
    wrn_store_batch_put(b1, "back", 4, "y", 1);
    wrn_store_submit(s.get(), b1, Cookie(1));
    wrn_store_batch *b2 = wrn_store_batch_new();
    wrn_store_batch_put(b2, "k", 1, "2", 1);
    wrn_store_batch_put(b2, "k2", 2, "v", 1);
    wrn_store_submit(s.get(), b2, Cookie(2));
    wrn_store_batch *b3 = wrn_store_batch_new();
    wrn_store_batch_delete(b3, "k2", 2);
    wrn_store_submit(s.get(), b3, Cookie(3));
    wrn_store_drain(s.get());
    EXPECT_EQ(3u, wrn_store_reap(s.get(), OnDone, &r));
    EXPECT_EQ((std::vector<intptr_t>{1, 2, 3}), r.cookies);
    EXPECT_EQ((std::vector<int>{0, 0, 0}), r.statuses);

    EXPECT_EQ("2", Get(s.get(), "k"));
    EXPECT_EQ(std::nullopt, Get(s.get(), "gone"));
    EXPECT_EQ("y", Get(s.get(), "back"));
    EXPECT_EQ(std::nullopt, Get(s.get(), "k2"));
}

/*
 * An operation can be retracted (cancel) or a byte of its value rewritten
 * (patch) until the storage thread takes its batch, submitted or not; after
 * that both refuse and change nothing.
 */
TEST(Store, CancelAndPatchOnlyBeforeTheWrite)
{
    TempDir d;
    StorePtr s = Open(d.Sub("data"));
    Reaped r;

    wrn_store_hold(s.get(), true);
    wrn_store_batch *b = wrn_store_batch_new();
    wrn_store_batch_put(b, "keep", 4, "v0", 2);
    size_t dropped = wrn_store_batch_count(b);
    wrn_store_batch_put(b, "drop", 4, "x", 1);
    wrn_store_batch_put(b, "ref", 3, "borrowed", 8);
    EXPECT_TRUE(wrn_store_batch_cancel(s.get(), b, dropped)) << "not submitted yet";
    wrn_store_submit(s.get(), b, Cookie(1));
    EXPECT_TRUE(wrn_store_batch_patch(s.get(), b, 0, 1, '1')) << "submitted, not taken";
    EXPECT_FALSE(wrn_store_batch_patch(s.get(), b, 0, 2, '!')) << "past the value";
    EXPECT_FALSE(wrn_store_batch_patch(s.get(), b, dropped, 0, 'y')) << "cancelled";
    EXPECT_FALSE(wrn_store_batch_cancel(s.get(), b, 99)) << "no such operation";
    wrn_store_drain(s.get());
    /* written but not reaped: too late for both */
    EXPECT_FALSE(wrn_store_batch_cancel(s.get(), b, 2));
    EXPECT_FALSE(wrn_store_batch_patch(s.get(), b, 0, 0, 'X'));
    EXPECT_EQ(1u, wrn_store_reap(s.get(), OnDone, &r));

    EXPECT_EQ("v1", Get(s.get(), "keep"));
    EXPECT_EQ(std::nullopt, Get(s.get(), "drop"));
    EXPECT_EQ("borrowed", Get(s.get(), "ref"));
}

/*
 * A reader iterating (a point-in-time view) while batches rewrite ten keys
 * must see all ten from the same batch, never a mix.
 */
TEST(Store, BatchIsAtomicForReaders)
{
    TempDir d;
    StorePtr s = Open(d.Sub("data"));
    const int kKeys = 10, kRounds = 300;
    std::atomic<bool> stop{false};
    std::atomic<int> scans{0}, torn{0}, short_scans{0};

    auto write_round = [&](int round) {
        wrn_store_batch *b = wrn_store_batch_new();
        std::string v = std::to_string(round);
        for (int k = 0; k < kKeys; k++) {
            std::string key = "atom-" + std::to_string(k);
            wrn_store_batch_put(b, key.data(), key.size(), v.data(), v.size());
        }
        return b;
    };
    ASSERT_EQ(0, Commit(s.get(), write_round(0)));

    std::thread reader([&] {
        const std::string lo = "atom-", hi = "atom.";
        while (!stop.load()) {
            KVs kvs = Scan(s.get(), &lo, &hi);
            if (kvs.size() != static_cast<size_t>(kKeys))
                short_scans++;
            for (const auto &kv : kvs)
                if (kv.second != kvs[0].second)
                    torn++;
            scans++;
        }
    });
    Reaped r;
    for (int round = 1; round <= kRounds; round++) {
        wrn_store_submit(s.get(), write_round(round), Cookie(round));
        if (round % 10 == 0)
            wrn_store_reap(s.get(), OnDone, &r);
    }
    ReapUntil(s.get(), &r, kRounds);
    stop = true;
    reader.join();

    EXPECT_EQ(0, torn.load());
    EXPECT_EQ(0, short_scans.load());
    EXPECT_GT(scans.load(), 0);
    EXPECT_EQ(std::to_string(kRounds), Get(s.get(), "atom-7"));
}

TEST(Store, DeleteRangeRemovesExactlyBeginToEnd)
{
    TempDir d;
    StorePtr s = Open(d.Sub("data"));

    PutEntries(s.get(), 0, 0, 10, 10);
    PutEntries(s.get(), 1, 0, 100, 50);
    PutEntries(s.get(), 2, 0, 10, 10);

    std::string b = Entry(1, 10), e = Entry(1, 20);
    wrn_store_batch *batch = wrn_store_batch_new();
    wrn_store_batch_delete_range(batch, b.data(), b.size(), e.data(), e.size());
    EXPECT_EQ(1u, wrn_store_batch_count(batch));
    ASSERT_EQ(0, Commit(s.get(), batch));
    std::vector<uint64_t> want = Iota(0, 10), tail = Iota(20, 100);
    want.insert(want.end(), tail.begin(), tail.end());
    EXPECT_EQ(want, Seqs(ScanQueue(s.get(), 1)));

    /* An empty or reversed range adds nothing and deletes nothing. */
    batch = wrn_store_batch_new();
    wrn_store_batch_delete_range(batch, e.data(), e.size(), b.data(), b.size());
    wrn_store_batch_delete_range(batch, b.data(), b.size(), b.data(), b.size());
    EXPECT_EQ(0u, wrn_store_batch_count(batch));
    ASSERT_EQ(0, Commit(s.get(), batch));
    EXPECT_EQ(90u, ScanQueue(s.get(), 1).size());

    /* A whole queue, as purge does; its neighbours keep every entry. */
    auto r = QueueRange(1);
    batch = wrn_store_batch_new();
    wrn_store_batch_delete_range(batch, r.first.data(), r.first.size(), r.second.data(),
                                 r.second.size());
    ASSERT_EQ(0, Commit(s.get(), batch));
    EXPECT_TRUE(ScanQueue(s.get(), 1).empty());
    EXPECT_EQ(Iota(0, 10), Seqs(ScanQueue(s.get(), 0)));
    EXPECT_EQ(Iota(0, 10), Seqs(ScanQueue(s.get(), 2)));

    /* Plain byte keys: begin is deleted, end and a longer key sharing end's prefix are not. */
    for (const char *k : {"a", "b", "bz", "c", "d", "da"})
        Put(s.get(), k, "v");
    batch = wrn_store_batch_new();
    wrn_store_batch_delete_range(batch, "b", 1, "d", 1);
    ASSERT_EQ(0, Commit(s.get(), batch));
    for (const char *k : {"b", "bz", "c"})
        EXPECT_EQ(std::nullopt, Get(s.get(), k)) << k;
    for (const char *k : {"a", "d", "da"})
        EXPECT_EQ("v", Get(s.get(), k)) << k;
}

TEST(Store, IteratorOrderAndBounds)
{
    TempDir d;
    StorePtr s = Open(d.Sub("data"));
    std::vector<uint64_t> seqs = Iota(0, 200);
    std::mt19937 rng(7);

    std::shuffle(seqs.begin(), seqs.end(), rng);
    wrn_store_batch *b = wrn_store_batch_new();
    for (uint64_t seq : seqs) {
        std::string k = Entry(5, seq), v = "v" + std::to_string(seq);
        wrn_store_batch_put(b, k.data(), k.size(), v.data(), v.size());
    }
    wrn_store_batch_put(b, "A-before", 8, "x", 1);
    wrn_store_batch_put(b, "Z-after", 7, "y", 1);
    ASSERT_EQ(0, Commit(s.get(), b));

    KVs all = Scan(s.get(), nullptr, nullptr);
    ASSERT_EQ(202u, all.size());
    EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
    EXPECT_EQ("A-before", all.front().first);
    EXPECT_EQ("Z-after", all.back().first);

    std::string lo = Entry(5, 50), hi = Entry(5, 150);
    KVs mid = Scan(s.get(), &lo, &hi);
    EXPECT_EQ(Iota(50, 150), Seqs(mid));
    for (const auto &kv : mid) {
        uint64_t q, seq;
        ASSERT_EQ(0, wrn_key_entry_decode(kv.first.data(), kv.first.size(), &q, &seq));
        EXPECT_EQ("v" + std::to_string(seq), kv.second);
    }

    /* No upper bound: to the end of the store. */
    KVs tail = Scan(s.get(), &hi, nullptr);
    ASSERT_EQ(51u, tail.size());
    EXPECT_EQ(hi, tail.front().first);
    EXPECT_EQ("Z-after", tail.back().first);
    /* No lower bound: from the start. */
    KVs head = Scan(s.get(), nullptr, &lo);
    ASSERT_EQ(51u, head.size());
    EXPECT_EQ("A-before", head.front().first);
    EXPECT_EQ(Entry(5, 49), head.back().first);
    /* Empty ranges. */
    EXPECT_TRUE(Scan(s.get(), &lo, &lo).empty());
    EXPECT_TRUE(Scan(s.get(), &hi, &lo).empty());
    auto other = QueueRange(6);
    EXPECT_TRUE(Scan(s.get(), &other.first, &other.second).empty());
}

/*
 * A consumer drained 100k entries by single deletes, leaving tombstones.
 * Reading the queue from its known head must not step over them: RocksDB's
 * counter of skipped deletes stays at zero, while a scan from the range's
 * start passes every one (which shows they are really there), and the queue
 * just before it stops at its upper bound instead of walking on into them.
 * Checked in the memtable and again in SST files after a restart.
 */
TEST(Store, DrainedQueueIsReadFromItsHeadWithoutWalkingTombstones)
{
    TempDir d;
    const uint64_t kN = 100000, kLeft = 10;
    rocksdb_perfcontext_t *perf = rocksdb_perfcontext_create();

    auto check = [&](wrn_store *s) {
        auto r = QueueRange(1);
        std::string head = Entry(1, kN - kLeft);

        rocksdb_set_perf_level(rocksdb_enable_count);
        rocksdb_perfcontext_reset(perf);
        EXPECT_EQ(Iota(kN - kLeft, kN), Seqs(Scan(s, &head, &r.second)));
        uint64_t from_head =
            rocksdb_perfcontext_metric(perf, rocksdb_internal_delete_skipped_count);
        rocksdb_perfcontext_reset(perf);
        EXPECT_EQ(Iota(kN - kLeft, kN), Seqs(ScanQueue(s, 1)));
        uint64_t from_start =
            rocksdb_perfcontext_metric(perf, rocksdb_internal_delete_skipped_count);
        /* Queue 0 ends where the tombstones begin: its upper bound stops it there. */
        rocksdb_perfcontext_reset(perf);
        EXPECT_EQ(Iota(0, 5), Seqs(ScanQueue(s, 0)));
        uint64_t before = rocksdb_perfcontext_metric(perf, rocksdb_internal_delete_skipped_count);
        rocksdb_set_perf_level(rocksdb_disable);

        EXPECT_EQ(0u, from_head);
        EXPECT_EQ(0u, before);
        EXPECT_GE(from_start, kN - kLeft);
        std::printf("[ figure ] tombstones skipped: %llu from the head, %llu from the start, "
                    "%llu by the queue before\n",
                    static_cast<unsigned long long>(from_head),
                    static_cast<unsigned long long>(from_start),
                    static_cast<unsigned long long>(before));
        EXPECT_EQ(Iota(0, 5), Seqs(ScanQueue(s, 2)));
    };

    {
        StorePtr s = Open(d.Sub("data"));
        PutEntries(s.get(), 0, 0, 5, 5);
        PutEntries(s.get(), 2, 0, 5, 5);
        PutEntries(s.get(), 1, 0, kN, 1000);
        DeleteEntries(s.get(), 1, 0, kN - kLeft, 1000);
        check(s.get());
    }
    {
        StorePtr s = Open(d.Sub("data"));
        check(s.get());
        EXPECT_FALSE(FindFile(d.Sub("data"), "", ".sst").empty());
    }
    rocksdb_perfcontext_destroy(perf);
}

/* ---- restarts and refusals ---- */

TEST(Store, ReopenKeepsData)
{
    TempDir d;
    {
        StorePtr s = Open(d.Sub("data"));
        Put(s.get(), "definition", "queue orders");
        PutEntries(s.get(), 3, 0, 500, 100);
    }
    {
        StorePtr s = Open(d.Sub("data"));
        EXPECT_EQ("queue orders", Get(s.get(), "definition"));
        EXPECT_EQ(Iota(0, 500), Seqs(ScanQueue(s.get(), 3)));
        DeleteEntries(s.get(), 3, 0, 100, 100);
        Put(s.get(), "second", "run");
    }
    StorePtr s = Open(d.Sub("data"));
    EXPECT_EQ(Iota(100, 500), Seqs(ScanQueue(s.get(), 3)));
    EXPECT_EQ("run", Get(s.get(), "second"));
}

TEST(Store, SecondOpenOfAFolderInUseFails)
{
    TempDir d;
    std::string dir = d.Sub("data");
    StorePtr s = Open(dir);

    std::string err = OpenError(dir);
    EXPECT_NE(std::string::npos,
              err.find("data folder " + dir + " is in use by another warren process"))
        << err;
    /* The first is unharmed, and the folder opens again once it is closed. */
    Put(s.get(), "k", "v");
    EXPECT_EQ("v", Get(s.get(), "k"));
    s.reset();
    s = Open(dir);
    EXPECT_EQ("v", Get(s.get(), "k"));
}

/* The same from another process, which also names the holder's pid. */
TEST(Store, OpenFromAnotherProcessFailsWhileInUse)
{
    TempDir d;
    std::string dir = d.Sub("data");
    StorePtr s = Open(dir);
    int fds[2];

    ASSERT_EQ(0, pipe(fds));
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        /* Fails at the lock, before RocksDB or any thread is touched. */
        wrn_store *t = nullptr;
        char err[512] = "";
        int rc = wrn_store_open(dir.c_str(), &t, err, sizeof(err));
        std::string msg = (rc == -1 && t == nullptr ? "fail:" : "opened:") + std::string(err);
        if (write(fds[1], msg.data(), msg.size()) < 0)
            _exit(2);
        _exit(0);
    }
    close(fds[1]);
    std::string got;
    char buf[512];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof(buf))) > 0)
        got.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    int wstatus = 0;
    ASSERT_EQ(pid, waitpid(pid, &wstatus, 0));
    EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    EXPECT_EQ("fail:data folder " + dir + " is in use by another warren process (pid " +
                  std::to_string(getpid()) + ")",
              got);
}

/*
 * One file damaged at a time. The open fails naming the folder, nothing is
 * changed (the damaged file included), and putting the file's good bytes
 * back makes the store open with all its data: nothing was repaired or
 * wiped in between.
 */
TEST(Store, CorruptStoreFailsToOpenAndIsLeftAlone)
{
    struct Case {
        const char *what;
        std::string (*target)(const std::string &dir);
        void (*corrupt)(const std::string &path);
    } cases[] = {
        {"CURRENT", [](const std::string &dir) { return dir + "/CURRENT"; },
         [](const std::string &path) { WriteFile(path, "garbage"); }},
        {"CURRENT names a missing MANIFEST",
         [](const std::string &dir) { return dir + "/CURRENT"; },
         [](const std::string &path) { WriteFile(path, "MANIFEST-999999\n"); }},
        {"MANIFEST", [](const std::string &dir) { return FindFile(dir, "MANIFEST-", ""); },
         Scribble},
        {"sst", [](const std::string &dir) { return FindFile(dir, "", ".sst"); }, Scribble},
    };

    for (const Case &c : cases) {
        SCOPED_TRACE(c.what);
        TempDir d;
        std::string dir = d.Sub("data");
        MakeStoreWithSst(dir);
        std::string path = c.target(dir);
        ASSERT_FALSE(path.empty());
        std::string good = Snapshot(dir)[fs::path(path).filename().string()];
        ASSERT_FALSE(good.empty());
        c.corrupt(path);
        auto before = Snapshot(dir);

        std::string err = OpenError(dir);
        EXPECT_NE(std::string::npos, err.find("cannot open data folder " + dir + ": ")) << err;
        std::printf("[ message ] %s\n", err.c_str());
        OpenError(dir); /* still refused the second time */
        EXPECT_EQ(before, Snapshot(dir));

        WriteFile(path, good);
        StorePtr s = Open(dir);
        ASSERT_NE(nullptr, s.get());
        EXPECT_EQ(Iota(0, 1000), Seqs(ScanQueue(s.get(), 1)));
    }
}

/* RocksDB would write a new empty store over files it cannot account for. */
TEST(Store, FolderWithFilesButNoStoreIsRefused)
{
    TempDir d;
    std::string dir = d.Sub("data");

    MakeStoreWithSst(dir);
    fs::remove(dir + "/CURRENT");
    auto before = Snapshot(dir);
    std::string err = OpenError(dir);
    EXPECT_NE(std::string::npos, err.find("data folder " + dir + " holds files")) << err;
    EXPECT_EQ(before, Snapshot(dir));

    std::string other = d.Sub("notes");
    fs::create_directory(other);
    WriteFile(other + "/readme.txt", "mine");
    err = OpenError(other);
    EXPECT_NE(std::string::npos, err.find("readme.txt")) << err;
    /* Left as found: no lock file either. */
    EXPECT_EQ((std::map<std::string, std::string>{{"readme.txt", "mine"}}), Snapshot(other));
}

/* Tests run as root, so permissions cannot make a folder unreadable; paths can. */
TEST(Store, UnreadableFolderFailsCleanly)
{
    TempDir d;
    std::string file = d.Sub("plain-file");
    WriteFile(file, "not a store");

    std::string err = OpenError(file);
    EXPECT_EQ("data folder " + file + " is not a directory", err);
    EXPECT_EQ("not a store", Snapshot(d.path())["plain-file"]);

    err = OpenError(file + "/data");
    EXPECT_NE(std::string::npos, err.find("data folder " + file + "/data")) << err;
    EXPECT_NE(std::string::npos, err.find("Not a directory")) << err;

    err = OpenError(d.Sub("missing/data"));
    EXPECT_NE(std::string::npos, err.find("cannot create data folder " + d.Sub("missing/data")))
        << err;

    /* A store file that cannot be read: CURRENT is a directory. */
    std::string dir = d.Sub("current-is-dir");
    fs::create_directories(dir + "/CURRENT");
    err = OpenError(dir);
    EXPECT_NE(std::string::npos, err.find("cannot open data folder " + dir)) << err;
    std::printf("[ message ] %s\n", err.c_str());

    if (geteuid() != 0) {
        std::string locked = d.Sub("locked");
        fs::create_directory(locked);
        chmod(locked.c_str(), 0);
        err = OpenError(locked);
        EXPECT_NE(std::string::npos, err.find("data folder " + locked)) << err;
    }
}

TEST(Store, ErrorBufferMayBeNull)
{
    TempDir d;
    std::string file = d.Sub("plain-file");
    wrn_store *s = nullptr;

    WriteFile(file, "x");
    EXPECT_EQ(-1, wrn_store_open(file.c_str(), &s, nullptr, 0));
    EXPECT_EQ(nullptr, s);
    wrn_store_close(nullptr);
    wrn_store_batch_free(nullptr);
    wrn_store_iter_free(nullptr);
}

/* ---- group commit ---- */

/*
 * 10,000 one-entry batches submitted back to back, reaped by polling the
 * notify fd. The first ten are held back so they must share a sync, which
 * makes "fewer syncs than batches" certain rather than likely.
 */
TEST(StoreGroupCommit, TenThousandBatchesComeBackOnceInOrder)
{
    TempDir d;
    StorePtr s = Open(d.Sub("data"));
    const intptr_t kN = 10000;
    uint64_t syncs0, batches0, syncs, batches;
    Reaped r;

    wrn_store_stats(s.get(), &syncs0, &batches0);
    auto t0 = std::chrono::steady_clock::now();
    wrn_store_hold(s.get(), true);
    for (intptr_t i = 1; i <= kN; i++) {
        if (i == 11)
            wrn_store_hold(s.get(), false);
        wrn_store_batch *b = wrn_store_batch_new();
        std::string k = Entry(7, static_cast<uint64_t>(i)), v = "body-" + std::to_string(i);
        wrn_store_batch_put(b, k.data(), k.size(), v.data(), v.size());
        wrn_store_submit(s.get(), b, Cookie(i));
        if (i % 500 == 0)
            wrn_store_reap(s.get(), OnDone, &r); /* the loop reaps as it goes */
    }
    ReapUntil(s.get(), &r, kN);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    wrn_store_stats(s.get(), &syncs, &batches);
    syncs -= syncs0;
    batches -= batches0;

    ASSERT_EQ(static_cast<size_t>(kN), r.cookies.size());
    for (intptr_t i = 0; i < kN; i++) {
        ASSERT_EQ(i + 1, r.cookies[i]) << "at " << i;
        ASSERT_EQ(0, r.statuses[i]) << "at " << i;
    }
    EXPECT_EQ(0u, wrn_store_reap(s.get(), OnDone, &r)); /* nothing twice */
    EXPECT_EQ(static_cast<uint64_t>(kN), batches);
    EXPECT_GE(syncs, 1u);
    EXPECT_LT(syncs, batches);
    EXPECT_EQ(Iota(1, kN + 1), Seqs(ScanQueue(s.get(), 7)));
    std::printf("[ figure ] %llu batches in %llu syncs (%.1f batches per sync), "
                "%.0f synced batches/s\n",
                static_cast<unsigned long long>(batches), static_cast<unsigned long long>(syncs),
                static_cast<double>(batches) / static_cast<double>(syncs),
                static_cast<double>(kN) / secs);
}

/*
 * The other extreme: each batch waited for before the next is submitted
 * gets a sync of its own. Prints the rate, the baseline group commit beats.
 */
TEST(StoreGroupCommit, SerialBatchesEachTakeOneSync)
{
    TempDir d;
    StorePtr s = Open(d.Sub("data"));
    const int kN = 200;
    uint64_t syncs0, batches0, syncs, batches;

    wrn_store_stats(s.get(), &syncs0, &batches0);
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kN; i++) {
        wrn_store_batch *b = wrn_store_batch_new();
        std::string k = Entry(8, static_cast<uint64_t>(i));
        wrn_store_batch_put(b, k.data(), k.size(), "v", 1);
        Reaped r;
        wrn_store_submit(s.get(), b, Cookie(i + 1));
        ReapUntil(s.get(), &r, 1);
        ASSERT_EQ((std::vector<int>{0}), r.statuses);
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    wrn_store_stats(s.get(), &syncs, &batches);
    EXPECT_EQ(static_cast<uint64_t>(kN), syncs - syncs0);
    EXPECT_EQ(static_cast<uint64_t>(kN), batches - batches0);
    std::printf("[ figure ] one batch per sync: %.0f synced batches/s\n", kN / secs);
}

TEST(StoreGroupCommit, BatchesWaitingTogetherShareOneSync)
{
    TempDir d;
    StorePtr s = Open(d.Sub("data"));
    uint64_t syncs0, batches0, syncs, batches;
    Reaped r;

    wrn_store_stats(s.get(), &syncs0, &batches0);
    wrn_store_hold(s.get(), true);
    for (intptr_t i = 1; i <= 100; i++) {
        wrn_store_batch *b = wrn_store_batch_new();
        std::string k = "g" + std::to_string(i);
        wrn_store_batch_put(b, k.data(), k.size(), "v", 1);
        wrn_store_submit(s.get(), b, Cookie(i));
    }
    wrn_store_submit(s.get(), wrn_store_batch_new(), Cookie(101)); /* empty: still reported */
    /* Nothing is written while held, so nothing is signalled. */
    struct pollfd pfd = {wrn_store_notify_fd(s.get()), POLLIN, 0};
    EXPECT_EQ(0, poll(&pfd, 1, 0));
    EXPECT_EQ(0u, wrn_store_reap(s.get(), OnDone, &r));
    EXPECT_EQ(std::nullopt, Get(s.get(), "g1"));

    wrn_store_drain(s.get());
    EXPECT_EQ(1, poll(&pfd, 1, 0));
    EXPECT_EQ(101u, wrn_store_reap(s.get(), OnDone, &r));
    EXPECT_EQ(0, poll(&pfd, 1, 0)); /* reap cleared it */
    wrn_store_stats(s.get(), &syncs, &batches);
    EXPECT_EQ(1u, syncs - syncs0);
    EXPECT_EQ(101u, batches - batches0);
    ASSERT_EQ(101u, r.cookies.size());
    for (intptr_t i = 0; i < 101; i++)
        EXPECT_EQ(i + 1, r.cookies[i]);
    EXPECT_EQ("v", Get(s.get(), "g100"));

    /* An empty batch on its own needs no sync at all. */
    r = Reaped();
    ASSERT_EQ(0, Commit(s.get(), wrn_store_batch_new()));
    wrn_store_stats(s.get(), &syncs, &batches);
    EXPECT_EQ(1u, syncs - syncs0);
}

/*
 * A group stops growing at 16 MiB (GROUP_BYTES in store_rocksdb.c): three
 * 9 MiB batches cannot pair up, and the small ones behind the last join it.
 */
TEST(StoreGroupCommit, GroupStopsGrowingAtItsSizeLimit)
{
    TempDir d;
    StorePtr s = Open(d.Sub("data"));
    std::string big(9u << 20, 'b');
    uint64_t syncs0, syncs;
    Reaped r;

    wrn_store_stats(s.get(), &syncs0, nullptr);
    wrn_store_hold(s.get(), true);
    for (intptr_t i = 1; i <= 13; i++) {
        wrn_store_batch *b = wrn_store_batch_new();
        std::string k = "big" + std::to_string(i);
        if (i <= 3)
            wrn_store_batch_put_ref(b, k.data(), k.size(), big.data(), big.size());
        else
            wrn_store_batch_put(b, k.data(), k.size(), "small", 5);
        wrn_store_submit(s.get(), b, Cookie(i));
    }
    wrn_store_drain(s.get());
    EXPECT_EQ(13u, wrn_store_reap(s.get(), OnDone, &r));
    wrn_store_stats(s.get(), &syncs, nullptr);
    EXPECT_EQ(3u, syncs - syncs0);
    EXPECT_EQ(big, Get(s.get(), "big3"));
}

/*
 * A write that fails comes back with status -1, in order, and the reason is
 * kept for the log. The failure is real: a file-size limit makes the WAL
 * append fail with EFBIG (root ignores permissions, not this limit).
 */
TEST(StoreGroupCommit, FailedWriteReportsMinusOne)
{
    TempDir d;
    std::string dir = d.Sub("data");
    struct rlimit old_limit, limit;
    uint64_t syncs0, batches0, syncs, batches;
    char why[256];
    Reaped r;
    {
        StorePtr s = Open(dir);
        Put(s.get(), "before", "ok");
        wrn_store_last_error(s.get(), why, sizeof(why));
        EXPECT_STREQ("", why);
        wrn_store_stats(s.get(), &syncs0, &batches0);

        std::string big(8u << 20, 'x');
        ASSERT_EQ(0, getrlimit(RLIMIT_FSIZE, &old_limit));
        limit = old_limit;
        limit.rlim_cur = 4u << 20;
        void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
        ASSERT_EQ(0, setrlimit(RLIMIT_FSIZE, &limit));
        wrn_store_hold(s.get(), true);
        wrn_store_batch *b = wrn_store_batch_new();
        wrn_store_batch_put_ref(b, "big", 3, big.data(), big.size());
        wrn_store_submit(s.get(), b, Cookie(1));
        b = wrn_store_batch_new();
        wrn_store_batch_put(b, "small", 5, "v", 1);
        wrn_store_submit(s.get(), b, Cookie(2));
        wrn_store_drain(s.get());
        ASSERT_EQ(0, setrlimit(RLIMIT_FSIZE, &old_limit));
        signal(SIGXFSZ, old_handler);

        EXPECT_EQ(2u, wrn_store_reap(s.get(), OnDone, &r));
        EXPECT_EQ((std::vector<intptr_t>{1, 2}), r.cookies);
        EXPECT_EQ((std::vector<int>{-1, -1}), r.statuses); /* one group, one fate */
        wrn_store_last_error(s.get(), why, sizeof(why));
        EXPECT_NE(nullptr, strstr(why, ("write to data folder " + dir + " failed: ").c_str()))
            << why;
        std::printf("[ message ] %s\n", why);
        wrn_store_stats(s.get(), &syncs, &batches);
        EXPECT_EQ(syncs0, syncs);
        EXPECT_EQ(batches0, batches);
        EXPECT_EQ(std::nullopt, Get(s.get(), "small"));
        EXPECT_EQ("ok", Get(s.get(), "before"));
    }
    StorePtr s = Open(dir);
    EXPECT_EQ("ok", Get(s.get(), "before"));
    EXPECT_EQ(std::nullopt, Get(s.get(), "big"));
    EXPECT_EQ(std::nullopt, Get(s.get(), "small"));
}

/* close() writes everything submitted, even while held, then frees unreaped batches. */
TEST(StoreGroupCommit, CloseCompletesPendingBatches)
{
    TempDir d;
    std::string dir = d.Sub("data");

    for (bool held : {true, false}) {
        SCOPED_TRACE(held ? "held" : "running");
        uint64_t q = held ? 1 : 2;
        {
            StorePtr s = Open(dir);
            wrn_store_hold(s.get(), held);
            for (uint64_t i = 0; i < 1000; i++) {
                wrn_store_batch *b = wrn_store_batch_new();
                std::string k = Entry(q, i);
                wrn_store_batch_put(b, k.data(), k.size(), "v", 1);
                wrn_store_submit(s.get(), b, Cookie(1));
            }
        }
        StorePtr s = Open(dir);
        EXPECT_EQ(Iota(0, 1000), Seqs(ScanQueue(s.get(), q)));
    }
}
