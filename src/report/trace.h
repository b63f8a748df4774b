/*
** report/trace.h: writes a Chrome trace-event JSON file (chrome://tracing,
** https://ui.perfetto.dev) of a simulated run: one track per chip unit (MXU,
** vector unit, DMA, host link), instructions as slices, stalls as instant
** events, times converted from cycles to microseconds at the chip clock.
**
** In:  calls from the simulator (sim/) as it retires instructions.
** Out: a JSON file {"traceEvents":[...],"displayTimeUnit":"ns","otherData":{...}}.
**
** Event format written (Trace Event Format, "JSON Object Format"):
**   metadata  {"ph":"M","name":"process_name","pid":1,"tid":0,"args":{"name":"tpu-v1"}}
**             {"ph":"M","name":"thread_name","pid":1,"tid":T,"args":{"name":"MXU"}}
**             {"ph":"M","name":"thread_sort_index","pid":1,"tid":T,"args":{"sort_index":T}}
**   slice     {"ph":"X","name":"MATMUL","cat":"insn","pid":1,"tid":T,"ts":us,"dur":us,
**              "args":{"cycle":c,"cycles":n,"pc":p}}
**   stall     {"ph":"i","s":"t","name":"weight stall","cat":"stall","pid":1,"tid":T,"ts":us,
**              "args":{"cycle":c,"cycles":n}}   plus, when n > 0, a "stall" slice of n cycles
** ts and dur are printed with 6 decimals (picoseconds), from integer cycles, so
** the same run always gives the same bytes.
**
** Example (what sim/ would do):
**   struct tpu_trace *t = NULL;
**   tpu_trace_open(ctx, "run.trace.json", "tpu-v1", 700e6, &t);
**   tpu_trace_slice(t, TPU_TRACE_MXU, "MATMUL", "insn", 1000, 256, 12);
**   tpu_trace_stall(t, TPU_TRACE_MXU, "weight stall", 1256, 1350);
**   rc = tpu_trace_close(t);      // finishes the JSON; reports any write error
*/
#ifndef TPU_REPORT_TRACE_H
#define TPU_REPORT_TRACE_H

#include "tpu_impl.h"

/* The fixed tracks; further ones can be added with tpu_trace_track(). */
enum tpu_trace_unit {
    TPU_TRACE_HOST,       /* "host link": PCIe reads/writes of host memory */
    TPU_TRACE_DMA,        /* "DMA": weight / activation transfers          */
    TPU_TRACE_MXU,        /* "MXU": matrix unit                            */
    TPU_TRACE_VECTOR,     /* "vector": activation / pooling / elementwise  */
    TPU_TRACE_N_UNITS
};

struct tpu_trace;

/* Creates path and writes the header and track metadata. clock_hz > 0.
** On failure *out is NULL and the message names the path. */
enum tpu_status tpu_trace_open(struct tpu_ctx *ctx, const char *path, const char *chip_name,
                               double clock_hz, struct tpu_trace **out);
/* Adds a track named `name`; returns its id (>= TPU_TRACE_N_UNITS) or -1 when
** the trace is full (64 tracks). */
int             tpu_trace_track(struct tpu_trace *t, const char *name);
/* One instruction on a track: starts at `start_cycle`, lasts `cycles` (>= 0).
** pc < 0 omits the "pc" argument. */
void            tpu_trace_slice(struct tpu_trace *t, int track, const char *name, const char *cat,
                                uint64_t start_cycle, uint64_t cycles, int64_t pc);
/* A stall on a track: an instant event at start_cycle, and a slice of category
** "stall" when cycles > 0 so the idle time is visible. */
void            tpu_trace_stall(struct tpu_trace *t, int track, const char *reason,
                                uint64_t start_cycle, uint64_t cycles);
/* Writes the closing brackets and the summary, closes the file and frees t.
** Returns TPU_ERR_IO if any write failed (the message names the path).
** NULL: no-op returning OK. */
enum tpu_status tpu_trace_close(struct tpu_trace *t);
/* Events written so far (slices + instants, not metadata). */
uint64_t        tpu_trace_n_events(const struct tpu_trace *t);

#endif /* TPU_REPORT_TRACE_H */
