/*
 * log.c - one line per event on stderr:
 *   2026-11-28 10:00:00.123 [info] <127.0.0.1:40000 -> 127.0.0.1:5672> text
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static enum wrn_log_level current_level = WRN_LOG_INFO;
static const char *level_names[] = {"error", "warning", "info", "debug"};

void
wrn_log_set_level(enum wrn_log_level level)
{
    current_level = level;
}

int
wrn_log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    if (strcmp(name, "warn") == 0)
        return WRN_LOG_WARNING;
    return -1;
}

int
wrn_log_enabled(enum wrn_log_level level)
{
    return level <= current_level;
}

void
wrn_log(enum wrn_log_level level, const char *who, const char *fmt, ...)
{
    char stamp[32], line[1024];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    int n;

    if (!wrn_log_enabled(level))
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
    n = snprintf(line, sizeof(line), "%s.%03d [%s] ", stamp, (int)(tv.tv_usec / 1000),
                 level_names[level]);
    if (who != NULL && n < (int)sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t)n, "<%s> ", who);
    if (n < (int)sizeof(line)) {
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
    }
    /* One write per line so lines from a crash handler do not interleave. */
    fprintf(stderr, "%s\n", line);
}

void
wrn_assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "warren: assertion failed: %s at %s:%d\n", cond, file, line);
    abort();
}
