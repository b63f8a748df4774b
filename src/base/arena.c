/*
** base/arena.c: a growing arena of chained blocks. The graph owns one; every
** IR object (nodes, tensor descriptors, names, attribute arrays) comes from it
** and dies with tpu_arena_free(). Running out is TPU_ERR_NOMEM, never an abort.
*/
#include "tpu_impl.h"
#include <string.h>

#define ARENA_BLOCK_BYTES ((size_t)64 << 10)

struct tpu_arena_block {
    struct tpu_arena_block *next;
    size_t                  used, cap;    /* bytes of data[]                */
    _Alignas(16) unsigned char data[];
};

void tpu_arena_init(struct tpu_arena *a, struct tpu_ctx *ctx)
{
    a->ctx = ctx;
    a->head = NULL;
    a->n_bytes = 0;
}

void tpu_arena_free(struct tpu_arena *a)
{
    if (!a) return;
    struct tpu_arena_block *b = a->head;
    while (b) {
        struct tpu_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->n_bytes = 0;
}

void *tpu_arena_alloc(struct tpu_arena *a, size_t n_bytes)
{
    void *p = tpu_arena_alloc_raw(a, n_bytes);
    if (p) memset(p, 0, n_bytes);
    return p;
}

/* For bytes the caller writes at once (a weight copy): no zeroing pass. */
void *tpu_arena_alloc_raw(struct tpu_arena *a, size_t n_bytes)
{
    size_t need = (n_bytes + 15) & ~(size_t)15;
    if (need < n_bytes) { tpu_err(a->ctx, TPU_ERR_NOMEM, "arena request overflows"); return NULL; }
    struct tpu_arena_block *b = a->head;
    if (!b || b->cap - b->used < need) {
        size_t cap = need > ARENA_BLOCK_BYTES ? need : ARENA_BLOCK_BYTES;
        if (cap > tpu_alloc_limit(a->ctx)) {
            tpu_err(a->ctx, TPU_ERR_NOMEM, "arena request of %zu bytes over the limit", n_bytes);
            return NULL;
        }
        b = tpu_malloc(a->ctx, sizeof *b + cap);
        if (!b) return NULL;
        if (cap > ARENA_BLOCK_BYTES) tpu_prefault(b->data, cap);   /* a weight copy, written next */
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->n_bytes += need;
    return p;
}

char *tpu_arena_strdup(struct tpu_arena *a, const char *s)
{
    if (!s) s = "";
    size_t n = strlen(s) + 1;
    char *p = tpu_arena_alloc(a, n);
    if (p) memcpy(p, s, n);
    return p;
}
