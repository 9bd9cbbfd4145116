/*
 * warren_perf.c - warren-perf, a PerfTest-style AMQP 0-9-1 load generator:
 * options, the topology it declares (and deletes), the run's phases, the
 * broker's CPU and memory, and the one machine-readable RESULT line. The
 * hot path is in perf_run.c and perf_conn.c; the ceiling sink in perf_sink.c.
 */
#include "perf.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include "table.h"

#define SETUP_SECONDS 60.0
#define CLOSE_SECONDS 10.0
#define BATCH_CONNECTIONS 200

static void
usage(FILE *f)
{
    fputs(
        "usage: warren-perf [options]\n"
        "  -h URI            amqp://user:pass@host:port/vhost (default amqp://guest:guest@127.0.0.1:5672)\n"
        "  -x N              producers (1)            -y N   consumers (1, or one per queue)\n"
        "  -s BYTES          body size (16)           -z S   run for S seconds\n"
        "  -r RATE           msg/s per producer (0 = unlimited)\n"
        "  -C N              messages per producer, then wait until all are consumed\n"
        "  -c N              publisher confirms, at most N unconfirmed per producer\n"
        "  -q N              prefetch (basic.qos)     -a     autoack\n"
        "  -f                persistent messages, durable queues and exchange\n"
        "  -t TYPE           exchange type: direct (default), fanout, topic\n"
        "  -e NAME           exchange name            -u NAME queue name\n"
        "  --queues N        N queues bound to the exchange, one consumer each\n"
        "  --queue-args K=V,...  queue arguments; integer values are sent as integers\n"
        "  --priorities N    publish with priority 0..N-1 in turn\n"
        "  --reject-ratio F  consumers basic.reject (requeue=false) a fraction F\n"
        "  --dlq NAME        declare the x-dead-letter-exchange from --queue-args (fanout)\n"
        "                    and queue NAME bound to it, with its own consumer\n"
        "  --bindings N      N extra bindings that never match (routing-table size)\n"
        "  --backlog N       publish N messages with no consumer, then drain them\n"
        "  --connections N   open N idle connections (one channel each) and hold them -z s\n"
        "  --broker-pid PID  sample the broker's CPU time and RSS from /proc\n"
        "  --keep            leave the queues and exchanges in place at the end\n"
        "  --timeout S       limit for count, backlog and connection runs (120)\n"
        "  --stall S         no traffic for S seconds while waiting = error (5)\n"
        "  --label TEXT      echoed in the RESULT line   --quiet  no progress lines\n"
        "  --sink PORT       be a sink broker on 127.0.0.1:PORT instead (0: any free port)\n"
        "Progress goes to stderr; the last line on stdout is RESULT {json}.\n",
        f);
}

/* ---- options -------------------------------------------------------------- */

