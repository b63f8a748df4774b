/*
** sim/sim_config.h: the chip description — one struct filled from a
** chips/NAME.chip text file (sim/sim_config.c) and read by compile/ (tiling to the
** array and buffers) and sim/ (timing, capacities, energy).
**
** File format (chips/NAME.chip): one `key = value` per line; `#` starts a comment;
** blank lines are ignored. Keys are those of sim/sim_config.def; each carries its
** unit in its name. Numbers may be written 700, 34e9, 0x100. A missing required
** key, an unknown key, a malformed line or an out-of-range value is
** TPU_ERR_CONFIG "chips/x.chip:12: unknown key 'foo'".
*/
#ifndef TPU_SIM_CONFIG_H
#define TPU_SIM_CONFIG_H

#include "tpu_impl.h"

enum tpu_mxu_dtype { TPU_MXU_INT8 = 0, TPU_MXU_BF16 = 1 };

struct tpu_chip {
    char     name[64];
    char     path[256];                   /* the file it came from, or ""       */
    double   clock_mhz;
    int64_t  array_rows, array_cols;      /* PEs; tile = rows x cols weights   */
    int64_t  mxu_count;
    int64_t  mxu_dtype;                   /* enum tpu_mxu_dtype                */
    int64_t  unified_buffer_bytes;
    int64_t  accumulator_rows;            /* x array_cols x 4 bytes            */
    int64_t  weight_fifo_tiles;
    double   weight_memory_gb_per_s;      /* 1e9 B/s                            */
    double   host_link_gb_per_s;          /* 1e9 B/s                            */
    int64_t  pipeline_stages;
    int64_t  activation_lanes;            /* elements / cycle                   */
    int64_t  activation_latency_cycles;
    int64_t  acc_overflow_trap;
    double   energy_mac_pj;
    double   energy_sram_read_pj_per_byte, energy_sram_write_pj_per_byte;
    double   energy_dram_pj_per_byte, energy_host_link_pj_per_byte;
    double   static_watts;
    uint64_t set_mask;                    /* bit i: key i was given            */
};

/* Element size of MXU inputs / weights in bytes (1 for int8, 2 for bf16). */
int64_t tpu_chip_elem_bytes(const struct tpu_chip *c);
/* Bytes of one weight tile: array_rows x array_cols x elem. */
int64_t tpu_chip_tile_bytes(const struct tpu_chip *c);
/* Weight-memory / host-link bytes per cycle. */
double  tpu_chip_dram_bytes_per_cycle(const struct tpu_chip *c);
double  tpu_chip_host_bytes_per_cycle(const struct tpu_chip *c);
/* Parses text (already read) as if it came from `path`; all keys checked. */
enum tpu_status tpu_chip_parse(struct tpu_ctx *ctx, const char *path, const char *text,
                               struct tpu_chip *out);
/* Applies one "key=value" (origin names the source in messages, e.g. "--set"). */
enum tpu_status tpu_chip_set_kv(struct tpu_ctx *ctx, struct tpu_chip *c,
                                const char *origin, const char *kv);
/* Checks cross-field rules (accumulators hold two row blocks, ...). */
enum tpu_status tpu_chip_validate(struct tpu_ctx *ctx, const struct tpu_chip *c);
/* Prints the chip back in file format (every key). */
void tpu_chip_print(const struct tpu_chip *c, FILE *f);

#endif /* TPU_SIM_CONFIG_H */
