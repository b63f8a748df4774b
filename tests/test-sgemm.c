/*
** tests/test-sgemm.c: base/sgemm.c (tpu_sgemm) on every path this CPU can run
** (avx512, avx2, portable) against a naive double-precision loop: all four
** transpose combinations, alpha/beta in {0, 1, other}, leading dimensions
** wider than the matrix (the gap must stay untouched), ragged sizes 1..67,
** shapes crossing every block boundary, K = 4096, NaN in C with beta = 0,
** and bit-identical results for the same inputs at other addresses.
**
** Tolerance (a bound, not a guess): each C element is float sums of K
** products, cut into ceil(K/KC) blocks, then scaled by alpha and added to
** beta*C. Every float operation rounds with relative error <= u = 2^-24, so
** by the standard summation bound |computed - exact| <= gamma_n * (|alpha| *
** sum_k |a_ik b_kj| + |beta c_ij|) with n = K + 2*ceil(K/KC) + 3 roundings
** on any path and gamma_n = n*u/(1-n*u) (< 1.01*n*u here). The reference
** is double (error ~1e-16 relative, negligible). A wrong index, a missed
** edge or a dropped block gives errors of order |a||b|, far above it.
*/
#include "base/sgemm.h"
#include "testlib.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state = 88172645463325252ull;
static float rnd(void)   /* uniform in [-1, 1), xorshift64 */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 40) / (double)(1u << 23) - 1.0);
}
static int rnd_int(int lo, int hi) { return lo + (int)((rnd() + 1.0f) * 0.5f * (float)(hi - lo + 1)) % (hi - lo + 1); }

struct prob {
    int ta, tb, M, N, K, lda, ldb, ldc;
    float alpha, beta;
};

static float *rnd_matrix(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; p && i < n; i++) p[i] = rnd();
    return p;
}

/* Runs p on the current path and checks every element against the double
** loop; C's gap columns (ldc > N) must keep their sentinel. 0 ok, 1 failed. */
static int check_prob(const struct prob *p, int nan_c, char *why, size_t why_n)
{
    int ar = p->ta ? p->K : p->M, ac = p->ta ? p->M : p->K;
    int br = p->tb ? p->N : p->K, bc = p->tb ? p->K : p->N;
    float *A = rnd_matrix((size_t)ar * p->lda), *B = rnd_matrix((size_t)br * p->ldb);
    float *C = rnd_matrix((size_t)p->M * p->ldc), *C0 = malloc(((size_t)p->M * p->ldc + 1) * sizeof *C0);
    int rc = 1;
    (void)ac, (void)bc;
    if (!A || !B || !C || !C0) {
        snprintf(why, why_n, "out of memory");
        goto out;
    }
    for (int i = 0; i < p->M; i++)
        for (int j = 0; j < p->ldc; j++)
            if (j >= p->N) C[(size_t)i * p->ldc + j] = 12345.0f;   /* sentinel in the gap */
            else if (nan_c) C[(size_t)i * p->ldc + j] = NAN;
    memcpy(C0, C, (size_t)p->M * p->ldc * sizeof *C);
    tpu_sgemm(p->ta, p->tb, p->M, p->N, p->K, p->alpha, A, p->lda, B, p->ldb, p->beta, C, p->ldc);
    int n_round = p->K + 2 * ((p->K + TPU_SGEMM_KC - 1) / TPU_SGEMM_KC) + 3;
    double gamma = 1.01 * n_round * ldexp(1.0, -24);
    for (int i = 0; i < p->M; i++)
        for (int j = 0; j < p->ldc; j++) {
            double got = C[(size_t)i * p->ldc + j], old = C0[(size_t)i * p->ldc + j];
            if (j >= p->N) {
                if (got != 12345.0f) {
                    snprintf(why, why_n, "gap C[%d][%d] overwritten (%g)", i, j, got);
                    goto out;
                }
                continue;
            }
            double s = 0, s_abs = 0;
            for (int k = 0; k < p->K; k++) {
                double a = p->ta ? A[(size_t)k * p->lda + i] : A[(size_t)i * p->lda + k];
                double b = p->tb ? B[(size_t)j * p->ldb + k] : B[(size_t)k * p->ldb + j];
                s += a * b;
                s_abs += fabs(a * b);
            }
            double want = p->alpha * s + (p->beta != 0 ? p->beta * old : 0);
            double tol = gamma * (fabs(p->alpha) * s_abs + (p->beta != 0 ? fabs(p->beta * old) : 0)) + 1e-30;
            if (!(fabs(got - want) <= tol)) {
                snprintf(why, why_n, "C[%d][%d] = %.9g, want %.9g (tol %.3g)", i, j, got, want, tol);
                goto out;
            }
        }
    rc = 0;
out:
    free(A), free(B), free(C), free(C0);
    return rc;
}

