/* Path globbing for sources: *, ?, [..] within a path segment and ** for any number of
 * directories; results are files, sorted bytewise, without duplicates. Names starting with a dot
 * match only a pattern segment that starts with a dot. ** does not follow symlinked directories
 * (no loops). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/str.h"
#include "io/io_internal.h"
#include "io/stream.h"

#define PATH_CAP 4096

struct glob_ctx {
    char **segs;
    size_t nsegs;
    char **paths;
    size_t count, cap;
    nb_status st;
    struct nb_error *err;
};

static bool has_magic(const char *s) { return strpbrk(s, "*?[") != NULL; }

static void add_path(struct glob_ctx *g, const char *p)
{
    if (g->st != NB_OK) return;
    if (g->count == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        char **np = realloc(g->paths, cap * sizeof *np);
        if (!np) { g->st = nb_error_set(g->err, NB_ERR_NOMEM, "out of memory expanding a glob"); return; }
        g->paths = np;
        g->cap = cap;
    }
    if (!(g->paths[g->count] = strdup(p))) {
        g->st = nb_error_set(g->err, NB_ERR_NOMEM, "out of memory expanding a glob");
        return;
    }
    g->count++;
}

/* dir + "/" + name into out ("" dir means the current directory, written without "./"). */
static bool join(char *out, size_t cap, const char *dir, const char *name)
{
    int n;
    if (!*dir) n = snprintf(out, cap, "%s", name);
    else if (dir[strlen(dir) - 1] == '/') n = snprintf(out, cap, "%s%s", dir, name);
    else n = snprintf(out, cap, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < cap;
}

static void walk(struct glob_ctx *g, const char *dir, size_t i);

/* path exists (as candidate for segment i-1 matched): descend or collect. */
static void visit(struct glob_ctx *g, const char *path, size_t next, bool follow)
{
    struct stat sb;
    if ((follow ? stat(path, &sb) : lstat(path, &sb)) != 0) {
        if (!follow || lstat(path, &sb) != 0) return;   /* vanished, or a dangling symlink */
    }
    if (next == g->nsegs) {
        if (!S_ISDIR(sb.st_mode)) add_path(g, path);
        return;
    }
    if (S_ISDIR(sb.st_mode)) walk(g, path, next);
}

static void walk(struct glob_ctx *g, const char *dir, size_t i)
{
    if (g->st != NB_OK) return;
    const char *seg = g->segs[i];
    /* On the heap: ** recursion is as deep as the tree, and this may run on a small thread stack. */
    char *path = malloc(PATH_CAP);
    if (!path) { g->st = nb_error_set(g->err, NB_ERR_NOMEM, "out of memory expanding a glob"); return; }
    if (strcmp(seg, "**") == 0) {
        /* ** as zero directories here; the loop below descends (not through symlinks) with ** still
         * pending, and a trailing ** collects every file below. */
        if (i + 1 < g->nsegs) walk(g, dir, i + 1);
    } else if (!has_magic(seg)) {
        if (join(path, PATH_CAP, dir, seg)) visit(g, path, i + 1, true);
        free(path);
        return;
    }
    DIR *d = opendir(*dir ? dir : ".");
    if (!d) {
        if (errno == EACCES)
            g->st = nb_error_set(g->err, NB_ERR_IO, "%s: permission denied while expanding a glob", *dir ? dir : ".");
        free(path);
        return;
    }
    struct dirent *e;
    bool dotseg = seg[0] == '.';
    while (g->st == NB_OK && (e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
        if (name[0] == '.' && !dotseg) continue;
        if (!join(path, PATH_CAP, dir, name)) {
            g->st = nb_error_set(g->err, NB_ERR_IO, "%s: a name inside is too long to expand (over %d bytes)", dir,
                                 PATH_CAP);
            break;
        }
        if (strcmp(seg, "**") == 0) {
            struct stat sb;
            if (lstat(path, &sb) != 0) continue;
            struct stat target;
            if (S_ISDIR(sb.st_mode)) walk(g, path, i);
            else if (i + 1 == g->nsegs && !(S_ISLNK(sb.st_mode) && stat(path, &target) == 0 && S_ISDIR(target.st_mode)))
                add_path(g, path);   /* a symlink to a directory is neither followed nor a file */
            continue;
        }
        if (nb_glob_match(seg, name, true)) visit(g, path, i + 1, true);
    }
    closedir(d);
    free(path);
}

static int cmp_paths(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void nb_paths_free(char **paths, size_t count)
{
    if (!paths) return;
    for (size_t i = 0; i < count; i++) free(paths[i]);
    free(paths);
}

nb_status nb_glob_files(const char *pattern, char ***paths, size_t *count, struct nb_error *err)
{
    *paths = NULL;
    *count = 0;
    if (!pattern || !*pattern) return nb_error_set(err, NB_ERR_CONFIG, "empty path pattern");
    struct glob_ctx g = {.err = err, .st = NB_OK};
    char *copy = NULL;
    struct stat sb;
    /* An existing path is itself, even when its name contains glob characters ("x[1].csv"). */
    bool exists = stat(pattern, &sb) == 0;
    if (exists || !has_magic(pattern)) {
        if (!exists) return nb_errno_error(err, errno, "stat", pattern);
        add_path(&g, pattern);
        if (g.st != NB_OK) return g.st;
        *paths = g.paths;
        *count = g.count;
        return NB_OK;
    }
    if (!(copy = strdup(pattern)) || !(g.segs = calloc(strlen(pattern) + 1, sizeof *g.segs))) {
        g.st = nb_error_set(err, NB_ERR_NOMEM, "out of memory expanding a glob");
        goto fail;
    }
    /* Split into segments; a leading '/' is kept as the root directory. */
    char *p = copy;
    const char *root = "";
    if (*p == '/') { root = "/"; while (*p == '/') p++; }
    for (char *tok = strtok(p, "/"); tok; tok = strtok(NULL, "/")) {
        if (g.nsegs > 0 && strcmp(tok, "**") == 0 && strcmp(g.segs[g.nsegs - 1], "**") == 0) continue;
        g.segs[g.nsegs++] = tok;
    }
    if (g.nsegs == 0) {
        g.st = nb_error_set(err, NB_ERR_NOT_FOUND, "no file matches '%s'", pattern);
        goto fail;
    }
    walk(&g, root, 0);
    if (g.st != NB_OK) goto fail;
    if (g.count == 0) {
        g.st = nb_error_set(err, NB_ERR_NOT_FOUND, "no file matches '%s': check the path and the pattern", pattern);
        goto fail;
    }
    qsort(g.paths, g.count, sizeof *g.paths, cmp_paths);
    size_t w = 1;
    for (size_t r = 1; r < g.count; r++) {
        if (strcmp(g.paths[r], g.paths[w - 1]) == 0) free(g.paths[r]);
        else g.paths[w++] = g.paths[r];
    }
    g.count = w;
    free(copy);
    free(g.segs);
    *paths = g.paths;
    *count = g.count;
    return NB_OK;
fail:
    nb_paths_free(g.paths, g.count);
    free(copy);
    free(g.segs);
    return g.st;
}
