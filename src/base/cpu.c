/*
** base/cpu.c: which SIMD paths the host CPU can take, asked once. The fast
** host-side loops (compile/driver.c: quantisation, transposes, unpacking)
** ask here rather than keep their own cached answer, so that one switch
** sends them all down their SSE2 / C paths: TPUSIM_SIMD=portable in the
** environment, or tpu_cpu_force_portable(1) from a test. Every path gives
** the same bits; the switch exists so that a machine with AVX-512 still
** runs (and tests) the paths a machine without it takes.
*/
#include "tpu_impl.h"

#include <string.h>

static int cpu_avx512 = -1, cpu_vbmi = -1;     /* -1: not asked yet */

static void cpu_ask(void)
{
    const char *e = getenv("TPUSIM_SIMD");
    int portable = e && !strcmp(e, "portable");
#if defined(__x86_64__) && defined(__GNUC__)
    cpu_avx512 = !portable && __builtin_cpu_supports("avx512f");
    cpu_vbmi = cpu_avx512 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi");
#else
    (void)portable;
    cpu_avx512 = cpu_vbmi = 0;
#endif
}

int tpu_cpu_avx512(void)
{
    if (cpu_avx512 < 0) cpu_ask();
    return cpu_avx512;
}

int tpu_cpu_avx512_vbmi(void)
{
    if (cpu_vbmi < 0) cpu_ask();
    return cpu_vbmi;
}

void tpu_cpu_force_portable(int on)
{
    cpu_ask();
    if (on) cpu_avx512 = cpu_vbmi = 0;
}
