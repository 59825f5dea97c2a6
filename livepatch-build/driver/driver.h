/*
 * driver.h - livepatch-build, the program: one run from options to verified
 * payloads.  `struct lpb` is everything a run knows, filled in step by step and
 * handed to each step in turn (main.c reads as the list of steps):
 *
 *   options.c  options, the .config, the tools and the compiler
 *   report.c   progress lines, warnings, fatal errors, stage timings, --json
 *   proc.c     every child process: process groups, signals, waiting, progress
 *   cache.c    the cache of unpatched builds (key, reuse, publish, eviction, list)
 *   patch.c    the files a patch names, the refusal of paths outside SRCDIR, patch(1)
 *   build.c    make in a tree, the unpatched build, the patched build of one payload
 *   diffs.c    the diff step (objects.c in a child process) and what its statuses mean
 *   payload.c  link, strip, .modinfo, stamp (lib/stamp.c), sign, the payload's report
 *
 * and the steps' own modules: tree.h (keys, copies, the patched work tree),
 * objects.c (sorting and diffing objects), twins.h (layout twins).
 */
#ifndef LPB_DRIVER_H
#define LPB_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "livepatch/buildid.h"

#define PROG "livepatch-build"
#define HEX_ID_MAX (2 * LP_BUILDID_MAX + 1)

