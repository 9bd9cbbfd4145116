/*
 * log.h - log lines on stderr: time, level, and the connection they concern.
 */
#ifndef WRN_LOG_H
#define WRN_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

enum wrn_log_level { WRN_LOG_ERROR, WRN_LOG_WARNING, WRN_LOG_INFO, WRN_LOG_DEBUG };

void wrn_log_set_level(enum wrn_log_level level);
/* Parse "error", "warning", "info", "debug" (RabbitMQ's names); -1 if unknown. */
int wrn_log_level_parse(const char *name);
int wrn_log_enabled(enum wrn_log_level level);

/* who names the connection ("127.0.0.1:5555 -> 127.0.0.1:5672") or is NULL. */
void wrn_log(enum wrn_log_level level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define wrn_log_error(...) wrn_log(WRN_LOG_ERROR, NULL, __VA_ARGS__)
#define wrn_log_warning(...) wrn_log(WRN_LOG_WARNING, NULL, __VA_ARGS__)
#define wrn_log_info(...) wrn_log(WRN_LOG_INFO, NULL, __VA_ARGS__)
#define wrn_log_debug(...) wrn_log(WRN_LOG_DEBUG, NULL, __VA_ARGS__)

/* Assertions stay on in release builds: they are cheap and say what must hold. */
#define WRN_ASSERT(cond)                                                                           \
    ((cond) ? (void)0 : wrn_assert_fail(#cond, __FILE__, __LINE__))
void wrn_assert_fail(const char *cond, const char *file, int line) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif /* WRN_LOG_H */
