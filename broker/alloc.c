/*
 * alloc.c - allocation wrappers that abort on exhaustion and count calls.
 */
#include "alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t alloc_calls;

static void
out_of_memory(size_t n)
{
    fprintf(stderr, "warren: out of memory allocating %zu bytes\n", n);
    abort();
}

void *
wrn_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        out_of_memory(n);
    alloc_calls++;
    return p;
}

void *
wrn_xcalloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (p == NULL)
        out_of_memory(count * n);
    alloc_calls++;
    return p;
}

void *
wrn_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        out_of_memory(n);
    alloc_calls++;
    return q;
}

char *
wrn_xstrndup(const void *s, size_t n)
{
    char *p = wrn_xmalloc(n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void
wrn_free(void *p)
{
    free(p);
}

uint64_t
wrn_alloc_count(void)
{
    return alloc_calls;
}
