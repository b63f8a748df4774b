/*
** sim/sim_energy.c: energy from counters — each counter times its per-event
** cost from the chip description, plus static power times run time. It never
** re-simulates; change a pJ value and the energy changes, the cycles do not.
**
** In:  struct tpu_sim_counters (sim/sim.h), struct tpu_chip.
** Out: joules by category, seconds and average watts for the report.
*/
#include "sim/sim.h"

void tpu_sim_energy(const struct tpu_chip *c, const struct tpu_sim_counters *k,
                    struct tpu_sim_energy *out)
{
    const double pj = 1e-12;
    out->seconds = (double)k->cycles / (c->clock_mhz * 1e6);
    out->mac_j = (double)(k->useful_macs + k->unused_macs) * c->energy_mac_pj * pj;
    out->sram_j = ((double)(k->ub_bytes_read + k->acc_bytes_read) * c->energy_sram_read_pj_per_byte +
                   (double)(k->ub_bytes_written + k->acc_bytes_written) *
                       c->energy_sram_write_pj_per_byte) * pj;
    out->dram_j = (double)k->dram_bytes_read * c->energy_dram_pj_per_byte * pj;
    out->host_j = (double)(k->host_bytes_in + k->host_bytes_out) * c->energy_host_link_pj_per_byte * pj;
    out->static_j = c->static_watts * out->seconds;
    out->total_j = out->mac_j + out->sram_j + out->dram_j + out->host_j + out->static_j;
    out->average_watts = out->seconds > 0 ? out->total_j / out->seconds : c->static_watts;
}

double tpu_sim_dynamic_energy(const struct tpu_chip *c, const struct tpu_sim_counters *after,
                              const struct tpu_sim_counters *before)
{
    struct tpu_sim_counters d = { 0 };
    d.useful_macs = after->useful_macs - before->useful_macs;
    d.unused_macs = after->unused_macs - before->unused_macs;
    d.ub_bytes_read = after->ub_bytes_read - before->ub_bytes_read;
    d.ub_bytes_written = after->ub_bytes_written - before->ub_bytes_written;
    d.acc_bytes_read = after->acc_bytes_read - before->acc_bytes_read;
    d.acc_bytes_written = after->acc_bytes_written - before->acc_bytes_written;
    d.dram_bytes_read = after->dram_bytes_read - before->dram_bytes_read;
    d.host_bytes_in = after->host_bytes_in - before->host_bytes_in;
    d.host_bytes_out = after->host_bytes_out - before->host_bytes_out;
    struct tpu_sim_energy e;
    tpu_sim_energy(c, &d, &e);                   /* d.cycles 0: no static part */
    return e.total_j;
}