#define CHECK_PROB(p, nan_c) do {                                                   \
        char why_[256];                                                               \
        TEST_CHECK(!check_prob(&(p), (nan_c), why_, sizeof why_),                       \
                   "%s ta=%d tb=%d M=%d N=%d K=%d lda=%d ldb=%d ldc=%d a=%g b=%g: %s", \
                   tpu_sgemm_impl_name(), (p).ta, (p).tb, (p).M, (p).N, (p).K,      \
                   (p).lda, (p).ldb, (p).ldc, (p).alpha, (p).beta, why_);             \
    } while (0)

static struct prob make_prob(int ta, int tb, int M, int N, int K, int pad, float alpha, float beta)
{
    struct prob p = { ta, tb, M, N, K, 0, 0, N + pad, alpha, beta };
    p.lda = (ta ? M : K) + pad;
    p.ldb = (tb ? K : N) + pad;
    return p;
}

/* Runs fn on each path; paths this CPU lacks are noted in test_why. */
static int on_every_path(int (*fn)(void))
{
    static const char *paths[] = { "avx512", "avx2", "portable" };
    int n_run = 0;
    char skipped[64] = "";
    for (int i = 0; i < 3; i++) {
        if (tpu_sgemm_force_impl(paths[i]) != 0) {
            strcat(skipped, " ");
            strcat(skipped, paths[i]);
            continue;
        }
        int rc = fn();
        tpu_sgemm_force_impl(NULL);
        if (rc) return rc;
        n_run++;
    }
    if (skipped[0]) printf("# sgemm paths this CPU cannot run:%s\n", skipped);
    return n_run ? 0 : 1;
}

static int ragged_one(void)
{
    static const float vals[] = { 0.0f, 1.0f, -0.75f, 2.5f };
    for (int t = 0; t < 120; t++) {
        struct prob p = make_prob(rnd_int(0, 1), rnd_int(0, 1), rnd_int(1, 67), rnd_int(1, 67),
                                  rnd_int(1, 67), rnd_int(0, 3), vals[rnd_int(1, 3)], vals[rnd_int(0, 3)]);
        CHECK_PROB(p, 0);
    }
    return 0;
}
static int test_ragged(void) { return on_every_path(ragged_one); }

/* Sizes crossing MR/NR edges and the MB (A block), NB (B block), KC blocks. */
static int blocks_one(void)
{
    static const int shapes[][3] = { { 1020, 37, 400 }, { 29, 1601, 390 }, { 64, 49, 1152 },
                                     { 15, 33, 769 }, { 1, 1000, 512 }, { 300, 1, 70 },
                                     { 3, 77, 800 }, { 2, 5, 1000 } };
    for (int s = 0; s < 8; s++)
        for (int t = 0; t < 4; t++) {
            struct prob p = make_prob(t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2],
                                      t == 3 ? 5 : 0, t == 2 ? -1.5f : 1.0f, t == 1 ? 0.5f : 0.0f);
            CHECK_PROB(p, 0);
        }
    return 0;
}
static int test_blocks(void) { return on_every_path(blocks_one); }

static int big_k_one(void)
{
    for (int t = 0; t < 4; t++) {
        struct prob p = make_prob(t & 1, t >> 1, 37, 45, 4096, 1, 1.0f, t == 0 ? 0.0f : 1.0f);
        CHECK_PROB(p, 0);
    }
    return 0;
}
static int test_big_k(void) { return on_every_path(big_k_one); }

/* beta == 0 must not read C: NaN there must not reach the result. Covers the
** blocked path, the direct (tiny) path, K == 0 and alpha == 0. */
static int nan_one(void)
{
    static const int shapes[][3] = { { 50, 70, 400 }, { 3, 4, 5 }, { 17, 33, 0 } };
    for (int s = 0; s < 3; s++)
        for (int t = 0; t < 4; t++) {
            struct prob p = make_prob(t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], 2,
                                      t == 2 ? 0.0f : 1.25f, 0.0f);
            CHECK_PROB(p, 1);
        }
    return 0;
}
static int test_nan_beta0(void) { return on_every_path(nan_one); }

