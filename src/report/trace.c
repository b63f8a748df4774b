/*
** report/trace.c: streams Chrome trace-event JSON for a simulated run — track
** metadata, instruction slices and stall events — converting cycles to
** microseconds at the chip clock.
**
** In:  calls from sim/ (see report/trace.h for the event format).
** Out: a .json file Perfetto and chrome://tracing open.
** Events are written as they come (a run can have millions), so memory stays
** constant; write errors are remembered and reported by tpu_trace_close().
*/
#include "report/trace.h"
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#define TRACE_MAX_TRACKS 64
#define TRACE_PID        1

static const char *const unit_names[TPU_TRACE_N_UNITS] = { "host link", "DMA", "MXU", "vector" };

struct tpu_trace {
    struct tpu_ctx *ctx;
    FILE           *f;
    char            path[512];
    double          clock_hz;
    int             n_tracks;
    uint64_t        n_events;
    bool            first;          /* no comma before the next event */
    bool            failed;         /* a write failed                 */
};

static void emit(struct tpu_trace *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct tpu_trace *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vfprintf(t->f, fmt, ap) < 0) t->failed = true;
    va_end(ap);
}

/* A JSON string literal with the quotes. */
static void emit_str(struct tpu_trace *t, const char *s)
{
    emit(t, "\"");
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') emit(t, "\\%c", c);
        else if (c < 0x20) emit(t, "\\u%04x", c);
        else emit(t, "%c", c);
    }
    emit(t, "\"");
}

static void event_start(struct tpu_trace *t)
{
    emit(t, "%s\n{", t->first ? "" : ",");
    t->first = false;
}

/* Microseconds of a cycle count, fixed 6 decimals. */
static void emit_us(struct tpu_trace *t, const char *key, uint64_t cycles)
{
    emit(t, "\"%s\":%.6f", key, (double)cycles * 1e6 / t->clock_hz);
}

static void emit_meta(struct tpu_trace *t, const char *what, int tid, const char *name)
{
    event_start(t);
    emit(t, "\"ph\":\"M\",\"name\":\"%s\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":", what, TRACE_PID, tid);
    emit_str(t, name);
    emit(t, "}}");
    event_start(t);
    emit(t, "\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%d,\"tid\":%d,\"args\":{\"sort_index\":%d}}",
         TRACE_PID, tid, tid);
}

enum tpu_status tpu_trace_open(struct tpu_ctx *ctx, const char *path, const char *chip_name,
                               double clock_hz, struct tpu_trace **out)
{
    *out = NULL;
    if (!(clock_hz > 0)) return tpu_err(ctx, TPU_ERR_USAGE, "%s: trace clock %g Hz must be positive", path, clock_hz);
    struct tpu_trace *t = tpu_calloc(ctx, 1, sizeof *t);
    if (!t) return TPU_ERR_NOMEM;
    t->f = fopen(path, "wb");
    if (!t->f) {
        free(t);
        return tpu_err(ctx, TPU_ERR_IO, "%s: cannot write trace: %s", path, strerror(errno));
    }
    t->ctx = ctx, t->clock_hz = clock_hz, t->first = true;
    snprintf(t->path, sizeof t->path, "%s", path);
    emit(t, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[");
    event_start(t);
    emit(t, "\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":0,\"args\":{\"name\":", TRACE_PID);
    emit_str(t, chip_name ? chip_name : "tpusim");
    emit(t, "}}");
    for (int u = 0; u < TPU_TRACE_N_UNITS; u++) tpu_trace_track(t, unit_names[u]);
    *out = t;
    return TPU_STATUS_OK;
}

int tpu_trace_track(struct tpu_trace *t, const char *name)
{
    if (t->n_tracks == TRACE_MAX_TRACKS) return -1;
    int id = t->n_tracks++;
    emit_meta(t, "thread_name", id, name);
    return id;
}

static bool track_ok(const struct tpu_trace *t, int track) { return track >= 0 && track < t->n_tracks; }

void tpu_trace_slice(struct tpu_trace *t, int track, const char *name, const char *cat,
                     uint64_t start_cycle, uint64_t cycles, int64_t pc)
{
    TPU_ASSERT(track_ok(t, track));            /* the simulator passes its own ids */
    event_start(t);
    emit(t, "\"ph\":\"X\",\"name\":");
    emit_str(t, name);
    emit(t, ",\"cat\":");
    emit_str(t, cat ? cat : "insn");
    emit(t, ",\"pid\":%d,\"tid\":%d,", TRACE_PID, track);
    emit_us(t, "ts", start_cycle);
    emit(t, ",");
    emit_us(t, "dur", cycles);
    emit(t, ",\"args\":{\"cycle\":%" PRIu64 ",\"cycles\":%" PRIu64, start_cycle, cycles);
    if (pc >= 0) emit(t, ",\"pc\":%" PRId64, pc);
    emit(t, "}}");
    t->n_events++;
}

void tpu_trace_stall(struct tpu_trace *t, int track, const char *reason,
                     uint64_t start_cycle, uint64_t cycles)
{
    TPU_ASSERT(track_ok(t, track));
    event_start(t);
    emit(t, "\"ph\":\"i\",\"s\":\"t\",\"name\":");
    emit_str(t, reason);
    emit(t, ",\"cat\":\"stall\",\"pid\":%d,\"tid\":%d,", TRACE_PID, track);
    emit_us(t, "ts", start_cycle);
    emit(t, ",\"args\":{\"cycle\":%" PRIu64 ",\"cycles\":%" PRIu64 "}}", start_cycle, cycles);
    t->n_events++;
    if (cycles > 0) tpu_trace_slice(t, track, reason, "stall", start_cycle, cycles, -1);
}

uint64_t tpu_trace_n_events(const struct tpu_trace *t)
{
    return t ? t->n_events : 0;
}

enum tpu_status tpu_trace_close(struct tpu_trace *t)
{
    if (!t) return TPU_STATUS_OK;
    emit(t, "\n],\"otherData\":{\"generator\":\"tpusim\",\"clock_hz\":%.0f,\"events\":%" PRIu64 "}}\n",
         t->clock_hz, t->n_events);
    if (fclose(t->f) != 0) t->failed = true;
    enum tpu_status rc = TPU_STATUS_OK;
    if (t->failed) rc = tpu_err(t->ctx, TPU_ERR_IO, "%s: write failed", t->path);
    free(t);
    return rc;
}
