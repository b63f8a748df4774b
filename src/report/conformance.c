/*
** report/conformance.c: `tpusim conformance` — ONNX's own backend tests
** (each case: model.onnx + test_data_set_N/{input,output}_N.pb) on the
** reference executor.
**
** In:  root directories such as /usr/share/libonnx-testdata/data/node; an
**      optional xfail list ("category/case reason" per line, # comments).
** Out: one PASS/FAIL/SKIP line per case on stdout (tests/run.sh adds them
**      up), totals per category and the failures on stdout and in out_path.
** How: every case runs in a forked child under a time and memory limit, so
**      a crash or a hang fails that case only. A case is skipped, never
**      passed, when it needs an op, dtype or kernel tpusim does not have.
*/
#include "report/report.h"
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define CASE_MEM_LIMIT ((rlim_t)4 << 30)

enum case_result { CASE_PASS, CASE_FAIL, CASE_SKIP };

struct case_out {                       /* what a child reports back        */
    int  result;                        /* enum case_result                 */
    int  in_scope;                      /* every node op is in ops.def      */
    char msg[1024];
};

struct category {
    char name[64];
    int  n_cases, n_pass, n_fail, n_skip, n_xfail, n_xpass;
    int  n_in_scope, n_in_scope_pass;
};

struct xfail { char *key, *reason; bool seen; };

struct run {
    struct tpu_ctx  *ctx;
    struct xfail    *xf;
    int              n_xf;
    char            *failures;          /* "cat/case: msg\n" lines, heap    */
    size_t           len_failures;
    int              timeout_s;
};

/*---- One case, in the child ----*/
static enum case_result classify(enum tpu_status rc)
{
    return rc == TPU_ERR_UNSUPPORTED ? CASE_SKIP : CASE_FAIL;
}

static void set_out(struct case_out *out, enum case_result r, const char *msg)
{
    out->result = r;
    snprintf(out->msg, sizeof out->msg, "%s", msg);
}

static bool first_unknown_op(const struct tpu_graph *g, const char **op)
{
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].op == TPU_OP_UNKNOWN) { *op = g->nodes[k].op_type; return true; }
    return false;
}

/* One test_data_set: fresh load, bind inputs, prepare, run, compare. */
static void run_data_set(struct tpu_ctx *ctx, const char *model, const char *ds, struct case_out *out)
{
    struct tpu_graph *g = NULL;
    struct tpu_output_cmp cmp[64];
    int n_cmp = 0;
    const char *op;
    enum tpu_status rc = tpu_load_onnx(ctx, model, &g);
    if (!rc && first_unknown_op(g, &op)) {
        out->in_scope = 0;
        char msg[256];
        snprintf(msg, sizeof msg, "op %s is not implemented", op);
        set_out(out, CASE_SKIP, msg);
        tpu_graph_free(g);
        return;
    }
    if (!rc) rc = tpu_graph_load_inputs(ctx, g, ds);
    if (!rc) rc = tpu_graph_prepare(ctx, g, NULL, 0);
    if (!rc) rc = tpu_ref_run(ctx, g);
    if (!rc && tpu_graph_n_outputs(g) > 64) rc = tpu_err(ctx, TPU_ERR_UNSUPPORTED, "more than 64 outputs");
    if (!rc) rc = tpu_graph_compare_outputs(ctx, g, ds, cmp, 64, &n_cmp);
    if (rc) set_out(out, classify(rc), tpu_errmsg(ctx));
    tpu_graph_free(g);
}

static int is_data_set(const struct dirent *e)
{
    return strncmp(e->d_name, "test_data_set_", 14) == 0;
}

static void run_case(const char *dir, struct case_out *out)
{
    char model[4096], ds[4096];
    struct dirent **sets = NULL;
    struct tpu_ctx *ctx = tpu_init();
    out->in_scope = 1;
    set_out(out, CASE_PASS, "");
    int n = scandir(dir, &sets, is_data_set, alphasort);
    snprintf(model, sizeof model, "%s/model.onnx", dir);
    if (!ctx) set_out(out, CASE_FAIL, "out of memory");
    else if (n <= 0) set_out(out, CASE_SKIP, "no test_data_set_* directory");
    for (int i = 0; ctx && i < n && out->result == CASE_PASS; i++) {
        snprintf(ds, sizeof ds, "%s/%s", dir, sets[i]->d_name);
        run_data_set(ctx, model, ds, out);
    }
    for (int i = 0; i < n; i++) free(sets[i]);
    free(sets);
    tpu_free(ctx);
}

