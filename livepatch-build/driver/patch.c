/*
 * patch.c - the source patches: which files each one names, the refusal (before
 * anything is written) of a patch naming a file outside SRCDIR, and applying a
 * patch with patch(1), no fuzz, naming the file and hunk when it does not apply.
 *
 * Not for: what is built from the patched files (build.c).
 */
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "tree.h"

/* The files a patch names, and the line of the patch each was found on. */
struct pfiles {
    struct strv names;
    size_t *lines;
};

static void add_file(struct pfiles *pf, const char *f, size_t line, bool dedup)
{
    size_t i;

    if (dedup)
        for (i = 0; i < pf->names.n; i++)
            if (!strcmp(pf->names.v[i], f))
                return;
    strv_push(&pf->names, f);
    if (!(pf->lines = realloc(pf->lines, pf->names.n * sizeof(*pf->lines))))
        die("out of memory");
    pf->lines[pf->names.n - 1] = line;
}

static void pfiles_free(struct pfiles *pf)
{
    strv_free(&pf->names);
    free(pf->lines);
}

/*
 * The files patch names (after -p1), deleted or created ones included, and the
 * sources and targets of git's renames and copies (written without a prefix).  Lines
 * inside hunks are skipped by their counts (a removed line "-- x" is not a file
 * header), and a patch written with DOS line ends loses the "\r" of each line (patch
 * -p1 accepts it so).
 */
static void patch_files(const char *patch, struct pfiles *pf)
{
    FILE *f = fopen(patch, "r");
    char *line = NULL, *name;
    size_t cap = 0, n = 0;
    long old = 0, new = 0;
    ssize_t len;
    regex_t hunk, git;

    memset(pf, 0, sizeof(*pf));
    if (!f)
        die("cannot read %s: %s", patch, strerror(errno));
    if (regcomp(&hunk, "^@@ -[0-9]+(,([0-9]+))? \\+[0-9]+(,([0-9]+))? @@", REG_EXTENDED) ||
        regcomp(&git, "^diff --git ([^ ]+) ([^ ]+)$", REG_EXTENDED))
        die("out of memory");
    while ((len = getline(&line, &cap, f)) >= 0) {
        bool strip;
        regmatch_t m[5];

        n++;
        if (len && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        if (old > 0 || new > 0) {
            switch (line[0]) {
            case ' ': case '\0': old--, new--; break;
            case '-': old--; break;
            case '+': new--; break;
            case '\\': break;
            default: old = new = 0;   /* a short hunk: read the line as a header */
            }
            if (old > 0 || new > 0)
                continue;
            if (!line[0] || strchr("-+ \\", line[0]))
                continue;
        }
        if (!strncmp(line, "@@ -", 4)) {
            /* "@@ -A[,B] +C[,D] @@": B old and D new lines follow (1 when not given). */
            if (!regexec(&hunk, line, 5, m, 0)) {
                old = m[2].rm_so >= 0 ? strtol(line + m[2].rm_so, NULL, 10) : 1;
                new = m[4].rm_so >= 0 ? strtol(line + m[4].rm_so, NULL, 10) : 1;
            }
            continue;
        }
        if (!strncmp(line, "+++ ", 4) || !strncmp(line, "--- ", 4)) {
            name = line + 4;
            name[strcspn(name, "\t")] = '\0';
            strip = true;
        } else if (!strncmp(line, "diff --git ", 11)) {
            /* (patch takes the names from here for a change of mode only; names with
             * blanks are quoted by git, and read from the other headers) */
            char *a, *slash;

            if (regexec(&git, line, 3, m, 0))
                continue;
            line[m[1].rm_eo] = '\0';
            a = line + m[1].rm_so;
            if (a[0] == '/') {
                add_file(pf, a, n, false);
                continue;
            }
            if ((slash = strchr(a, '/')) && slash[1])
                add_file(pf, slash + 1, n, true);
            name = line + m[2].rm_so;
            strip = true;
        } else if (!strncmp(line, "rename from ", 12) || !strncmp(line, "rename to ", 10) ||
                   !strncmp(line, "copy from ", 10) || !strncmp(line, "copy to ", 8)) {
            name = strchr(strchr(line, ' ') + 1, ' ') + 1;
            strip = false;
        } else {
            continue;
        }
        if (!strcmp(name, "/dev/null"))
            continue;
        /* An absolute name is refused even though -p1 would make it relative. */
        if (name[0] == '/') {
            add_file(pf, name, n, false);
            continue;
        }
        if (strip && strchr(name, '/'))
            name = strchr(name, '/') + 1;
        if (name[0])
            add_file(pf, name, n, true);
    }
    free(line);
    fclose(f);
    regfree(&hunk);
    regfree(&git);
}

/*
 * Where path really leads, every symbolic link followed, parts that do not exist
 * taken as written (realpath -m).
 */
static char *resolve_all(const char *path)
{
    struct strv todo = { 0 };
    char *cur = strdup("/"), *copy = strdup(path), *tok, *save = NULL;
    int links = 0;

    if (!cur || !copy)
        die("out of memory");
    /* The parts still to walk, last first (so that a link's target goes on top). */
    {
        struct strv parts = { 0 };
        size_t i;

        for (tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save))
            strv_push(&parts, tok);
        for (i = parts.n; i-- > 0;)
            strv_push(&todo, parts.v[i]);
        strv_free(&parts);
    }
    free(copy);
    while (todo.n) {
        char *part = todo.v[--todo.n], *next, target[PATH_MAX];
        struct stat st;
        ssize_t len;

        todo.v[todo.n] = NULL;
        if (!strcmp(part, ".")) {
            free(part);
            continue;
        }
        if (!strcmp(part, "..")) {
            char *slash = strrchr(cur, '/');

            if (slash == cur)
                cur[1] = '\0';
            else
                *slash = '\0';
            free(part);
            continue;
        }
        if (asprintf(&next, "%s%s%s", cur, strcmp(cur, "/") ? "/" : "", part) < 0)
            die("out of memory");
        free(part);
        if (lstat(next, &st) == 0 && S_ISLNK(st.st_mode) && links++ < 64 &&
            (len = readlink(next, target, sizeof(target) - 1)) > 0) {
            struct strv parts = { 0 };
            size_t i;

            target[len] = '\0';
            free(next);
            if (target[0] == '/')
                strcpy(cur, "/");
            save = NULL;
            for (tok = strtok_r(target, "/", &save); tok; tok = strtok_r(NULL, "/", &save))
                strv_push(&parts, tok);
            for (i = parts.n; i-- > 0;)
                strv_push(&todo, parts.v[i]);
            strv_free(&parts);
            continue;
        }
        free(cur);
        cur = next;
    }
    strv_free(&todo);
    return cur;
}

