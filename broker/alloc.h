/*
 * alloc.h - Warren's allocation wrappers. Small allocations abort when memory
 * runs out (as Redis does); memory pressure is handled earlier, with limits.
 * Every call is counted so tests can prove the hot path does not allocate.
 */
#ifndef WRN_ALLOC_H
#define WRN_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void *wrn_xmalloc(size_t n);
void *wrn_xcalloc(size_t count, size_t n);
void *wrn_xrealloc(void *p, size_t n);
char *wrn_xstrndup(const void *s, size_t n);
void wrn_free(void *p);

/* Allocations made since start (malloc, calloc, realloc and strndup calls). */
uint64_t wrn_alloc_count(void);

#ifdef __cplusplus
}
#endif

#endif /* WRN_ALLOC_H */
