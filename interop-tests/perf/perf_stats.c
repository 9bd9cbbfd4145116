/*
 * perf_stats.c - percentiles from the log-linear latency histogram, and the
 * broker's CPU time and resident memory read from /proc while a run goes on.
 */
#include "perf.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * The highest value bucket i can hold. Reporting the top of the bucket errs
 * on the slow side, by at most one bucket width (about 3%).
 */
static uint64_t
bucket_top(unsigned i)
{
    unsigned k, msb, shift, sub;

    if (i < 64)
        return i;
    k = i - 64;
    msb = k / 32 + 6;
    sub = k % 32;
    shift = msb - 5;
    return ((uint64_t)(32 + sub + 1) << shift) - 1;
}

/*
 * The smallest value v such that at least a fraction p of the samples are
 * <= v, capped at the exact maximum seen. Returns 0 for an empty histogram.
 */
uint64_t
perf_hist_percentile(const struct perf_hist *h, double p)
{
    uint64_t rank, seen = 0;
    unsigned i;

    if (h->count == 0)
        return 0;
    rank = (uint64_t)(p * (double)h->count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;
    for (i = 0; i < PERF_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t top = bucket_top(i);
            return top < h->max ? top : h->max;
        }
    }
    return h->max;
}

void
perf_hist_merge(struct perf_hist *into, const struct perf_hist *from)
{
    unsigned i;

    for (i = 0; i < PERF_HIST_BUCKETS; i++)
        into->b[i] += from->b[i];
    into->count += from->count;
    if (from->max > into->max)
        into->max = from->max;
}

long
perf_proc_ticks_per_second(void)
{
    long t = sysconf(_SC_CLK_TCK);
    return t > 0 ? t : 100;
}

/*
 * utime and stime are fields 14 and 15 of /proc/PID/stat. The command name
 * (field 2) may hold spaces and parentheses, so counting starts after the
 * last ')'. VmRSS comes from /proc/PID/status in kB.
 */
int
perf_proc_sample(pid_t pid, struct perf_proc *out)
{
    char path[64], buf[2048], *p;
    unsigned long long utime = 0, stime = 0;
    FILE *f;
    size_t n;
    int field;

    memset(out, 0, sizeof(*out));
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    /* ')' ends field 2; each space before a non-space starts the next. */
    for (field = 2, p++; *p != '\0' && field < 14; p++)
        if (*p == ' ' && p[1] != ' ')
            field++;
    if (sscanf(p, "%llu %llu", &utime, &stime) != 2)
        return -1;
    out->cpu_ticks = utime + stime;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(buf, sizeof(buf), f) != NULL) {
        unsigned long long kb;
        if (sscanf(buf, "VmRSS: %llu kB", &kb) == 1) {
            out->rss_kb = kb;
            break;
        }
    }
    fclose(f);
    out->ok = true;
    return 0;
}