/* Same inputs at other addresses (other alignment) -> bit-identical C. */
static int determinism_one(void)
{
    int M = 77, N = 91, K = 800;
    float *A = rnd_matrix((size_t)M * K + 3), *B = rnd_matrix((size_t)K * N + 3);
    float *C1 = calloc((size_t)M * N + 3, sizeof *C1), *C2 = calloc((size_t)M * N + 3, sizeof *C2);
    int ok = A && B && C1 && C2;
    if (ok) {
        tpu_sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C1, N);
        memmove(A + 3, A, (size_t)M * K * sizeof *A);
        memmove(B + 1, B, (size_t)K * N * sizeof *B);
        tpu_sgemm(0, 0, M, N, K, 1.0f, A + 3, K, B + 1, N, 0.0f, C2 + 2, N);
        ok = memcmp(C1, C2 + 2, (size_t)M * N * sizeof *C1) == 0;
    }
    free(A), free(B), free(C1), free(C2);
    TEST_CHECK(ok, "%s: results differ between two calls on the same inputs", tpu_sgemm_impl_name());
    return 0;
}
static int test_determinism(void) { return on_every_path(determinism_one); }

/* alpha == 0: A and B are not read (NaN there must not appear); C = beta*C. */
static int test_alpha0(void)
{
    float A[6] = { NAN, NAN, NAN, NAN, NAN, NAN }, B[6] = { NAN, 1, 2, 3, 4, 5 };
    float C[4] = { 1, 2, 3, 4 };
    tpu_sgemm(0, 0, 2, 2, 3, 0.0f, A, 3, B, 2, 2.0f, C, 2);
    TEST_CHECK(C[0] == 2 && C[1] == 4 && C[2] == 6 && C[3] == 8, "C = %g %g %g %g", C[0], C[1], C[2], C[3]);
    tpu_sgemm(0, 0, 0, 2, 3, 1.0f, A, 3, B, 2, 2.0f, C, 2);   /* M == 0: nothing */
    TEST_CHECK(C[0] == 2, "M == 0 wrote C");
    return 0;
}

static int test_impl_name(void)
{
    const char *best = tpu_sgemm_impl_name();
    TEST_CHECK(!strcmp(best, "avx512") || !strcmp(best, "avx2") || !strcmp(best, "portable"), "%s", best);
    tpu_sgemm_force_portable(1);
    TEST_CHECK(!strcmp(tpu_sgemm_impl_name(), "portable"), "%s", tpu_sgemm_impl_name());
    tpu_sgemm_force_portable(0);
    TEST_CHECK(!strcmp(tpu_sgemm_impl_name(), best), "%s", tpu_sgemm_impl_name());
    TEST_CHECK(tpu_sgemm_force_impl("sse9") == -1, "unknown path accepted");
    TEST_CHECK(!strcmp(tpu_sgemm_impl_name(), best), "%s", tpu_sgemm_impl_name());
    int has512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    TEST_CHECK((tpu_sgemm_force_impl("avx512") == 0) == has512, "avx512 availability");
    tpu_sgemm_force_impl(NULL);
    printf("# sgemm best path on this CPU: %s\n", best);
    return 0;
}

/* tpu_sgemm_implicit_b with a pack callback reading stored B_b matrices:
** each C_b bit-identical to tpu_sgemm on B_b (shapes above the direct-loop
** size), C_b's gap columns untouched, every panel fully written (the
** callback's destination is pre-poisoned with NaN by this test). */
struct stored_b { const float *B; int ldb; size_t b_stride; int N; };
static int pack_too_wide;   /* a pack call was given more than TPU_SGEMM_PACK_MAX_N columns */
#define TEST_ASSERT_SOFT(c) do { if (!(c)) pack_too_wide = 1; } while (0)

static void pack_stored(const void *ctx, int b, int pc, int kc, int j0, int cols, int nr, ptrdiff_t ps,
                        float *dst)
{
    const struct stored_b *s = ctx;
    int n_panel = (cols + nr - 1) / nr;
    TEST_ASSERT_SOFT(cols <= TPU_SGEMM_PACK_MAX_N);
    TEST_ASSERT_SOFT(ps >= (ptrdiff_t)kc * nr && ps % 16 == 0);
    for (size_t i = 0; i < (size_t)n_panel * ps; i++) dst[i] = NAN;
    for (int p = 0; p < n_panel; p++)
        for (int k = 0; k < kc; k++)
            for (int j = 0; j < nr; j++) {
                int col = p * nr + j;
                dst[(size_t)p * ps + (size_t)k * nr + j] =
                    col < cols ? s->B[b * s->b_stride + (size_t)(pc + k) * s->ldb + j0 + col] : 0.0f;
            }
}

