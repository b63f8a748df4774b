/*
** sim/sim_dma.c: the host link — RD_HOST (Read_Host_Memory) and WR_HOST
** (Write_Host_Memory) move bytes between the host buffer and the unified
** buffer at host_link_gb_per_s, one transfer at a time, in order.
**
** In:  decoded RD_HOST / WR_HOST (sim/sim_exec.c), the caller's host buffer.
** Out: UB or host bytes (or the caller's s->host_link moves them), s->start /
**      s->done, host-link counters.
*/
#include "sim/sim.h"
#include <math.h>
#include <string.h>

int sim_host_dma(struct tpu_sim *s, const struct tpu_insn *in, int to_host)
{
    const struct tpu_chip *c = s->chip;
    if (!sim_range_ok(in->b, in->c, (uint64_t)c->unified_buffer_bytes))
        return sim_fault(s, TPU_FAULT_UB_RANGE, "UB bytes [%u, %llu) beyond %lld", in->b,
                         (unsigned long long)in->b + in->c, (long long)c->unified_buffer_bytes);
    if (!sim_range_ok(in->a, in->c, s->host_bytes))
        return sim_fault(s, TPU_FAULT_HOST_RANGE, "host bytes [%u, %llu) beyond the %llu-byte host "
                         "buffer", in->a, (unsigned long long)in->a + in->c,
                         (unsigned long long)s->host_bytes);
    int linked = !s->timing_only && s->host_link &&
                 s->host_link(s->host_link_user, to_host, in->a, s->ub + in->b, in->c);
    if (!linked && !s->timing_only && s->host) {
        if (to_host) memcpy(s->host + in->a, s->ub + in->b, in->c);
        else memcpy(s->ub + in->b, s->host + in->a, in->c);
    }
    int64_t start = sim_max(s->issue, s->unit_free[TPU_UNIT_HOST]);
    int64_t busy = (int64_t)ceil(in->c / tpu_chip_host_bytes_per_cycle(c) - 1e-9);
    s->unit_free[TPU_UNIT_HOST] = start + busy;
    s->start = start;
    s->done = start + busy;
    if (to_host) { s->ctr.host_bytes_out += in->c; s->ctr.ub_bytes_read += in->c; }
    else {
        s->ctr.host_bytes_in += in->c;
        s->ctr.ub_bytes_written += in->c;
        s->host_rd_done = s->done;
    }
    return 0;
}