void check_patch_paths(const struct lpb *b)
{
    size_t i, k;

    for (i = 0; i < b->patches.n; i++) {
        const char *p = b->patches.v[i], *base = strrchr(p, '/') + 1;
        struct pfiles pf;

        patch_files(p, &pf);
        for (k = 0; k < pf.names.n; k++) {
            const char *f = pf.names.v[k], *why = NULL;
            char *wrapped;

            if (asprintf(&wrapped, "/%s/", f) < 0)
                die("out of memory");
            if (f[0] == '/')
                why = "is an absolute path";
            else if (strstr(wrapped, "/../"))
                why = "goes up out of the tree (..)";
            free(wrapped);
            if (why)
                die("patch %s line %zu: '%s' %s; refusing a patch that names files outside %s",
                    base, pf.lines[k], f, why, b->srcdir);
        }
        for (k = 0; k < pf.names.n; k++) {
            char *full, *real;
            size_t n = strlen(b->srcdir);

            if (asprintf(&full, "%s/%s", b->srcdir, pf.names.v[k]) < 0)
                die("out of memory");
            real = resolve_all(full);
            if (strncmp(real, b->srcdir, n) || real[n] != '/')
                die("patch %s line %zu: '%s' leads out of the tree through a symbolic link (to "
                    "%s); refusing a patch that names files outside %s",
                    base, pf.lines[k], pf.names.v[k], real, b->srcdir);
            free(real);
            free(full);
        }
        pfiles_free(&pf);
    }
}

void apply_patch(const struct lpb *b, const char *p, const char *dir, struct strv *touched)
{
    const char *base = strrchr(p, '/') + 1;
    const char *dirs[] = { b->output };
    struct pfiles pf;
    struct strv argv = { 0 };
    struct run_opts o = { .in = p };
    char *text = NULL;
    size_t i;
    int rc;

    patch_files(p, &pf);
    for (i = 0; i < pf.names.n; i++) {
        const char *f = pf.names.v[i];
        char *in_dir, *in_src;
        struct lp_error e = { 0 };

        if (asprintf(&in_dir, "%s/%s", dir, f) < 0 || asprintf(&in_src, "%s/%s", b->srcdir, f) < 0)
            die("out of memory");
        if (access(in_dir, F_OK) && !access(in_src, F_OK) &&
            tree_copy_file(in_src, in_dir, &e)) {
            char what[PATH_MAX + 32];

            snprintf(what, sizeof(what), "copying the files %s patches", base);
            write_failed(b, what, e.msg, dirs, 1);
            die("cannot copy the files %s patches: %s", base, e.msg);
        }
        free(in_dir);
        free(in_src);
    }
    /* Applied for real at once: on failure the copy in DIR is thrown away anyway.  (What
     * patch says is kept in memory: with a full disk, a file would lose it.) */
    strv_push(&argv, "patch");
    strv_push(&argv, "-d");
    strv_push(&argv, dir);
    strv_push(&argv, "-p1");
    strv_push(&argv, "-N");
    strv_push(&argv, "-f");
    strv_push(&argv, "--fuzz=0");
    strv_push(&argv, "--no-backup-if-mismatch");
    strv_push(&argv, "-r");
    strv_push(&argv, "-");
    rc = run_capture(strv_argv(&argv), true, &o, &text);
    strv_free(&argv);
    if (rc) {
        struct strv why = { 0 }, all = { 0 };
        char *cur = NULL, *line, *save = NULL;
        size_t k;
        char what[PATH_MAX + 32];

        snprintf(what, sizeof(what), "applying %s", base);
        write_failed(b, what, text ? text : "", dirs, 1);
        for (line = strtok_r(text ? text : (char[]){ 0 }, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            strv_push(&all, line);
            if (!strncmp(line, "patching file ", 14) || !strncmp(line, "checking file ", 14)) {
                free(cur);
                cur = strdup(strstr(line, " file ") + 6);
            } else if (strstr(line, "FAILED") || strstr(line, "can't find file") ||
                       strstr(line, "No such file") || strstr(line, "Reversed") ||
                       strstr(line, "malformed") || strstr(line, "garbage")) {
                char *rej = strstr(line, " -- saving rejects");

                if (rej)
                    *rej = '\0';
                if (cur)
                    strv_pushf(&why, "%s: %s", cur, line);
                else
                    strv_push(&why, line);
            }
        }
        if (!why.n)
            for (k = 0; k < all.n; k++)
                strv_push(&why, all.v[k]);
        die("patch %s does not apply: %s", base, strv_join(&why, 8, "; "));
    }
    free(text);
    for (i = 0; i < pf.names.n; i++)
        strv_push(touched, pf.names.v[i]);
    pfiles_free(&pf);
}