/* A growable list of strings (malloc'd). */
struct strv {
    char **v;
    size_t n, cap;
};
void strv_push(struct strv *s, const char *str);
void strv_pushf(struct strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strv_free(struct strv *s);
/* The first n entries (all, when fewer) joined by sep (malloc'd). */
char *strv_join(const struct strv *s, size_t n, const char *sep);
/* v with a NULL after the last entry (for exec), valid until the next push. */
char **strv_argv(struct strv *s);

/* The objects of one payload, as the diff step sorted them. */
struct objects {
    struct strv changed;    /* pairs diffed and found changed (carried in the payload) */
    struct strv fresh;      /* no earlier build has them: carried whole */
    struct strv same;       /* recompiled to identical bytes */
    struct strv nochange;   /* diffed: no functional change */
};

enum skip { SKIP_NONE, SKIP_BUILD, SKIP_DIFF };
enum cache_cmd { CACHE_CMD_NONE, CACHE_CMD_LIST, CACHE_CMD_CLEAN };

struct lpb {
    /* --- options (options.c) --- */
    char *srcdir, *config, *output;      /* absolute */
    struct strv patches;                 /* absolute */
    struct strv metadata, allow_layout;
    char *xensyms, *json, *cache_dir, *sign_key;
    const char *depends, *xen_depends;   /* as given: hex or a file */
    const char *sign_format;
    const char *cache_max;               /* --cache-max, or NULL */
    long cpus;
    bool debug, xen_debug, prelink, strip, stack, fix_lines, no_cache;
    enum skip skip;
    enum cache_cmd cache_cmd;

    /* --- what the .config, the environment and the tools say (options.c) --- */
    bool config_mentions_debug, config_debug_y;
    char *make_debug;                    /* "debug=y|n" for make, or NULL */
    char *cdo, *wrapper, *lptool;        /* create-diff-object, livepatch-gcc, livepatch-tool */
    char *real_cc, *ld, *objcopy, *cross;
    char *cc_version, *cc_version_all;   /* first line; all of it */
    const char *build_date, *build_time, *extra_cflags;

    /* --- paths of this run --- */
    char *tmp;                           /* OUTDIR/.lp-tmp.PID.START: removed at exit */
    char *src;                           /* TMP/src: the patched sources */
    char *out_in_src, *cache_in_src;     /* OUTDIR / cache relative to SRCDIR, or NULL */
    char *cache_root;
    unsigned long long cache_max_kb;
    char cache_max_human[32];
    char *base;                          /* the unpatched build */
    char *cache_key;                     /* its key, NULL with --no-cache */

    /* --- the image and the dependencies --- */
    char *image;
    char image_id[HEX_ID_MAX];
    char dep[HEX_ID_MAX], xdep[HEX_ID_MAX];
    struct strv check_chain;             /* payloads the loader must see before ours */

    /* --- the steps: one per payload --- */
    struct strv prev_trees;              /* newest first: where the originals are; the
                                          * first is the build the next step starts from */
    char *first_name;
    size_t nr_steps;
};

/* One payload: its patches, its name, its trees and what became of its objects. */
struct step {
    size_t index;                        /* 1-based */
    struct strv patches;
    char name[128];
    char *desc;                          /* "a.patch, b.patch" */
    char *work;                          /* OUTDIR/work-NAME */
    char *tree;                          /* TMP/tree-N */
    char *capture;                       /* the objects the wrapper compiled */
    struct strv targets;                 /* a targeted build's objects; empty: whole tree */
    struct objects objs;
    char payload_id[HEX_ID_MAX];
    char dep_used[HEX_ID_MAX];           /* the id it depends on */
    char *facts;                         /* JSON members from the stamp */
};

/* --- options.c --- */
void options_parse(struct lpb *b, int argc, char **argv);
void options_check(struct lpb *b);       /* required options, paths, .config, tools */
void payload_name(const char *patch, char name[128]);
/* PATH made absolute, the part that exists resolved physically (readlink -m). */
char *abspath(const char *path);

/* --- report.c --- */
void report_init(struct lpb *b);
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "livepatch-build: error: ...", write the --json report, clean up, exit 1. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* The run is ending early (die, a signal): its state is abandoned, not leaked. */
void report_dying(void);
void stage_start(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void stage_end(void);
const char *stage_name(void);            /* "" before the first stage */
/* The --json report (ok when err is NULL); written once.  0, or -1 when it cannot be. */
int report_json(const char *err);
void report_payload(const struct lpb *b, const struct step *s);
/* Microseconds since the run started. */
long long run_us(void);
long long now_us(void);
/* The last n non-empty lines of a file, joined by spaces (malloc'd; "" when none). */
char *last_lines(const char *path, int n);

/* --- proc.c --- */
void proc_init(void);
/* Removed at exit (recursively); a path ending in '*' after its last '/' is a pattern. */
void cleanup_add(const char *path);
/* Payloads this run wrote: removed too when it is interrupted. */
void written_add(const char *path);
void cleanup_keep(bool keep);            /* -d: the work trees stay */
void cleanup_run(void);                  /* at exit */
/* s (digits only) is the pid of a process that runs. */
bool pid_alive(const char *s);
/* If a signal came: stop every child, clean up, exit 128+N.  Otherwise return. */
void proc_check_stop(void);

struct run_opts {
    const char *in;              /* stdin from this file (NULL: /dev/null) */
    const char *log;             /* stdout and stderr to this file (NULL: ours) */
    bool quiet;                  /* stderr to /dev/null */
    const char *dir;             /* chdir before exec */
    char **env;                  /* "NAME=VALUE" set in the child */
    /* While it runs: "WHAT: N object(s) of TOTAL compiled" from the lines of FILE. */
    const char *progress_file, *progress_what;
    size_t progress_total;
};
/*
 * Run argv (argv[0] found on PATH) in a process group of its own, stdin closed, and
 * wait for it; a signal meanwhile stops the group and ends the run.  Returns its exit
 * status (128+N when killed by signal N), -1 when it cannot be started.
 */
int run_cmd(char *const *argv, const struct run_opts *o);
/* The same, with its stdout (and stderr, when both) in *text (malloc'd). */
int run_capture(char *const *argv, bool both, const struct run_opts *o, char **text);
/* fn(arg) in a child process of its own group (like run_cmd); its stdout into *text. */
int run_fn(int (*fn)(void *arg, FILE *out), void *arg, char **text);

/* --- cache.c --- */
void cache_setup(struct lpb *b);
void cache_command(struct lpb *b);      /* --cache-list, --cache-clean; exits */
/* The unpatched build: reused from the cache, or built (and published). */
void prepare_base(struct lpb *b);

/* --- patch.c --- */
void check_patch_paths(const struct lpb *b);
/* Apply patch to dir (copies of the files it touches come from SRCDIR first);
 * the files it touched are appended to touched. */
void apply_patch(const struct lpb *b, const char *patch, const char *dir, struct strv *touched);

/* --- build.c --- */
void build_base_tree(struct lpb *b, const char *tree, const char *where);
void build_patched(struct lpb *b, struct step *s, const struct strv *touched);
/* A step that wrote into dirs failed: if for want of space, die saying so. */
void write_failed(const struct lpb *b, const char *what, const char *text, const char *const *dirs,
                  size_t n);

/* --- diffs.c --- */
void collect_objects(struct lpb *b, struct step *s);   /* -k diff */
void run_diffs(struct lpb *b, struct step *s, bool collect);

/* --- payload.c --- */
void link_payload(struct lpb *b, struct step *s);

#endif
