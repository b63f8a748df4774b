/*
** bench/chip_bench.c: speed of the chip simulator in timing-only mode, and the
** cycle counts it reports, on (1) the 256x2048x2048 GEMM of the acceptance
** targets and (2) ResNet-50's 54 conv/FC layers (batch 1, 224x224,
** torchvision v1.5 shapes), each layer lowered and simulated with its
** activations resident in the unified buffer (no host DMA per layer).
** Built and run by bench/chip-bench.sh; results go to BENCHMARKS.md.
** Wall-clock time is measured here only; it never enters a result.
*/
#include "compile/compile.h"
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static struct tpu_mm_desc conv(const char *name, int64_t cin, int64_t hw, int64_t cout, int64_t k,
                               int64_t s)
{
    struct tpu_mm_desc d;
    memset(&d, 0, sizeof d);
    snprintf(d.name, sizeof d.name, "%s", name);
    snprintf(d.op, sizeof d.op, "Conv");
    d.is_conv = 1; d.groups = 1; d.batch = 1; d.c_in = cin; d.h = d.w = hw; d.c_out = cout;
    d.kh = d.kw = k; d.sh = d.sw = s; d.dh = d.dw = 1; d.pt = d.pl = k / 2;
    d.oh = d.ow = (hw + 2 * (k / 2) - k) / s + 1;
    d.M = d.oh * d.ow; d.K = cin * k * k; d.N = cout;
    d.resident = 1;
    return d;
}

static int resnet50(struct tpu_mm_desc *L)
{
    int n = 0;
    char nm[64];
    L[n++] = conv("conv1", 3, 224, 64, 7, 2);
    static const int blocks[4] = { 3, 4, 6, 3 }, mid[4] = { 64, 128, 256, 512 }, hw_in[4] = { 56, 56, 28, 14 };
    int64_t cin = 64;
    for (int s = 0; s < 4; s++) {
        int64_t m = mid[s], out = 4 * m, hw = hw_in[s];
        for (int b = 0; b < blocks[s]; b++) {
            int stride = (b == 0 && s > 0) ? 2 : 1;
            snprintf(nm, sizeof nm, "layer%d.%d.conv1", s + 1, b);
            L[n++] = conv(nm, b ? out : cin, hw, m, 1, 1);
            snprintf(nm, sizeof nm, "layer%d.%d.conv2", s + 1, b);
            L[n++] = conv(nm, m, hw, m, 3, stride);
            int64_t hw2 = (hw + 2 - 3) / stride + 1;
            snprintf(nm, sizeof nm, "layer%d.%d.conv3", s + 1, b);
            L[n++] = conv(nm, m, hw2, out, 1, 1);
            if (b == 0) {
                snprintf(nm, sizeof nm, "layer%d.0.downsample", s + 1);
                L[n++] = conv(nm, cin, hw, out, 1, stride);
            }
            hw = hw2;
        }
        cin = out;
    }
    L[n] = conv("fc", 2048, 1, 1000, 1, 1);
    snprintf(L[n].op, sizeof L[n].op, "Gemm");
    L[n].is_conv = 0;
    n++;
    return n;
}

/* Lowers and simulates layers timing-only; returns cycles, fills macs and ms. */
static int64_t run_layers(struct tpu_ctx *ctx, const struct tpu_chip *c, const struct tpu_mm_desc *L,
                          int n, int64_t *macs, double *ms)
{
    double t0 = now_ms();
    struct tpu_sim *s = tpu_sim_new(ctx, c, 1);
    *macs = 0;
    for (int i = 0; i < n; i++) {
        struct tpu_lowered l;
        if (tpu_lower_mm(ctx, c, &L[i], NULL, &l) || tpu_sim_run(s, l.prog, NULL, l.host_bytes)) {
            fprintf(stderr, "%s: %s\n", L[i].name, tpu_errmsg(ctx));
            exit(2);
        }
        *macs += L[i].groups * L[i].M * L[i].K * L[i].N;
        tpu_lowered_free(&l);
    }
    int64_t cyc = s->ctr.cycles;
    tpu_sim_free(s);
    *ms = now_ms() - t0;
    return cyc;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_mm_desc gemm;
    memset(&gemm, 0, sizeof gemm);
    snprintf(gemm.name, sizeof gemm.name, "gemm");
    snprintf(gemm.op, sizeof gemm.op, "Gemm");
    gemm.groups = 1; gemm.M = 256; gemm.K = 2048; gemm.N = 2048; gemm.resident = 1;
    static struct tpu_mm_desc L[64];
    int n = resnet50(L);
    printf("| chip | workload | layers | cycles | us at clock | GMACs | TOPS | sim ms (best of %d) |\n", reps);
    printf("|---|---|---|---|---|---|---|---|\n");
    static const char *chips[] = { "tpu-v1", "tpu-v4", "tpu-v5e" };
    for (int ci = 0; ci < 3; ci++) {
        struct tpu_chip *c = NULL;
        if (tpu_chip_load(ctx, chips[ci], &c)) { fprintf(stderr, "%s\n", tpu_errmsg(ctx)); return 2; }
        for (int w = 0; w < 2; w++) {
            double best = 1e30, ms;
            int64_t macs = 0, cyc = 0;
            for (int r = 0; r < reps; r++) {
                cyc = w ? run_layers(ctx, c, L, n, &macs, &ms) : run_layers(ctx, c, &gemm, 1, &macs, &ms);
                if (ms < best) best = ms;
            }
            double us = (double)cyc / c->clock_mhz;
            printf("| %s | %s | %d | %lld | %.1f | %.3f | %.2f | %.3f |\n", chips[ci],
                   w ? "ResNet-50 conv+FC, batch 1" : "GEMM 256x2048x2048", w ? n : 1, (long long)cyc, us,
                   (double)macs / 1e9, 2.0 * (double)macs / (us * 1e-6) / 1e12, best);
        }
        tpu_chip_free(c);
    }
    tpu_free(ctx);
    return 0;
}
