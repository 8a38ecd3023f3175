/* Codec names and file extensions: "gzip" <-> NB_CODEC_GZIP <-> ".gz", and the generic destroy
 * entry points of the two stream kinds. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "io/stream.h"

static const struct {
    const char *name;
    enum nb_codec codec;
} codec_names[] = {
    {"none", NB_CODEC_NONE}, {"gzip", NB_CODEC_GZIP},   {"gz", NB_CODEC_GZIP},    {"zstd", NB_CODEC_ZSTD},
    {"zst", NB_CODEC_ZSTD},  {"lz4", NB_CODEC_LZ4},     {"bzip2", NB_CODEC_BZIP2}, {"bz2", NB_CODEC_BZIP2},
    {"xz", NB_CODEC_XZ},     {"snappy", NB_CODEC_SNAPPY}, {"uncompressed", NB_CODEC_NONE},
};

static const struct {
    const char *ext;
    enum nb_codec codec;
} codec_exts[] = {
    {".gz", NB_CODEC_GZIP}, {".zst", NB_CODEC_ZSTD}, {".lz4", NB_CODEC_LZ4},
    {".bz2", NB_CODEC_BZIP2}, {".xz", NB_CODEC_XZ}, {".sz", NB_CODEC_SNAPPY},
};

nb_status nb_codec_parse(const char *name, enum nb_codec *out, struct nb_error *err)
{
    if (name) {
        for (size_t i = 0; i < sizeof codec_names / sizeof codec_names[0]; i++) {
            if (strcasecmp(name, codec_names[i].name) == 0) {
                *out = codec_names[i].codec;
                return NB_OK;
            }
        }
    }
    return nb_error_set(err, NB_ERR_CONFIG,
                        "unknown compression '%s': use one of none, gzip, zstd, lz4, bzip2, xz, snappy",
                        name ? name : "(null)");
}

const char *nb_codec_name(enum nb_codec c)
{
    switch (c) {
    case NB_CODEC_NONE: return "none";
    case NB_CODEC_GZIP: return "gzip";
    case NB_CODEC_ZSTD: return "zstd";
    case NB_CODEC_LZ4: return "lz4";
    case NB_CODEC_BZIP2: return "bzip2";
    case NB_CODEC_XZ: return "xz";
    case NB_CODEC_SNAPPY: return "snappy";
    }
    return "unknown";
}

static size_t codec_ext_len(const char *path, enum nb_codec *codec)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof codec_exts / sizeof codec_exts[0]; i++) {
        size_t e = strlen(codec_exts[i].ext);
        /* A bare ".gz" (nothing before the dot, or a directory part ending there) is no extension. */
        if (n > e && strcasecmp(path + n - e, codec_exts[i].ext) == 0 && path[n - e - 1] != '/') {
            if (codec) *codec = codec_exts[i].codec;
            return e;
        }
    }
    return 0;
}

enum nb_codec nb_codec_from_path(const char *path)
{
    enum nb_codec c = NB_CODEC_NONE;
    if (path) codec_ext_len(path, &c);
    return c;
}

void nb_path_strip_codec(const char *path, char *out, size_t cap)
{
    if (cap == 0) return;
    if (!path) { out[0] = '\0'; return; }
    size_t keep = strlen(path) - codec_ext_len(path, NULL);
    if (keep >= cap) keep = cap - 1;
    memmove(out, path, keep);
    out[keep] = '\0';
}

void nb_ostream_destroy(struct nb_ostream *s)
{
    if (s) s->ops->destroy(s);
}

void nb_istream_destroy(struct nb_istream *s)
{
    if (s) s->ops->destroy(s);
}
