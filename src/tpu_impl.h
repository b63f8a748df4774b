/*
** tpu_impl.h: the small internal header every stage shares — the context
** struct, TPU_ASSERT, the growing arena, the one allocation hook and the error
** helpers. Stage-specific declarations live in each stage's own header.
*/
#ifndef TPU_IMPL_H
#define TPU_IMPL_H

#include "tpusim.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Always on, in every build: guards invariants tpusim itself established.
** Never for anything a user's file or command line can cause. */
#define TPU_ASSERT(x) \
    do { if (!(x)) tpu_assert_fail(__FILE__, __LINE__, #x); } while (0)
void tpu_assert_fail(const char *file, int line, const char *expr);

/* Largest single buffer tpusim allocates (bytes). Sizes from files are checked
** against it before any allocation, so a 2^40-element tensor is an error. */
#define TPU_MAX_ALLOC_BYTES ((size_t)16 << 30)
/* The limit in force for ctx: TPU_MAX_ALLOC_BYTES unless tpu_set_alloc_limit
** lowered it (the fuzzer does, to stay inside its memory budget). */
size_t tpu_alloc_limit(const struct tpu_ctx *ctx);

struct tpu_ctx {
    enum tpu_status status;         /* of the last failing call            */
    char            errmsg[2048];   /* message of the last error           */
    int64_t         err_offset;     /* byte offset in the file, or -1      */
    long            alloc_fail_at;  /* fail the n-th allocation; 0 = never */
    long            n_allocs;       /* allocations since injection was set */
    size_t          max_alloc_bytes;/* 0: TPU_MAX_ALLOC_BYTES              */
};

/*---- Allocation: one hook, so tests can inject failures ----*/
/* Returns NULL on failure (after recording TPU_ERR_NOMEM in ctx when ctx is
** not NULL) and for sizes over TPU_MAX_ALLOC_BYTES. Memory from tpu_malloc is
** released with free(). */
void *tpu_malloc(struct tpu_ctx *ctx, size_t n_bytes);
void *tpu_calloc(struct tpu_ctx *ctx, size_t n, size_t size);
void *tpu_realloc(struct tpu_ctx *ctx, void *p, size_t n_bytes);
/* For a block the caller is about to write whole (a node's output, a weight
** copy): fresh pages mapped in one system call instead of one fault each
** (a hint, for blocks of 1 MiB and more; nothing else changes). */
void  tpu_prefault(void *p, size_t n_bytes);
void *tpu_malloc_hot(struct tpu_ctx *ctx, size_t n_bytes);
void *tpu_calloc_hot(struct tpu_ctx *ctx, size_t n, size_t size);
/* a*b with overflow check; returns 0 and sets *out on success, -1 on overflow. */
int   tpu_mul_size(size_t a, size_t b, size_t *out);

/*---- Errors ----*/
/* Records the message and returns rc, so callers write `return tpu_err(...)`.
** The message is formatted like printf. The first error wins until cleared. */
enum tpu_status tpu_err(struct tpu_ctx *ctx, enum tpu_status rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum tpu_status tpu_err_at(struct tpu_ctx *ctx, enum tpu_status rc, int64_t offset,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void tpu_err_clear(struct tpu_ctx *ctx);

/*---- Arena: chained blocks, freed together ----*/
struct tpu_arena_block;
struct tpu_arena {
    struct tpu_ctx         *ctx;        /* for the allocation hook and errors */
    struct tpu_arena_block *head;       /* newest block first                 */
    size_t                  n_bytes;    /* total handed out                   */
};
void  tpu_arena_init(struct tpu_arena *a, struct tpu_ctx *ctx);
void  tpu_arena_free(struct tpu_arena *a);                  /* frees all blocks */
void *tpu_arena_alloc(struct tpu_arena *a, size_t n_bytes); /* zeroed; NULL+NOMEM */
void *tpu_arena_alloc_raw(struct tpu_arena *a, size_t n_bytes); /* the same, not zeroed */
char *tpu_arena_strdup(struct tpu_arena *a, const char *s); /* NULL → ""        */

/*---- Half-precision conversion (base/half.c) ----*/
float    tpu_f16_to_f32(uint16_t h);
uint16_t tpu_f32_to_f16(float f);       /* round to nearest even            */
float    tpu_bf16_to_f32(uint16_t h);
uint16_t tpu_f32_to_bf16(float f);      /* round to nearest even; NaN kept  */

/* base/cpu.c: may the host-side loops use AVX-512 (F) / AVX-512 VBMI (+BW)?
** Asked once; TPUSIM_SIMD=portable or tpu_cpu_force_portable(1) says no, so
** that tests run the SSE2 / C paths (the same bits) on any machine. on = 0
** asks the CPU again. */
int  tpu_cpu_avx512(void);
int  tpu_cpu_avx512_vbmi(void);
void tpu_cpu_force_portable(int on);

/* Plain-C elementwise loops the compiler vectorises: on x86-64 with GCC also
** built for AVX-512 and picked at load time (ifunc). The same IEEE operations
** in every version (no FMA contraction in ISO C mode), so the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define VEC_CLONES __attribute__((target_clones("avx512f", "default")))
#else
#define VEC_CLONES
#endif

#endif /* TPU_IMPL_H */
