/* File-system helpers: mkdir -p for a file's directory, whole-file atomic write (temp, fsync,
 * rename, fsync of the directory) and read, and the errno -> nb_error mapping the io files share. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/io_internal.h"
#include "io/stream.h"

nb_status nb_errno_error(struct nb_error *err, int e, const char *what, const char *path)
{
    switch (e) {
    case ENOENT:
        return nb_error_set(err, NB_ERR_NOT_FOUND, "%s: no such file or directory (%s)", path, what);
    case EACCES:
    case EPERM:
        return nb_error_set(err, NB_ERR_IO, "%s: permission denied (%s): check the file's owner and mode", path,
                            what);
    case EISDIR:
        return nb_error_set(err, NB_ERR_IO, "%s: is a directory, expected a file (%s)", path, what);
    case ENOSPC:
        return nb_error_set(err, NB_ERR_IO, "%s: no space left on device (%s)", path, what);
    case ENOTDIR:
        return nb_error_set(err, NB_ERR_NOT_FOUND, "%s: a part of the path is not a directory (%s)", path, what);
    case ENOMEM:
        return nb_error_set(err, NB_ERR_NOMEM, "%s: out of memory (%s)", path, what);
    default:
        return nb_error_set(err, NB_ERR_IO, "%s: %s failed: %s", path, what, strerror(e));
    }
}

nb_status nb_write_all(int fd, const void *p, size_t n, const char *name, struct nb_error *err)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return nb_errno_error(err, errno, "write", name);
        }
        c += w;
        n -= (size_t)w;
    }
    return NB_OK;
}

/* The directory part of path ("." when there is none). */
static void dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash) { snprintf(out, cap, "."); return; }
    if (slash == path) { snprintf(out, cap, "/"); return; }
    size_t n = (size_t)(slash - path);
    if (n >= cap) n = cap - 1;
    memcpy(out, path, n);
    out[n] = '\0';
}

nb_status nb_fsync_dir_of(const char *path, struct nb_error *err)
{
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return nb_errno_error(err, errno, "open directory for fsync", dir);
    nb_status st = NB_OK;
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
        st = nb_errno_error(err, errno, "fsync directory", dir);
    close(fd);
    return st;
}

nb_status nb_mkdirs_for(const char *path, struct nb_error *err)
{
    char dir[4096];
    if (!path || strlen(path) >= sizeof dir)
        return nb_error_set(err, NB_ERR_CONFIG, "path too long or missing: %.200s", path ? path : "(null)");
    dir_of(path, dir, sizeof dir);
    if (strcmp(dir, ".") == 0 || strcmp(dir, "/") == 0) return NB_OK;
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return NB_OK;
        return nb_error_set(err, NB_ERR_IO, "%s: cannot create directory: a file with that name exists", dir);
    }
    /* Walk the components from the left, creating what is missing. */
    for (char *p = dir + 1;; p++) {
        bool end = *p == '\0';
        if (*p != '/' && !end) continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            *p = saved;
            return nb_errno_error(err, e, "create directory", dir);
        }
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            nb_status s = nb_error_set(err, NB_ERR_IO, "%s: cannot create directory: a file with that name exists", dir);
            *p = saved;
            return s;
        }
        *p = saved;
        if (end) break;
        while (p[1] == '/') p++;   /* "a//b" */
        if (p[1] == '\0') break;
    }
    return NB_OK;
}

nb_status nb_write_file_atomic(const char *path, const void *data, size_t len, struct nb_error *err)
{
    static atomic_uint counter;
    char tmp[4200];
    int fd = -1;
    nb_status st = nb_mkdirs_for(path, err);
    if (st != NB_OK) return st;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return nb_error_set(err, NB_ERR_IO, "%s: is a directory, expected a file", path);
    /* A unique temp name next to the target (same file system, so rename is atomic). */
    for (int attempt = 0; fd < 0; attempt++) {
        snprintf(tmp, sizeof tmp, "%s.nebula-tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&counter, 1));
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && (errno != EEXIST || attempt > 100)) return nb_errno_error(err, errno, "create temp file", tmp);
    }
    if ((st = nb_write_all(fd, data, len, tmp, err)) != NB_OK) goto fail;
    if (fsync(fd) != 0) { st = nb_errno_error(err, errno, "fsync", tmp); goto fail; }
    if (close(fd) != 0) { fd = -1; st = nb_errno_error(err, errno, "close", tmp); goto fail; }
    fd = -1;
    if (rename(tmp, path) != 0) { st = nb_errno_error(err, errno, "rename into place", path); goto fail; }
    return nb_fsync_dir_of(path, err);
fail:
    if (fd >= 0) close(fd);
    unlink(tmp);
    return st;
}

nb_status nb_read_file(const char *path, char **data, size_t *len, struct nb_error *err)
{
    *data = NULL;
    if (len) *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nb_errno_error(err, errno, "open", path);
    nb_status st = NB_OK;
    char *buf = NULL;
    struct stat sb;
    if (fstat(fd, &sb) != 0) { st = nb_errno_error(err, errno, "stat", path); goto fail; }
    if (S_ISDIR(sb.st_mode)) { st = nb_errno_error(err, EISDIR, "read", path); goto fail; }
    /* st_size is a hint (0 for /proc files and pipes): grow until EOF. */
    size_t cap = S_ISREG(sb.st_mode) && sb.st_size > 0 ? (size_t)sb.st_size + 1 : 4096, n = 0;
    buf = malloc(cap);
    if (!buf) { st = nb_error_set(err, NB_ERR_NOMEM, "%s: out of memory reading the file", path); goto fail; }
    for (;;) {
        if (cap - n < 2) {
            char *p = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!p) { st = nb_error_set(err, NB_ERR_NOMEM, "%s: out of memory reading the file", path); goto fail; }
            buf = p;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR) continue;
            st = nb_errno_error(err, errno, "read", path);
            goto fail;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    close(fd);
    *data = buf;
    if (len) *len = n;
    return NB_OK;
fail:
    free(buf);
    close(fd);
    return st;
}