static int implicit_one(void)
{
    static const int shapes[][4] = {   /* M, N, K, batches */
        { 19, 77, 45, 2 }, { 64, 200, 400, 1 }, { 5, 33, 800, 3 }, { 30, 1025, 17, 2 }, { 4, 9, 130, 1 },
    };
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int M = shapes[t][0], N = shapes[t][1], K = shapes[t][2], nb = shapes[t][3], ldc = N + 3;
        size_t b_stride = (size_t)K * N, c_stride = (size_t)M * ldc;
        float *A = rnd_matrix((size_t)M * K), *B = rnd_matrix(b_stride * nb);
        float *C = rnd_matrix(c_stride * nb), *W = malloc(c_stride * nb * sizeof *W);
        TEST_CHECK(A && B && C && W, "out of memory");
        memcpy(W, C, c_stride * nb * sizeof *W);
        struct stored_b s = { B, N, b_stride, N };
        int rc = tpu_sgemm_implicit_b(M, N, K, 1.0f, A, K, pack_stored, &s, NULL, 1.0f, C, ldc, nb,
                                      (ptrdiff_t)c_stride);
        for (int b = 0; b < nb; b++)
            tpu_sgemm(0, 0, M, N, K, 1.0f, A, K, B + b * b_stride, N, 1.0f, W + b * c_stride, ldc);
        int same = !memcmp(C, W, c_stride * nb * sizeof *C);
        /* with a bias: C's rows filled with it and beta 1, C's old values (NaN) unread */
        float *bias = rnd_matrix((size_t)M);
        TEST_CHECK(bias, "out of memory");
        for (size_t i = 0; i < c_stride * nb; i++) C[i] = (i % ldc) < (size_t)N ? NAN : 7.0f;
        for (int b = 0; b < nb; b++)
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) W[b * c_stride + (size_t)i * ldc + j] = bias[i];
        for (int b = 0; b < nb; b++)
            tpu_sgemm(0, 0, M, N, K, 1.0f, A, K, B + b * b_stride, N, 1.0f, W + b * c_stride, ldc);
        int rc2 = tpu_sgemm_implicit_b(M, N, K, 1.0f, A, K, pack_stored, &s, bias, 0.0f, C, ldc, nb,
                                       (ptrdiff_t)c_stride);
        int same_bias = 1;
        for (size_t i = 0; i < c_stride * nb; i++)
            if ((i % ldc) < (size_t)N ? memcmp(&C[i], &W[i], sizeof *C) != 0 : C[i] != 7.0f) same_bias = 0;
        free(bias);
        free(A), free(B), free(C), free(W);
        TEST_CHECK(rc == 0, "%s: implicit returned %d", tpu_sgemm_impl_name(), rc);
        TEST_CHECK(!pack_too_wide, "%s: pack given more than %d columns", tpu_sgemm_impl_name(), TPU_SGEMM_PACK_MAX_N);
        TEST_CHECK(same, "%s: M=%d N=%d K=%d batches=%d: implicit differs from tpu_sgemm",
                   tpu_sgemm_impl_name(), M, N, K, nb);
        TEST_CHECK(rc2 == 0 && same_bias, "%s: M=%d N=%d K=%d batches=%d: implicit with bias differs",
                   tpu_sgemm_impl_name(), M, N, K, nb);
    }
    return 0;
}
static int test_implicit(void) { return on_every_path(implicit_one); }

static const struct test_case cases[] = {
    { "sgemm-impl-name", test_impl_name },
    { "sgemm-ragged-1..67", test_ragged },
    { "sgemm-blocks-trans", test_blocks },
    { "sgemm-big-k-4096", test_big_k },
    { "sgemm-nan-c-beta0", test_nan_beta0 },
    { "sgemm-alpha0", test_alpha0 },
    { "sgemm-deterministic", test_determinism },
    { "sgemm-implicit-b", test_implicit },
};
TEST_MAIN(cases)