static int
hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Copy [s, s+n) into out (of PERF_NAME_MAX) with %XX decoded. Returns 0 or -1. */
static int
pct_decode(const char *s, size_t n, char *out)
{
    size_t i, k = 0;

    for (i = 0; i < n; i++) {
        int ch = (unsigned char)s[i];
        if (ch == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (k + 1 >= PERF_NAME_MAX)
            return -1;
        out[k++] = (char)ch;
    }
    out[k] = '\0';
    return 0;
}

/*
 * amqp://[user[:pass]@]host[:port][/vhost]. No path means vhost "/", an
 * empty path means vhost "" (the AMQP URI rules); %2f spells "/".
 */
static int
parse_uri(struct perf_opts *o, const char *uri)
{
    const char *p, *slash, *at, *hp, *colon, *hend;

    if (strncmp(uri, "amqp://", 7) != 0)
        return -1;
    p = uri + 7;
    slash = strchr(p, '/');
    hend = slash ? slash : p + strlen(p);
    at = NULL;
    for (const char *q = p; q < hend; q++)
        if (*q == '@')
            at = q;
    hp = p;
    if (at != NULL) {
        colon = memchr(p, ':', (size_t)(at - p));
        if (pct_decode(p, (size_t)((colon ? colon : at) - p), o->user) < 0)
            return -1;
        if (colon != NULL && pct_decode(colon + 1, (size_t)(at - colon - 1), o->pass) < 0)
            return -1;
        hp = at + 1;
    }
    if (*hp == '[') {
        const char *rb = memchr(hp, ']', (size_t)(hend - hp));
        if (rb == NULL || (size_t)(rb - hp - 1) >= PERF_NAME_MAX)
            return -1;
        memcpy(o->host, hp + 1, (size_t)(rb - hp - 1));
        o->host[rb - hp - 1] = '\0';
        colon = rb + 1 < hend && rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(hp, ':', (size_t)(hend - hp));
        if (pct_decode(hp, (size_t)((colon ? colon : hend) - hp), o->host) < 0)
            return -1;
    }
    if (colon != NULL) {
        char *endp;
        long port = strtol(colon + 1, &endp, 10);
        if (endp != hend || port <= 0 || port > 65535)
            return -1;
        o->port = (int)port;
    }
    if (o->host[0] == '\0')
        strcpy(o->host, "127.0.0.1");
    if (slash != NULL)
        return pct_decode(slash + 1, strlen(slash + 1), o->vhost);
    strcpy(o->vhost, "/");
    return 0;
}

/* "k=v,k2=v2": a value that is a whole decimal integer is sent as 'l'. */
static int
parse_queue_args(struct perf_opts *o, const char *s)
{
    char buf[4096], *save = NULL, *item;

    if (strlen(s) >= sizeof(buf))
        return -1;
    strcpy(buf, s);
    for (item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        struct perf_kv *kv;
        char *eq = strchr(item, '='), *endp;

        if (eq == NULL || o->nqargs == (int)(sizeof(o->qargs) / sizeof(o->qargs[0])))
            return -1;
        *eq = '\0';
        kv = &o->qargs[o->nqargs++];
        if (strlen(item) >= PERF_NAME_MAX || strlen(eq + 1) >= PERF_NAME_MAX)
            return -1;
        strcpy(kv->key, item);
        strcpy(kv->val, eq + 1);
        errno = 0;
        kv->ival = strtoll(kv->val, &endp, 10);
        kv->is_int = kv->val[0] != '\0' && *endp == '\0' && errno == 0;
    }
    return 0;
}

static const char *
qarg(const struct perf_opts *o, const char *key)
{
    int i;

    for (i = 0; i < o->nqargs; i++)
        if (strcmp(o->qargs[i].key, key) == 0)
            return o->qargs[i].val;
    return NULL;
}

static int
num_arg(const char *s, double lo, double hi, double *out)
{
    char *endp;
    double v;

    errno = 0;
    v = strtod(s, &endp);
    if (errno != 0 || endp == s || *endp != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

enum {
    OPT_QUEUES = 256,
    OPT_QUEUE_ARGS,
    OPT_PRIORITIES,
    OPT_REJECT_RATIO,
    OPT_BACKLOG,
    OPT_CONNECTIONS,
    OPT_BROKER_PID,
    OPT_DLQ,
    OPT_BINDINGS,
    OPT_KEEP,
    OPT_TIMEOUT,
    OPT_STALL,
    OPT_SINK,
    OPT_LABEL,
    OPT_QUIET,
    OPT_HELP,
};

static const struct option long_opts[] = {
    {"uri", required_argument, NULL, 'h'},
    {"producers", required_argument, NULL, 'x'},
    {"consumers", required_argument, NULL, 'y'},
    {"size", required_argument, NULL, 's'},
    {"time", required_argument, NULL, 'z'},
    {"rate", required_argument, NULL, 'r'},
    {"pmessages", required_argument, NULL, 'C'},
    {"confirm", required_argument, NULL, 'c'},
    {"qos", required_argument, NULL, 'q'},
    {"autoack", no_argument, NULL, 'a'},
    {"persistent", no_argument, NULL, 'f'},
    {"type", required_argument, NULL, 't'},
    {"exchange", required_argument, NULL, 'e'},
    {"queue", required_argument, NULL, 'u'},
    {"queues", required_argument, NULL, OPT_QUEUES},
    {"queue-args", required_argument, NULL, OPT_QUEUE_ARGS},
    {"priorities", required_argument, NULL, OPT_PRIORITIES},
    {"reject-ratio", required_argument, NULL, OPT_REJECT_RATIO},
    {"backlog", required_argument, NULL, OPT_BACKLOG},
    {"connections", required_argument, NULL, OPT_CONNECTIONS},
    {"broker-pid", required_argument, NULL, OPT_BROKER_PID},
    {"dlq", required_argument, NULL, OPT_DLQ},
    {"bindings", required_argument, NULL, OPT_BINDINGS},
    {"keep", no_argument, NULL, OPT_KEEP},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"stall", required_argument, NULL, OPT_STALL},
    {"sink", required_argument, NULL, OPT_SINK},
    {"label", required_argument, NULL, OPT_LABEL},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int
copy_name(char *dst, const char *src)
{
    if (strlen(src) >= PERF_NAME_MAX)
        return -1;
    strcpy(dst, src);
    return 0;
}

/* Fill o from argv. Returns 0, 1 for --help, -1 (message printed) on a bad option. */
static int
parse_args(struct perf_opts *o, int argc, char **argv)
{
    double v;
    int ch, li = 0;

    memset(o, 0, sizeof(*o));
    strcpy(o->user, "guest");
    strcpy(o->pass, "guest");
    strcpy(o->host, "127.0.0.1");
    strcpy(o->vhost, "/");
    strcpy(o->exchange_type, "direct");
    o->port = 5672;
    o->producers = 1;
    o->consumers = -1;
    o->size = 16;
    o->queues = 1;
    o->timeout = 120;
    o->stall = 5;
    o->sink_port = -1;
    o->exchange[0] = '\x01'; /* "not given": -e "" means the default exchange */

    while ((ch = getopt_long(argc, argv, "h:x:y:s:z:r:C:c:q:aft:e:u:", long_opts, &li)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'h':
            bad = parse_uri(o, optarg);
            break;
        case 'x':
            bad = num_arg(optarg, 0, 10000, &v);
            o->producers = (int)v;
            break;
        case 'y':
            bad = num_arg(optarg, 0, 10000, &v);
            o->consumers = (int)v;
            break;
        case 's':
            bad = num_arg(optarg, 0, 256e6, &v);
            o->size = (uint32_t)v;
            break;
        case 'z':
            bad = num_arg(optarg, 0.01, 1e6, &o->seconds);
            break;
        case 'r':
            bad = num_arg(optarg, 0, 1e9, &o->rate);
            break;
        case 'C':
            bad = num_arg(optarg, 0, 1e15, &v);
            o->count = (uint64_t)v;
            break;
        case 'c':
            bad = num_arg(optarg, 0, 1 << 20, &v);
            o->confirm = (uint32_t)v;
            break;
        case 'q':
            bad = num_arg(optarg, 0, 65535, &v);
            o->prefetch = (uint16_t)v;
            break;
        case 'a':
            o->autoack = true;
            break;
        case 'f':
            o->persistent = true;
            break;
        case 't':
            bad = strlen(optarg) >= sizeof(o->exchange_type) ? -1 : 0;
            if (!bad)
                strcpy(o->exchange_type, optarg);
            break;
        case 'e':
            bad = copy_name(o->exchange, optarg);
            break;
        case 'u':
            bad = copy_name(o->queue, optarg);
            break;
        case OPT_QUEUES:
            bad = num_arg(optarg, 1, PERF_MAX_QUEUES, &v);
            o->queues = (int)v;
            break;
        case OPT_QUEUE_ARGS:
            bad = parse_queue_args(o, optarg);
            break;
        case OPT_PRIORITIES:
            bad = num_arg(optarg, 1, 255, &v);
            o->priorities = (int)v;
            break;
        case OPT_REJECT_RATIO:
            bad = num_arg(optarg, 0, 1, &o->reject_ratio);
            break;
        case OPT_BACKLOG:
            bad = num_arg(optarg, 1, 1e12, &v);
            o->backlog = (uint64_t)v;
            break;
        case OPT_CONNECTIONS:
            bad = num_arg(optarg, 1, 1e6, &v);
            o->connections = (int)v;
            break;
        case OPT_BROKER_PID:
            bad = num_arg(optarg, 1, 1e9, &v);
            o->broker_pid = (pid_t)v;
            break;
        case OPT_DLQ:
            bad = copy_name(o->dlq, optarg);
            break;
        case OPT_BINDINGS:
            bad = num_arg(optarg, 0, 1e7, &v);
            o->bindings = (int)v;
            break;
        case OPT_KEEP:
            o->keep = true;
            break;
        case OPT_TIMEOUT:
            bad = num_arg(optarg, 0.1, 1e6, &o->timeout);
            break;
        case OPT_STALL:
            bad = num_arg(optarg, 0.1, 1e6, &o->stall);
            break;
        case OPT_SINK:
            bad = num_arg(optarg, 0, 65535, &v);
            o->sink_port = (int)v;
            break;
        case OPT_LABEL:
            bad = strlen(optarg) >= sizeof(o->label) || strpbrk(optarg, "\"\\") != NULL ? -1 : 0;
            if (!bad)
                strcpy(o->label, optarg);
            break;
        case OPT_QUIET:
            o->quiet = true;
            break;
        case OPT_HELP:
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
        if (bad) {
            if (ch < 256)
                fprintf(stderr, "warren-perf: bad value '%s' for -%c\n", optarg, ch);
            else
                fprintf(stderr, "warren-perf: bad value '%s' for --%s\n", optarg, long_opts[li].name);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "warren-perf: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }

    if (strcmp(o->exchange_type, "direct") != 0 && strcmp(o->exchange_type, "fanout") != 0 &&
        strcmp(o->exchange_type, "topic") != 0) {
        fprintf(stderr, "warren-perf: -t must be direct, fanout or topic\n");
        return -1;
    }
    if (o->consumers < 0)
        o->consumers = o->queues > 1 ? o->queues : 1;
    if (o->consumers > 0 && o->consumers < o->queues) {
        fprintf(stderr, "warren-perf: %d queues need at least as many consumers (-y)\n", o->queues);
        return -1;
    }
    if (o->reject_ratio > 0 && o->autoack) {
        fprintf(stderr, "warren-perf: --reject-ratio needs manual acks (no -a)\n");
        return -1;
    }
    if (o->dlq[0] != '\0' && qarg(o, "x-dead-letter-exchange") == NULL) {
        fprintf(stderr, "warren-perf: --dlq needs x-dead-letter-exchange in --queue-args\n");
        return -1;
    }
    if (o->backlog > 0 && o->producers == 0) {
        fprintf(stderr, "warren-perf: --backlog needs a producer\n");
        return -1;
    }
    if (o->exchange[0] == '\0' && o->queues > 1) {
        fprintf(stderr, "warren-perf: the default exchange (-e '') routes to one queue only\n");
        return -1;
    }
    /* A sink serves until stopped unless -z says otherwise. */
    if (o->seconds == 0 && o->count == 0 && o->backlog == 0 && o->connections == 0 &&
        o->sink_port < 0)
        o->seconds = 10;
    return 0;
}

static int
resolve(struct perf_opts *o)
{
    struct addrinfo hints, *res;
    char port[16];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", o->port);
    rc = getaddrinfo(o->host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "warren-perf: %s: %s\n", o->host, gai_strerror(rc));
        return -1;
    }
    memcpy(&o->addr, res->ai_addr, res->ai_addrlen);
    o->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Idle connections need one descriptor each: raise the soft limit to the hard one. */
static rlim_t
raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

/* ---- JSON ----------------------------------------------------------------- */

struct jbuf {
    char s[8192];
    size_t len;
};

static void __attribute__((format(printf, 2, 3)))
jput(struct jbuf *j, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (j->len >= sizeof(j->s))
        return;
    va_start(ap, fmt);
    n = vsnprintf(j->s + j->len, sizeof(j->s) - j->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        j->len += (size_t)n;
}

/* A JSON string: the few characters that need it escaped, controls dropped. */
static void
jstr(struct jbuf *j, const char *s)
{
    jput(j, "\"");
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            jput(j, "\\%c", *s);
        else if ((unsigned char)*s >= 0x20)
            jput(j, "%c", *s);
    }
    jput(j, "\"");
}

static double
rate(uint64_t n, double seconds)
{
    return seconds > 0 ? (double)n / seconds : 0;
}

static void
jlatency(struct jbuf *j, const char *key, const struct perf_hist *h)
{
    if (h->count == 0) {
        jput(j, ",\"%s\":null", key);
        return;
    }
    jput(j, ",\"%s\":{\"count\":%llu,\"p50\":%.1f,\"p95\":%.1f,\"p99\":%.1f,\"max\":%.1f}", key,
         (unsigned long long)h->count, (double)perf_hist_percentile(h, 0.50) / 1e3,
         (double)perf_hist_percentile(h, 0.95) / 1e3, (double)perf_hist_percentile(h, 0.99) / 1e3,
         (double)h->max / 1e3);
}

static void
jcommon(struct jbuf *j, const struct perf_opts *o, const struct perf_run *r)
{
    jput(j, "{\"ok\":%s,\"error\":", r->error[0] ? "false" : "true");
    if (r->error[0])
        jstr(j, r->error);
    else
        jput(j, "null");
    jput(j, ",\"label\":");
    jstr(j, o->label);
    jput(j, ",\"broker\":");
    {
        char hp[PERF_NAME_MAX + 16];
        snprintf(hp, sizeof(hp), "%s:%d", o->host, o->port);
        jstr(j, hp);
    }
}

static void
jbroker(struct jbuf *j, const struct perf_opts *o, const struct perf_proc *b0,
        const struct perf_proc *b1, double seconds, uint64_t rss_peak)
{
    if (o->broker_pid <= 0)
        return;
    jput(j, ",\"broker_pid\":%d", (int)o->broker_pid);
    if (!b0->ok || !b1->ok || seconds <= 0) {
        jput(j, ",\"broker_cpu_pct\":null,\"broker_rss_kb\":null");
        return;
    }
    jput(j, ",\"broker_cpu_pct\":%.1f,\"broker_rss_kb\":%llu,\"broker_rss_peak_kb\":%llu",
         100.0 * (double)(b1->cpu_ticks - b0->cpu_ticks) / (double)perf_proc_ticks_per_second() /
             seconds,
         (unsigned long long)b1->rss_kb,
         (unsigned long long)(rss_peak > b1->rss_kb ? rss_peak : b1->rss_kb));
}

/* ---- connection-count mode ------------------------------------------------ */

/*
 * Open o->connections idle connections (each with channel 1 open) in
 * batches, every handshake step run for the whole batch before the next,
 * and stop at the first batch in which one fails (the broker's limit).
 * Hold them o->seconds, sample the broker, close them all.
 */
static int
connections_mode(struct perf_opts *o, struct perf_run *r)
{
    struct perf_conn **cs = calloc((size_t)o->connections, sizeof(*cs));
    struct perf_proc before = {0}, after = {0}, b0 = {0};
    uint64_t t_start = perf_now(), deadline_all = t_start + (uint64_t)(o->timeout * 1e9);
    char stop_reason[512] = "";
    struct jbuf j = {.len = 0};
    rlim_t limit = raise_fd_limit();
    int opened = 0, made = 0, i, step;
    double open_s, hold = o->seconds > 0 ? o->seconds : 1.0;

    if (cs == NULL)
        return 1;
    if ((rlim_t)o->connections + 16 > limit)
        fprintf(stderr, "warren-perf: the descriptor limit is %llu; fewer than %d can open\n",
                (unsigned long long)limit, o->connections);
    if (o->broker_pid > 0) {
        perf_proc_sample(o->broker_pid, &before);
        b0 = before;
    }
    while (made < o->connections && stop_reason[0] == '\0') {
        int n = o->connections - made < BATCH_CONNECTIONS ? o->connections - made : BATCH_CONNECTIONS;
        uint64_t deadline = perf_now() + 10000000000u;

        if (deadline > deadline_all)
            deadline = deadline_all;
        for (i = made; i < made + n; i++) {
            cs[i] = perf_conn_new(PERF_IDLE, i, PERF_IDLE_FRAME_MAX, 0, 512);
            if (cs[i] == NULL) {
                snprintf(stop_reason, sizeof(stop_reason), "out of memory");
                n = i - made;
                break;
            }
        }
        for (step = 0; step < PERF_HANDSHAKE_STEPS; step++)
            for (i = made; i < made + n; i++)
                if (!cs[i]->dead)
                    perf_conn_handshake_step(r, cs[i], step, deadline);
        for (i = made; i < made + n; i++)
            if (!cs[i]->dead)
                opened++;
        made += n;
        if (r->error[0] != '\0') {
            snprintf(stop_reason, sizeof(stop_reason), "%s", r->error);
            r->error[0] = '\0';
        }
        if (!o->quiet && (made % 2000 == 0 || made == o->connections || stop_reason[0]))
            fprintf(stderr, "warren-perf: %d of %d connections open\n", opened, o->connections);
        if (perf_now() >= deadline_all && made < o->connections && stop_reason[0] == '\0')
            snprintf(stop_reason, sizeof(stop_reason), "--timeout reached");
    }
    open_s = (double)(perf_now() - t_start) / 1e9;
    if (!o->quiet)
        fprintf(stderr, "warren-perf: holding %d connections for %.1f s%s%s\n", opened, hold,
                stop_reason[0] ? "; stopped opening: " : "", stop_reason);
    usleep((useconds_t)(hold * 1e6));
    if (o->broker_pid > 0)
        perf_proc_sample(o->broker_pid, &after);
    perf_conn_close_all(r, cs, made, perf_now() + (uint64_t)(CLOSE_SECONDS * 1e9));
    for (i = 0; i < made; i++)
        perf_conn_free(cs[i]);
    free(cs);

    jcommon(&j, o, r);
    jput(&j, ",\"mode\":\"connections\",\"requested\":%d,\"opened\":%d,\"open_seconds\":%.2f",
         o->connections, opened, open_s);
    jput(&j, ",\"stopped_by\":");
    if (stop_reason[0])
        jstr(&j, stop_reason);
    else
        jput(&j, "null");
    if (o->broker_pid > 0 && before.ok && after.ok) {
        double per = opened > 0 ? ((double)after.rss_kb - (double)before.rss_kb) / opened : 0;
        jput(&j, ",\"broker_rss_kb_before\":%llu,\"broker_rss_kb_after\":%llu,"
                 "\"broker_kb_per_connection\":%.1f",
             (unsigned long long)before.rss_kb, (unsigned long long)after.rss_kb, per);
    }
    jbroker(&j, o, &b0, &after, open_s + hold, 0);
    jput(&j, "}");
    printf("RESULT %s\n", j.s);
    fflush(stdout);
    return opened > 0 ? 0 : 1;
}

/* ---- topology ------------------------------------------------------------- */

static struct wrn_slice
queue_args_table(const struct perf_opts *o, uint8_t *buf, size_t cap)
{
    struct wrn_wbuf w;
    size_t t;
    int i;

    wrn_wbuf_init(&w, buf, cap);
    t = wrn_table_begin(&w);
    for (i = 0; i < o->nqargs; i++) {
        if (o->qargs[i].is_int)
            wrn_table_put_long(&w, o->qargs[i].key, o->qargs[i].ival);
        else
            wrn_table_put_longstr(&w, o->qargs[i].key, wrn_slice_str(o->qargs[i].val));
    }
    wrn_table_end(&w, t);
    return (struct wrn_slice){buf + 4, (uint32_t)(w.len - 4)};
}

static bool
predeclared(const char *exchange)
{
    return exchange[0] == '\0' || strncmp(exchange, "amq.", 4) == 0;
}

static int
declare_exchange(struct perf_run *r, const char *name, const char *type, uint64_t deadline)
{
    struct wrn_method m;

    memset(&m, 0, sizeof(m));
    m.id = WRN_EXCHANGE_DECLARE;
    m.a.exchange_declare.exchange = wrn_slice_str(name);
    m.a.exchange_declare.type = wrn_slice_str(type);
    m.a.exchange_declare.durable = r->o->persistent;
    return perf_conn_rpc(r, r->control, &m, WRN_EXCHANGE_DECLARE_OK, deadline);
}

static int
declare_queue(struct perf_run *r, const char *name, struct wrn_slice args, uint64_t deadline)
{
    struct wrn_method m;

    memset(&m, 0, sizeof(m));
    m.id = WRN_QUEUE_DECLARE;
    m.a.queue_declare.queue = wrn_slice_str(name);
    m.a.queue_declare.durable = r->o->persistent;
    m.a.queue_declare.arguments = args;
    return perf_conn_rpc(r, r->control, &m, WRN_QUEUE_DECLARE_OK, deadline);
}

/* queue.declare passive: a round trip that also reads the queue's depth. */
static int
queue_passive(struct perf_run *r, const char *name, uint64_t deadline)
{
    struct wrn_method m;

    memset(&m, 0, sizeof(m));
    m.id = WRN_QUEUE_DECLARE;
    m.a.queue_declare.queue = wrn_slice_str(name);
    m.a.queue_declare.passive = true;
    return perf_conn_rpc(r, r->control, &m, WRN_QUEUE_DECLARE_OK, deadline);
}

static int
bind_queue(struct perf_run *r, const char *queue, const char *exchange, const char *key, bool nowait,
           uint64_t deadline)
{
    struct wrn_method m;

    memset(&m, 0, sizeof(m));
    m.id = WRN_QUEUE_BIND;
    m.a.queue_bind.queue = wrn_slice_str(queue);
    m.a.queue_bind.exchange = wrn_slice_str(exchange);
    m.a.queue_bind.routing_key = wrn_slice_str(key);
    m.a.queue_bind.nowait = nowait;
    if (nowait) {
        perf_conn_put_method(r->control, &m);
        return 0;
    }
    return perf_conn_rpc(r, r->control, &m, WRN_QUEUE_BIND_OK, deadline);
}

/*
 * --bindings: keys that share words with the real routing key but never
 * match it, so a topic trie or a direct hash grows without changing where
 * the messages go. Sent with nowait, then one declare as a barrier.
 */
static int
extra_bindings(struct perf_run *r, uint64_t deadline)
{
    const struct perf_opts *o = r->o;
    bool topic = strcmp(o->exchange_type, "topic") == 0;
    char key[64];
    int i;

    for (i = 0; i < o->bindings; i++) {
        if (!topic)
            snprintf(key, sizeof(key), "warren-perf.k%d", i);
        else if (i % 4 == 0)
            snprintf(key, sizeof(key), "warren-perf.k%d", i);
        else if (i % 4 == 1)
            snprintf(key, sizeof(key), "b%d.#", i);
        else if (i % 4 == 2)
            snprintf(key, sizeof(key), "*.k%d.#", i);
        else
            snprintf(key, sizeof(key), "b%d.*.c", i);
        bind_queue(r, r->queue_names[0], o->exchange, key, true, deadline);
        if (r->control->wlen > 65536 && perf_conn_flush_wait(r, r->control, deadline) < 0)
            return -1;
    }
    return queue_passive(r, r->queue_names[0], deadline);
}

static int
setup_topology(struct perf_run *r, uint64_t deadline)
{
    struct perf_opts *o = r->o;
    uint8_t argbuf[8192];
    struct wrn_slice args = queue_args_table(o, argbuf, sizeof(argbuf));
    const char *bind_key;
    int i;

    if (!predeclared(o->exchange)) {
        if (declare_exchange(r, o->exchange, o->exchange_type, deadline) < 0)
            return -1;
        r->exchange_declared = true;
    }
    for (i = 0; i < r->nqueues; i++) {
        if (declare_queue(r, r->queue_names[i], args, deadline) < 0)
            return -1;
        r->queues_declared = i + 1;
    }
    if (o->exchange[0] != '\0') {
        bind_key = strcmp(o->exchange_type, "topic") == 0 ? "warren-perf.*" : r->routing_key;
        for (i = 0; i < r->nqueues; i++)
            if (bind_queue(r, r->queue_names[i], o->exchange, bind_key, false, deadline) < 0)
                return -1;
        if (o->bindings > 0 && extra_bindings(r, deadline) < 0)
            return -1;
    }
    if (o->dlq[0] != '\0') {
        const char *dlx = qarg(o, "x-dead-letter-exchange");
        snprintf(r->dlx, sizeof(r->dlx), "%s", dlx);
        if (!predeclared(dlx)) {
            if (declare_exchange(r, dlx, "fanout", deadline) < 0)
                return -1;
            r->dlx_declared = true;
        }
        if (declare_queue(r, o->dlq, (struct wrn_slice){NULL, 0}, deadline) < 0)
            return -1;
        r->dlq_declared = true;
        if (dlx[0] != '\0' && bind_queue(r, o->dlq, dlx, "", false, deadline) < 0)
            return -1;
    }
    return 0;
}

/*
 * Delete what setup_topology declared, on a fresh control connection if the
 * first one died (a channel error is a common reason to get here).
 */
static void
teardown_topology(struct perf_run *r, double seconds)
{
    uint64_t deadline = perf_now() + (uint64_t)(seconds * 1e9);
    char saved[sizeof(r->error)];
    struct wrn_method m;
    int i;

    if (r->o->keep || (r->queues_declared == 0 && !r->exchange_declared && !r->dlq_declared))
        return;
    memcpy(saved, r->error, sizeof(saved));
    if (r->control == NULL || r->control->dead) {
        perf_conn_free(r->control);
        r->control = perf_conn_new(PERF_CONTROL, 1, PERF_FRAME_MAX, 0, 65536);
        if (r->control == NULL || perf_conn_open(r, r->control, deadline) < 0)
            goto out_restore;
    }
    for (i = 0; i < r->queues_declared + (r->dlq_declared ? 1 : 0); i++) {
        memset(&m, 0, sizeof(m));
        m.id = WRN_QUEUE_DELETE;
        m.a.queue_delete.queue = wrn_slice_str(i < r->queues_declared ? r->queue_names[i] : r->o->dlq);
        if (perf_conn_rpc(r, r->control, &m, WRN_QUEUE_DELETE_OK, deadline) < 0)
            goto out_restore;
    }
    for (i = 0; i < 2; i++) {
        if (!(i == 0 ? r->exchange_declared : r->dlx_declared))
            continue;
        memset(&m, 0, sizeof(m));
        m.id = WRN_EXCHANGE_DELETE;
        m.a.exchange_delete.exchange = wrn_slice_str(i == 0 ? r->o->exchange : r->dlx);
        if (perf_conn_rpc(r, r->control, &m, WRN_EXCHANGE_DELETE_OK, deadline) < 0)
            goto out_restore;
    }
out_restore:
    if (r->error[0] != '\0' && saved[0] == '\0')
        fprintf(stderr, "warren-perf: cleanup: %s\n", r->error);
    memcpy(r->error, saved, sizeof(saved));
}

/* ---- workers -------------------------------------------------------------- */

static struct perf_conn *
add_conn(struct perf_run *r, enum perf_role role, int index, size_t rcap, size_t wcap)
{
    struct perf_conn *c = perf_conn_new(role, index, PERF_FRAME_MAX, rcap, wcap);

    if (c == NULL) {
        perf_fail(r, "out of memory");
        return NULL;
    }
    r->conns[r->nconns++] = c;
    return c;
}

static int
start_consuming(struct perf_run *r, struct perf_conn *c, uint64_t deadline)
{
    struct wrn_method m;
    char tag[64];

    snprintf(tag, sizeof(tag), "warren-perf-%d", c->index);
    memset(&m, 0, sizeof(m));
    m.id = WRN_BASIC_CONSUME;
    m.a.basic_consume.queue =
        wrn_slice_str(c->role == PERF_DLQ_CONSUMER ? r->o->dlq : r->queue_names[c->queue]);
    m.a.basic_consume.consumer_tag = wrn_slice_str(tag);
    m.a.basic_consume.no_ack = r->o->autoack;
    if (perf_conn_rpc(r, c, &m, WRN_BASIC_CONSUME_OK, deadline) < 0)
        return -1;
    c->consuming = true;
    return 0;
}

/*
 * Open every producer (confirm.select with -c) and consumer (basic.qos,
 * and basic.consume unless a backlog comes first), then encode the message
 * with the frame_max the broker granted.
 */
static int
open_workers(struct perf_run *r, uint64_t deadline)
{
    struct perf_opts *o = r->o;
    struct wrn_method m;
    uint32_t frame_max = PERF_FRAME_MAX;
    int i, ncons = o->consumers + (o->dlq[0] != '\0' && o->consumers > 0 ? 1 : 0);

    r->conns = calloc((size_t)(o->producers + ncons), sizeof(*r->conns));
    if (r->conns == NULL)
        return -1;
    for (i = 0; i < o->producers; i++) {
        struct perf_conn *c = add_conn(r, PERF_PRODUCER, i, 65536, PERF_WBUF);
        if (c == NULL || perf_conn_open(r, c, deadline) < 0)
            return -1;
        frame_max = c->frame_max;
        if (o->backlog > 0)
            c->target = o->backlog / (uint64_t)o->producers + (i == 0 ? o->backlog % (uint64_t)o->producers : 0);
        else
            c->target = o->count;
        if (o->confirm > 0) {
            uint64_t ring = 1;
            while (ring < o->confirm)
                ring <<= 1;
            c->settled = calloc(ring, 1);
            c->ring_mask = ring - 1;
            if (c->settled == NULL)
                return -1;
            memset(&m, 0, sizeof(m));
            m.id = WRN_CONFIRM_SELECT;
            if (perf_conn_rpc(r, c, &m, WRN_CONFIRM_SELECT_OK, deadline) < 0)
                return -1;
        }
    }
    for (i = 0; i < ncons; i++) {
        bool dlq = i == o->consumers;
        struct perf_conn *c = add_conn(r, dlq ? PERF_DLQ_CONSUMER : PERF_CONSUMER, i, PERF_RBUF, 65536);
        if (c == NULL || perf_conn_open(r, c, deadline) < 0)
            return -1;
        c->queue = dlq ? 0 : i % r->nqueues;
        if (o->prefetch > 0 && !o->autoack) {
            memset(&m, 0, sizeof(m));
            m.id = WRN_BASIC_QOS;
            m.a.basic_qos.prefetch_count = o->prefetch;
            if (perf_conn_rpc(r, c, &m, WRN_BASIC_QOS_OK, deadline) < 0)
                return -1;
        }
        if (o->backlog == 0 && start_consuming(r, c, deadline) < 0)
            return -1;
    }
    if (perf_message_build(r, frame_max) < 0) {
        perf_fail(r, "cannot encode a %u-byte message", o->size);
        return -1;
    }
    for (i = 0; i < r->nconns; i++) {
        struct perf_conn *c = r->conns[i];
        if (c->role == PERF_PRODUCER && c->wcap < r->msg_len) {
            uint8_t *p = realloc(c->wbuf, r->msg_len);
            if (p == NULL)
                return -1;
            c->wbuf = p;
            c->wcap = r->msg_len;
        }
    }
    return 0;
}

/*
 * Without confirms the publish phase of a backlog ends when the broker says
 * every queue holds the backlog (queue.declare passive), polled until the
 * count stops moving for --stall seconds.
 */
static int
wait_for_depth(struct perf_run *r, uint64_t want)
{
    uint64_t last_change = perf_now(), deadline = perf_now() + (uint64_t)(r->o->timeout * 1e9);
    uint32_t last = 0;
    int i;

    for (i = 0; i < r->nqueues; i++) {
        for (;;) {
            if (queue_passive(r, r->queue_names[i], deadline) < 0)
                return -1;
            if (r->control->reply_message_count >= want)
                break;
            if (r->control->reply_message_count != last) {
                last = r->control->reply_message_count;
                last_change = perf_now();
            } else if (perf_now() - last_change > (uint64_t)(r->o->stall * 1e9)) {
                perf_fail(r, "queue %s holds %u of %llu messages and is not growing",
                          r->queue_names[i], last, (unsigned long long)want);
                return -1;
            }
            usleep(20000);
        }
    }
    return 0;
}

/* ---- main ----------------------------------------------------------------- */

/* This process's CPU time (user + system) in seconds. */
static double
self_cpu(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int
main(int argc, char **argv)
{
    static struct perf_opts o;
    static struct perf_run r;
    struct perf_proc b0 = {0}, b1 = {0}, full = {0};
    struct perf_totals t;
    struct perf_phase ph;
    struct jbuf j = {.len = 0};
    double elapsed = 0, pub_s = 0, drain_s = 0, close_s, cpu0 = 0, cpu1 = 0;
    uint64_t setup_deadline;
    int rc, i;

    signal(SIGPIPE, SIG_IGN);
    rc = parse_args(&o, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (o.sink_port >= 0)
        return perf_sink_main(&o);
    if (resolve(&o) < 0)
        return 2;
    r.o = &o;
    r.t_setup = perf_now();
    if (o.connections > 0)
        return connections_mode(&o, &r);
    raise_fd_limit();

    /* Names: the pid keeps two runs on one broker apart. */
    if (o.exchange[0] == '\x01')
        snprintf(o.exchange, sizeof(o.exchange), "warren-perf-%d-%s", (int)getpid(), o.exchange_type);
    r.nqueues = o.queues;
    for (i = 0; i < o.queues; i++) {
        if (o.queue[0] != '\0' && o.queues == 1)
            snprintf(r.queue_names[i], PERF_NAME_MAX, "%s", o.queue);
        else if (o.queue[0] != '\0')
            snprintf(r.queue_names[i], PERF_NAME_MAX, "%.200s-%d", o.queue, i);
        else if (o.queues == 1)
            snprintf(r.queue_names[i], PERF_NAME_MAX, "warren-perf-%d", (int)getpid());
        else
            snprintf(r.queue_names[i], PERF_NAME_MAX, "warren-perf-%d-%d", (int)getpid(), i);
    }
    if (o.exchange[0] == '\0')
        snprintf(r.routing_key, sizeof(r.routing_key), "%s", r.queue_names[0]);
    else if (strcmp(o.exchange_type, "topic") == 0)
        strcpy(r.routing_key, "warren-perf.key");
    else
        strcpy(r.routing_key, "warren-perf");

    setup_deadline = perf_now() + (uint64_t)(SETUP_SECONDS * 1e9);
    r.control = perf_conn_new(PERF_CONTROL, 0, PERF_FRAME_MAX, 0, 65536);
    if (r.control == NULL || perf_conn_open(&r, r.control, setup_deadline) < 0 ||
        setup_topology(&r, setup_deadline) < 0 || open_workers(&r, setup_deadline) < 0)
        goto out_cleanup;

    if (o.broker_pid > 0)
        perf_proc_sample(o.broker_pid, &b0);
    cpu0 = self_cpu();
    r.t0 = perf_now();
    memset(&ph, 0, sizeof(ph));
    if (o.backlog == 0) {
        ph.name = "run";
        ph.producers = true;
        ph.wait_consumers = true;
        ph.until_done = o.count > 0;
        ph.deadline_is_ok = o.seconds > 0;
        ph.deadline = r.t0 + (uint64_t)((o.seconds > 0 ? o.seconds : o.timeout) * 1e9);
        perf_loop(&r, &ph);
        elapsed = (double)(perf_now() - r.t0) / 1e9;
    } else {
        ph.name = "publish";
        ph.producers = true;
        ph.until_done = true;
        ph.deadline = r.t0 + (uint64_t)(o.timeout * 1e9);
        if (perf_loop(&r, &ph) < 0 || (o.confirm == 0 && wait_for_depth(&r, o.backlog) < 0))
            goto out_measure;
        pub_s = (double)(perf_now() - r.t0) / 1e9;
        if (o.broker_pid > 0)
            perf_proc_sample(o.broker_pid, &full);
        if (!o.quiet)
            fprintf(stderr, "warren-perf: %llu messages published in %.2f s; draining\n",
                    (unsigned long long)o.backlog, pub_s);
        r.t0 = perf_now();
        for (i = 0; i < r.nconns; i++)
            if (r.conns[i]->role != PERF_PRODUCER &&
                start_consuming(&r, r.conns[i], r.t0 + (uint64_t)(SETUP_SECONDS * 1e9)) < 0)
                goto out_measure;
        if (r.nconns > o.producers) {
            ph.name = "drain";
            ph.producers = false;
            ph.wait_consumers = true;
            ph.deadline = r.t0 + (uint64_t)(o.timeout * 1e9);
            perf_loop(&r, &ph);
            drain_s = (double)(perf_now() - r.t0) / 1e9;
        }
        elapsed = pub_s + drain_s;
    }

out_measure:
    cpu1 = self_cpu();
    if (o.broker_pid > 0)
        perf_proc_sample(o.broker_pid, &b1);
out_cleanup:
    perf_totals(&r, &t);
    /* A broker that already failed us gets less time to say goodbye. */
    close_s = r.error[0] != '\0' ? 2.0 : CLOSE_SECONDS;
    perf_conn_close_all(&r, r.conns, r.nconns, perf_now() + (uint64_t)(close_s * 1e9));
    teardown_topology(&r, close_s);
    if (r.control != NULL)
        perf_conn_close_all(&r, &r.control, 1, perf_now() + (uint64_t)(close_s * 1e9));

    jcommon(&j, &o, &r);
    jput(&j, ",\"mode\":\"%s\",\"producers\":%d,\"consumers\":%d,\"queues\":%d,\"size\":%u",
         o.backlog ? "backlog" : "run", o.producers, o.consumers, o.queues, o.size);
    jput(&j, ",\"exchange_type\":\"%s\",\"confirm\":%u,\"prefetch\":%u,\"autoack\":%s,"
             "\"persistent\":%s,\"rate_limit\":%.0f,\"seconds\":%.3f",
         o.exchange_type, o.confirm, o.prefetch, o.autoack ? "true" : "false",
         o.persistent ? "true" : "false", o.rate, elapsed);
    if (o.backlog == 0) {
        jput(&j, ",\"published\":%llu,\"published_rate\":%.0f,\"confirmed\":%llu,"
                 "\"confirmed_rate\":%.0f,\"nacked\":%llu,\"returned\":%llu,\"consumed\":%llu,"
                 "\"consumed_rate\":%.0f",
             (unsigned long long)t.published, rate(t.published, elapsed),
             (unsigned long long)t.confirmed, rate(t.confirmed, elapsed),
             (unsigned long long)t.nacked, (unsigned long long)t.returned,
             (unsigned long long)t.consumed, rate(t.consumed, elapsed));
    } else {
        jput(&j, ",\"published\":%llu,\"published_rate\":%.0f,\"confirmed\":%llu,"
                 "\"confirmed_rate\":%.0f,\"nacked\":%llu,\"returned\":%llu,\"consumed\":%llu,"
                 "\"consumed_rate\":%.0f,\"publish_seconds\":%.3f,\"drain_seconds\":%.3f",
             (unsigned long long)t.published, rate(t.published, pub_s),
             (unsigned long long)t.confirmed, rate(t.confirmed, pub_s),
             (unsigned long long)t.nacked, (unsigned long long)t.returned,
             (unsigned long long)t.consumed, rate(t.consumed, drain_s), pub_s, drain_s);
        if (full.ok)
            jput(&j, ",\"broker_rss_kb_full\":%llu", (unsigned long long)full.rss_kb);
    }
    if (o.reject_ratio > 0 || o.dlq[0] != '\0')
        jput(&j, ",\"rejected\":%llu,\"dlq_consumed\":%llu,\"dlq_rate\":%.0f",
             (unsigned long long)t.rejected, (unsigned long long)t.dlq_consumed,
             rate(t.dlq_consumed, o.backlog ? drain_s : elapsed));
    jlatency(&j, "latency_us", &r.hist);
    if (o.dlq[0] != '\0')
        jlatency(&j, "dlq_latency_us", &r.dlq_hist);
    /* How close warren-perf itself came to being the bottleneck. */
    jput(&j, ",\"tool_cpu_s\":%.3f,\"tool_cpu_pct\":%.1f", cpu1 - cpu0,
         elapsed > 0 ? 100.0 * (cpu1 - cpu0) / elapsed : 0);
    jbroker(&j, &o, &b0, &b1, elapsed, r.rss_peak_kb);
    jput(&j, "}");

    if (!o.quiet) {
        if (r.error[0])
            fprintf(stderr, "warren-perf: FAILED: %s\n", r.error);
        fprintf(stderr,
                "warren-perf: %.2f s  published %llu (%.0f/s)  confirmed %llu  consumed %llu "
                "(%.0f/s)  p50 %.0f us  p99 %.0f us\n",
                elapsed, (unsigned long long)t.published,
                rate(t.published, o.backlog ? pub_s : elapsed), (unsigned long long)t.confirmed,
                (unsigned long long)t.consumed, rate(t.consumed, o.backlog ? drain_s : elapsed),
                (double)perf_hist_percentile(&r.hist, 0.5) / 1e3,
                (double)perf_hist_percentile(&r.hist, 0.99) / 1e3);
    }
    printf("RESULT %s\n", j.s);
    fflush(stdout);

    for (i = 0; i < r.nconns; i++)
        perf_conn_free(r.conns[i]);
    free(r.conns);
    perf_conn_free(r.control);
    free(r.msg);
    return r.error[0] ? 1 : 0;
}
