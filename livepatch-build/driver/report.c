/*
 * report.c - what livepatch-build tells its user: timed progress lines and
 * warnings on stderr, the one fatal error (die), the stage each failure is
 * reported under, and the --json report a CI job reads (written whole, on success
 * and on failure, once per run).
 *
 * Not for: the messages of the steps themselves (each step words its own).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "driver.h"
#include "helper.h"
#include "objects.h"
#include "livepatch/util.h"

static struct lpb *run;
static long long start_us;
static char stage[256];
static long long stage_t0;
static struct strv timings;     /* "NAME\tMS" */
static struct strv payloads;    /* JSON objects */
static bool json_written;
static volatile int dying;

/*
 * LeakSanitizer asks this at exit (sanitizer/lsan_interface.h): a run that ends in
 * die() or on a signal abandons the state of the step it was in by design, so only a
 * run that finished is checked for leaks.
 */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
    return dying;
}

void report_dying(void)
{
    dying = 1;
}

long long now_us(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

long long run_us(void)
{
    return now_us() - start_us;
}

void report_init(struct lpb *b)
{
    run = b;
    start_us = now_us();
    /* The diff step's progress lines are timed from the same start (objects.c). */
    helper_start_us = start_us;
}

void msg(const char *fmt, ...)
{
    long long us = run_us();
    va_list ap;

    fprintf(stderr, "%s: [%4lld.%llds] ", PROG, us / 1000000, us / 100000 % 10);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void warn(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: warning: ", PROG);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
    char m[4096];
    va_list ap;

    /* A failure that a signal caused (an interrupted walk, a killed child) is the
     * signal's: exit as interrupted, not as failed. */
    proc_check_stop();
    va_start(ap, fmt);
    vsnprintf(m, sizeof(m), fmt, ap);
    va_end(ap);
    if (!m[0])
        snprintf(m, sizeof(m), "live patch build failed");
    fprintf(stderr, "%s: error: %s\n", PROG, m);
    /* A CI job reads why the build failed, and at which stage, from the report. */
    report_json(m);
    report_dying();
    exit(1);
}

const char *stage_name(void)
{
    return stage;
}

void stage_start(const char *fmt, ...)
{
    va_list ap;

    /* (a signal during an in-process step is acted on here at the latest) */
    proc_check_stop();
    va_start(ap, fmt);
    vsnprintf(stage, sizeof(stage), fmt, ap);
    va_end(ap);
    stage_t0 = now_us();
}

void stage_end(void)
{
    strv_pushf(&timings, "%s\t%lld", stage, (now_us() - stage_t0) / 1000);
}

char *last_lines(const char *path, int n)
{
    struct lp_error e = { 0 };
    unsigned char *buf = NULL;
    size_t len = 0, i, out = 0;
    char *res, *p, *line;
    struct strv lines = { 0 };
    int k;

    if (lp_read_file(path, &buf, &len, &e))
        return strdup("");
    p = realloc(buf, len + 1);
    if (!p) {
        free(buf);
        return strdup("");
    }
    p[len] = '\0';
    for (line = strtok(p, "\n"); line; line = strtok(NULL, "\n"))
        if (*line)
            strv_push(&lines, line);
    k = (int)lines.n > n ? (int)lines.n - n : 0;
    for (i = (size_t)k; i < lines.n; i++)
        out += strlen(lines.v[i]) + 1;
    res = calloc(1, out + 1);
    for (i = (size_t)k; res && i < lines.n; i++) {
        if (i > (size_t)k)
            strcat(res, " ");
        strcat(res, lines.v[i]);
    }
    strv_free(&lines);
    free(p);
    return res ? res : strdup("");
}

void report_payload(const struct lpb *b, const struct step *s)
{
    const struct strv *lists[3] = { &s->objs.changed, &s->objs.fresh, NULL };
    static const char *const keys[3] = { "objects_changed", "objects_new", "objects_unchanged" };
    struct strv unchanged = { 0 };
    char *text = NULL, *payload = NULL;
    size_t len = 0, i, k;
    FILE *f = open_memstream(&text, &len);

    if (!f || asprintf(&payload, "%s/%s.livepatch", b->output, s->name) < 0)
        die("out of memory");
    /* Unchanged: diffed to no functional change, then recompiled to the same bytes. */
    for (i = 0; i < s->objs.nochange.n; i++)
        strv_push(&unchanged, s->objs.nochange.v[i]);
    for (i = 0; i < s->objs.same.n; i++)
        strv_push(&unchanged, s->objs.same.v[i]);
    lists[2] = &unchanged;
    fputs("{\"name\": ", f);
    lp_json_str(f, s->name);
    fputs(", \"payload\": ", f);
    lp_json_str(f, payload);
    fputs(", \"build_id\": ", f);
    lp_json_str(f, s->payload_id);
    fputs(", \"depends\": ", f);
    lp_json_str(f, s->dep_used);
    fputs(", \"xen_depends\": ", f);
    lp_json_str(f, b->xdep);
    fprintf(f, ", %s", s->facts ? s->facts : "");
    for (k = 0; k < 3; k++) {
        fprintf(f, ", \"%s\": [", keys[k]);
        for (i = 0; i < lists[k]->n; i++) {
            fputs(i ? ", " : "", f);
            lp_json_str(f, lists[k]->v[i]);
        }
        fputc(']', f);
    }
    fputc('}', f);
    if (fclose(f))
        die("out of memory");
    strv_push(&payloads, text);
    strv_free(&unchanged);
    free(text);
    free(payload);
}

int report_json(const char *err)
{
    char *tmp = NULL;
    size_t i;
    FILE *f;

    if (!run || !run->json || json_written)
        return 0;
    json_written = true;
    if (asprintf(&tmp, "%s.tmp.%d", run->json, (int)getpid()) < 0 || !(f = fopen(tmp, "w"))) {
        fprintf(stderr, "%s: error: cannot write %s\n", PROG, run->json);
        free(tmp);
        return -1;
    }
    fputs("{\"tool\": ", f);
    lp_json_str(f, PROG " " LP_VERSION);
    if (err) {
        fputs(", \"ok\": false, \"stage\": ", f);
        lp_json_str(f, stage[0] ? stage : "options");
        fputs(", \"error\": ", f);
        lp_json_str(f, err);
    } else {
        fputs(", \"ok\": true", f);
    }
    fputs(", \"image\": ", f);
    lp_json_str(f, run->image ? run->image : "");
    fputs(", \"image_build_id\": ", f);
    lp_json_str(f, run->image_id);
    fputs(", \"payloads\": [", f);
    for (i = 0; i < payloads.n; i++)
        fprintf(f, "%s%s", i ? ", " : "", payloads.v[i]);
    fputs("], \"timings_ms\": {", f);
    for (i = 0; i < timings.n; i++) {
        char *tab = strrchr(timings.v[i], '\t');

        *tab = '\0';
        fputs(i ? ", " : "", f);
        lp_json_str(f, timings.v[i]);
        fprintf(f, ": %s", tab + 1);
        *tab = '\t';
    }
    fprintf(f, "}, \"total_ms\": %lld}\n", run_us() / 1000);
    if (fclose(f) || rename(tmp, run->json)) {
        unlink(tmp);
        free(tmp);
        fprintf(stderr, "%s: error: cannot write %s\n", PROG, run->json);
        return -1;
    }
    free(tmp);
    return 0;
}