/*---- Fork, limits, collection ----*/
static void child(const char *dir, int fd, int timeout_s)
{
    struct case_out out;
    struct rlimit lim = { CASE_MEM_LIMIT, CASE_MEM_LIMIT };
    memset(&out, 0, sizeof out);
#ifndef __SANITIZE_ADDRESS__            /* ASan reserves terabytes of address space */
    setrlimit(RLIMIT_AS, &lim);
#else
    (void)lim;
#endif
    alarm((unsigned)timeout_s);
    run_case(dir, &out);
    const char *p = (const char *)&out;
    for (size_t left = sizeof out; left;) {
        ssize_t k = write(fd, p, left);
        if (k <= 0) _exit(3);
        p += k; left -= (size_t)k;
    }
    _exit(0);
}

static void run_forked(const char *dir, int timeout_s, struct case_out *out)
{
    int fds[2];
    memset(out, 0, sizeof *out);
    out->in_scope = 1;
    if (pipe(fds) != 0) { set_out(out, CASE_FAIL, "pipe failed"); return; }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) { close(fds[0]); child(dir, fds[1], timeout_s); }
    close(fds[1]);
    if (pid < 0) { close(fds[0]); set_out(out, CASE_FAIL, "fork failed"); return; }
    size_t got = 0;
    for (ssize_t k; got < sizeof *out && (k = read(fds[0], (char *)out + got, sizeof *out - got)) != 0;) {
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) break;
        got += (size_t)k;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    char msg[128];
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        snprintf(msg, sizeof msg, "timed out after %d s", timeout_s);
    else if (WIFSIGNALED(status))
        snprintf(msg, sizeof msg, "crashed with signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else if (got != sizeof *out)
        snprintf(msg, sizeof msg, "the case process exited with status %d without a result", WEXITSTATUS(status));
    else return;
    set_out(out, CASE_FAIL, msg);
    out->in_scope = 1;
}

/*---- The xfail list ----*/
static enum tpu_status read_xfail(struct run *r, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    if (!f) return tpu_err(r->ctx, TPU_ERR_IO, "%s: cannot read the xfail list", path);
    while (fgets(line, sizeof line, f)) {
        char *p = line + strspn(line, " \t");
        p[strcspn(p, "\r\n")] = 0;
        if (!*p || *p == '#') continue;
        struct xfail *xf = tpu_realloc(r->ctx, r->xf, (size_t)(r->n_xf + 1) * sizeof *xf);
        if (!xf) { fclose(f); return TPU_ERR_NOMEM; }
        r->xf = xf;
        char *sp = p + strcspn(p, " \t");
        char *reason = *sp ? sp + 1 + strspn(sp + 1, " \t") : sp;
        *sp = 0;
        xf[r->n_xf].key = strdup(p);
        xf[r->n_xf].reason = strdup(*reason ? reason : "listed in the xfail file");
        xf[r->n_xf].seen = false;
        if (!xf[r->n_xf].key || !xf[r->n_xf].reason) { fclose(f); return tpu_err(r->ctx, TPU_ERR_NOMEM, "out of memory"); }
        r->n_xf++;
    }
    fclose(f);
    return TPU_STATUS_OK;
}

static struct xfail *find_xfail(struct run *r, const char *key)
{
    for (int i = 0; i < r->n_xf; i++)
        if (!strcmp(r->xf[i].key, key)) return &r->xf[i];
    return NULL;
}

static void add_failure(struct run *r, const char *key, const char *msg)
{
    size_t k = strlen(key) + strlen(msg) + 8;
    char *p = realloc(r->failures, r->len_failures + k);
    if (!p) return;
    r->failures = p;
    r->len_failures += (size_t)snprintf(p + r->len_failures, k, "  %s: %s\n", key, msg);
}

/* Removes every "DIR/" from msg: the case line already names the case. */
static void strip_dir(char *msg, const char *dir)
{
    size_t k = strlen(dir);
    for (char *p = strstr(msg, dir); p; p = strstr(p, dir)) {
        size_t cut = k + (p[k] == '/');
        memmove(p, p + cut, strlen(p + cut) + 1);
    }
}

/* Prints the case's line; message on one line, shortened. */
static void report_case(struct run *r, struct category *c, const char *key, const char *dir,
                        struct case_out *out)
{
    strip_dir(out->msg, dir);
    for (char *p = out->msg; *p; p++) if (*p == '\n') *p = ' ';
    if (strlen(out->msg) > 300) strcpy(out->msg + 297, "...");
    struct xfail *xf = find_xfail(r, key);
    if (xf) xf->seen = true;
    c->n_cases++;
    if (out->in_scope) c->n_in_scope++;
    if (out->result == CASE_PASS && xf) {
        c->n_xpass++; c->n_fail++;
        printf("FAIL conformance/%s: xpass: remove from xfail list\n", key);
        add_failure(r, key, "xpass: passes but is listed in the xfail file");
    } else if (out->result == CASE_PASS) {
        c->n_pass++; c->n_in_scope_pass += out->in_scope;
        printf("PASS conformance/%s\n", key);
    } else if (out->result == CASE_FAIL && xf) {
        c->n_xfail++;
        printf("SKIP conformance/%s: xfail: %s\n", key, xf->reason);
    } else if (out->result == CASE_FAIL) {
        c->n_fail++;
        printf("FAIL conformance/%s: %s\n", key, out->msg);
        add_failure(r, key, out->msg);
    } else {
        c->n_skip++;
        printf("SKIP conformance/%s: %s\n", key, out->msg);
    }
    fflush(stdout);
}

