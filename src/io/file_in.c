/* Input files: open a path ("-" is stdin) with errors that name it, and nb_input_open, which
 * stacks a decompressor chosen by codec or extension and positions the stream at an
 * uncompressed offset (a seek for plain files, read-and-discard otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io_internal.h"
#include "io/stream.h"

struct file_istream {
    struct nb_istream base;
    int fd;
    bool is_stdin, seekable;
    char *path;
};

static nb_status file_read(struct nb_istream *s, void *buf, size_t cap, size_t *n, struct nb_error *err)
{
    struct file_istream *f = (struct file_istream *)s;
    *n = 0;
    if (cap == 0) return NB_OK;
    for (;;) {
        ssize_t r = read(f->fd, buf, cap > (1u << 30) ? (1u << 30) : cap);
        if (r < 0) {
            if (errno == EINTR) continue;
            return nb_errno_error(err, errno, "read", f->path);
        }
        if (r == 0) return NB_DONE;
        *n = (size_t)r;
        s->raw_read += (uint64_t)r;
        return NB_OK;
    }
}

static void file_istream_destroy(struct nb_istream *s)
{
    struct file_istream *f = (struct file_istream *)s;
    if (!f->is_stdin && f->fd >= 0) close(f->fd);
    free(f->path);
    free(f);
}

static const struct nb_istream_ops file_istream_ops = {.read = file_read, .destroy = file_istream_destroy};

nb_status nb_file_istream_open(const char *path, struct nb_istream **out, struct nb_error *err)
{
    *out = NULL;
    if (!path || !*path) return nb_error_set(err, NB_ERR_CONFIG, "input path is empty");
    struct file_istream *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(strcmp(path, "-") == 0 ? "(stdin)" : path))) {
        free(f);
        return nb_error_set(err, NB_ERR_NOMEM, "%s: out of memory opening the input", path);
    }
    f->base.ops = &file_istream_ops;
    nb_status st;
    if (strcmp(path, "-") == 0) {
        f->fd = STDIN_FILENO;
        f->is_stdin = true;
    } else {
        f->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (f->fd < 0) { st = nb_errno_error(err, errno, "open", path); goto fail; }
    }
    struct stat sb;
    if (fstat(f->fd, &sb) != 0) { st = nb_errno_error(err, errno, "stat", f->path); goto fail; }
    if (S_ISDIR(sb.st_mode)) { st = nb_errno_error(err, EISDIR, "open", f->path); goto fail; }
    if (S_ISREG(sb.st_mode)) {
        f->base.raw_size = (uint64_t)sb.st_size;
        f->seekable = true;
    }
    *out = &f->base;
    return NB_OK;
fail:
    if (!f->is_stdin && f->fd >= 0) close(f->fd);
    free(f->path);
    free(f);
    return st;
}

nb_status nb_file_istream_seek(struct nb_istream *s, uint64_t offset, struct nb_error *err)
{
    if (s->ops != &file_istream_ops) return NB_ERR_UNSUPPORTED;
    struct file_istream *f = (struct file_istream *)s;
    if (!f->seekable) return NB_ERR_UNSUPPORTED;
    if (offset > s->raw_size)
        return nb_error_set(err, NB_ERR_INVALID,
                            "%s: cannot resume at byte %llu: the file has only %llu bytes (was it replaced?)", f->path,
                            (unsigned long long)offset, (unsigned long long)s->raw_size);
    if (lseek(f->fd, (off_t)offset, SEEK_SET) < 0) return nb_errno_error(err, errno, "seek", f->path);
    s->raw_read = offset;
    return NB_OK;
}

/* Read and drop `offset` bytes (through a decompressor, or from a pipe). */
static nb_status skip_bytes(struct nb_istream *s, uint64_t offset, const char *path, struct nb_error *err)
{
    unsigned char scratch[64 * 1024];
    uint64_t left = offset;
    while (left > 0) {
        size_t n = 0;
        nb_status st = nb_istream_read(s, scratch, left < sizeof scratch ? (size_t)left : sizeof scratch, &n, err);
        if (st == NB_DONE || (st == NB_OK && n == 0))
            return nb_error_set(err, NB_ERR_INVALID,
                                "%s: cannot resume at byte %llu: the data ends at byte %llu (was the file replaced?)",
                                path, (unsigned long long)offset, (unsigned long long)(offset - left));
        if (st != NB_OK) return st;
        left -= n;
    }
    return NB_OK;
}

nb_status nb_input_open(const char *path, enum nb_codec codec, bool auto_codec, uint64_t offset,
                        struct nb_istream **out, struct nb_error *err)
{
    *out = NULL;
    if (auto_codec && codec == NB_CODEC_NONE && path) codec = nb_codec_from_path(path);
    struct nb_istream *file = NULL, *s = NULL;
    nb_status st = nb_file_istream_open(path, &file, err);
    if (st != NB_OK) return st;
    const char *name = strcmp(path, "-") == 0 ? "(stdin)" : path;
    if (codec == NB_CODEC_NONE) {
        s = file;
        if (offset > 0) {
            st = nb_file_istream_seek(file, offset, err);
            if (st == NB_ERR_UNSUPPORTED) st = skip_bytes(file, offset, name, err);
            if (st != NB_OK) goto fail;
        }
    } else {
        if ((st = nb_decompress_istream_create(codec, file, name, &s, err)) != NB_OK) {
            nb_istream_destroy(file);
            return st;
        }
        if (offset > 0 && (st = skip_bytes(s, offset, name, err)) != NB_OK) goto fail;
    }
    *out = s;
    return NB_OK;
fail:
    nb_istream_destroy(s);
    return st;
}
