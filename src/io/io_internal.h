/* Internals shared by the io files (not part of the public stream.h): the per-codec encoder and
 * decoder interfaces that compress_out.c / decompress_in.c drive, CRC-32C, and file helpers. */
#ifndef NB_IO_INTERNAL_H
#define NB_IO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "io/crc32c.h"
#include "io/stream.h"

/* Where an encoder puts its output (the compress ostream passes it to the inner stream). */
typedef nb_status (*nb_zsink)(void *ctx, const void *p, size_t n, struct nb_error *err);

struct nb_zenc;
struct nb_zenc_ops {
    /* Compress n bytes (a frame/member is started on demand). Output goes to sink. */
    nb_status (*write)(struct nb_zenc *e, const uint8_t *p, size_t n, nb_zsink sink, void *ctx, struct nb_error *err);
    /* End the current frame/member so everything so far is a complete compressed stream. Called
     * with nothing written since the last end, it emits a complete empty frame (used so that a
     * finished file is never zero bytes). A later write starts a new frame. */
    nb_status (*end)(struct nb_zenc *e, nb_zsink sink, void *ctx, struct nb_error *err);
    void (*destroy)(struct nb_zenc *e);
};
struct nb_zenc {
    const struct nb_zenc_ops *ops;
};

struct nb_zdec;
struct nb_zdec_ops {
    /* Decode from in[0..in_len) into out[0..out_cap). *in_used / *out_made report progress (both may
     * be 0 when more input is needed). *boundary says whether the decoder now sits between frames,
     * i.e. the input consumed so far is a complete stream. On corrupt input: NB_ERR_INVALID with
     * a short reason in err (the caller adds the name, codec and offset), *in_used being where the
     * problem was seen. */
    nb_status (*decode)(struct nb_zdec *d, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                        size_t out_cap, size_t *out_made, bool *boundary, struct nb_error *err);
    void (*destroy)(struct nb_zdec *d);
};
struct nb_zdec {
    const struct nb_zdec_ops *ops;
};

/* One pair per codec (codec_<name>.c). level 0 = the codec's default; a level out of range is
 * NB_ERR_CONFIG. */
nb_status nb_zenc_gzip_create(int level, struct nb_zenc **out, struct nb_error *err);
nb_status nb_zenc_zstd_create(int level, struct nb_zenc **out, struct nb_error *err);
nb_status nb_zenc_lz4_create(int level, struct nb_zenc **out, struct nb_error *err);
nb_status nb_zenc_bzip2_create(int level, struct nb_zenc **out, struct nb_error *err);
nb_status nb_zenc_xz_create(int level, struct nb_zenc **out, struct nb_error *err);
nb_status nb_zenc_snappy_create(int level, struct nb_zenc **out, struct nb_error *err);
nb_status nb_zdec_gzip_create(struct nb_zdec **out, struct nb_error *err);
nb_status nb_zdec_zstd_create(struct nb_zdec **out, struct nb_error *err);
nb_status nb_zdec_lz4_create(struct nb_zdec **out, struct nb_error *err);
nb_status nb_zdec_bzip2_create(struct nb_zdec **out, struct nb_error *err);
nb_status nb_zdec_xz_create(struct nb_zdec **out, struct nb_error *err);
nb_status nb_zdec_snappy_create(struct nb_zdec **out, struct nb_error *err);

/* A compress ostream without its inner stream yet (so a bad codec or level is refused before a
 * file is touched), and attaching the inner stream to it. codec must not be NONE. */
nb_status nb_compress_ostream_prepare(enum nb_codec codec, int level, struct nb_ostream **out, struct nb_error *err);
void nb_compress_ostream_attach(struct nb_ostream *s, struct nb_ostream *inner);

/* Size of the chunks encoders hand to their sink. */
#define NB_ZCHUNK (128u * 1024u)


/* fsync the directory holding path (so a rename or a new file in it is durable). */
nb_status nb_fsync_dir_of(const char *path, struct nb_error *err);
/* write(2) all of p, retrying on EINTR and short writes; errors name `name`. */
nb_status nb_write_all(int fd, const void *p, size_t n, const char *name, struct nb_error *err);
/* Map an errno from opening `path` to a status and message. */
nb_status nb_errno_error(struct nb_error *err, int e, const char *what, const char *path);

/* Seek a file istream to an absolute offset; NB_ERR_UNSUPPORTED when it is not seekable (a pipe). */
nb_status nb_file_istream_seek(struct nb_istream *s, uint64_t offset, struct nb_error *err);

#endif