static int has_model(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

static void run_root(struct run *r, const char *root, struct category *c)
{
    struct dirent **cases = NULL;
    char name[512];
    snprintf(name, sizeof name, "%s", root);
    for (size_t k = strlen(name); k > 1 && name[k - 1] == '/'; k--) name[k - 1] = 0;
    const char *base = strrchr(name, '/');
    snprintf(c->name, sizeof c->name, "%s", base ? base + 1 : name);
    int n = scandir(root, &cases, has_model, alphasort);
    for (int i = 0; i < n; i++) {
        char dir[4096], model[4200], key[512];
        snprintf(dir, sizeof dir, "%s/%s", root, cases[i]->d_name);
        snprintf(model, sizeof model, "%s/model.onnx", dir);
        if (access(model, R_OK) == 0) {
            struct case_out out;
            snprintf(key, sizeof key, "%s/%s", c->name, cases[i]->d_name);
            run_forked(dir, r->timeout_s, &out);
            report_case(r, c, key, dir, &out);
        }
        free(cases[i]);
    }
    free(cases);
    if (n < 0) printf("FAIL conformance/%s: cannot read directory %s\n", c->name, root);
}

/*---- Totals ----*/
static void write_totals(FILE *f, struct run *r, const struct category *cats, int n)
{
    struct category all = { .name = "total" };
    fprintf(f, "conformance: tpusim reference executor vs the ONNX backend test data\n");
    fprintf(f, "%-20s %6s %6s %6s %6s %6s\n", "category", "cases", "pass", "fail", "xfail", "skip");
    for (int i = 0; i <= n; i++) {
        const struct category *c = i < n ? &cats[i] : &all;
        fprintf(f, "%-20s %6d %6d %6d %6d %6d\n", c->name, c->n_cases, c->n_pass, c->n_fail, c->n_xfail, c->n_skip);
        if (i == n) break;
        all.n_cases += c->n_cases; all.n_pass += c->n_pass; all.n_fail += c->n_fail;
        all.n_xfail += c->n_xfail; all.n_skip += c->n_skip;
    }
    for (int i = 0; i < n; i++)
        if (!strcmp(cats[i].name, "node"))
            fprintf(f, "node tests whose ops are all in ops.def: %d, passing: %d\n",
                    cats[i].n_in_scope, cats[i].n_in_scope_pass);
    fprintf(f, "failures:%s\n%s", r->failures ? "" : " none", r->failures ? r->failures : "");
    for (int i = 0; i < r->n_xf; i++)
        if (!r->xf[i].seen) fprintf(f, "note: xfail entry '%s' matches no case run\n", r->xf[i].key);
}

static void free_run(struct run *r)
{
    for (int i = 0; i < r->n_xf; i++) { free(r->xf[i].key); free(r->xf[i].reason); }
    free(r->xf);
    free(r->failures);
}

enum tpu_status tpu_conformance_run(struct tpu_ctx *ctx, const struct tpu_conformance_opts *o)
{
    struct run r = { .ctx = ctx, .timeout_s = o->timeout_s > 0 ? o->timeout_s : 60 };
    struct category *cats = tpu_calloc(ctx, (size_t)o->n_roots + 1, sizeof *cats);
    enum tpu_status rc = cats ? TPU_STATUS_OK : TPU_ERR_NOMEM;
    if (!rc && o->xfail_path) rc = read_xfail(&r, o->xfail_path);
    for (int i = 0; !rc && i < o->n_roots; i++) run_root(&r, o->roots[i], &cats[i]);
    if (!rc) write_totals(stdout, &r, cats, o->n_roots);
    if (!rc && o->out_path) {
        char tmp[4200];
        FILE *f = tpu_file_begin(ctx, o->out_path, tmp, sizeof tmp);
        if (!f) rc = TPU_ERR_IO;
        else {
            write_totals(f, &r, cats, o->n_roots);
            rc = tpu_file_commit(ctx, f, o->out_path, tmp, true);
        }
    }
    int n_fail = 0;
    for (int i = 0; cats && i < o->n_roots; i++) n_fail += cats[i].n_fail;
    free_run(&r);
    free(cats);
    if (!rc && n_fail) rc = tpu_err(ctx, TPU_ERR_MISMATCH, "%d conformance cases failed", n_fail);
    return rc;
}
