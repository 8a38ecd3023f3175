/* The "parquet" format ops: option keys and their validation, and the writer behind the generic
 * format interface. Compression is inside the file (per page), never around it. */
#include <stdlib.h>
#include <string.h>

#include "formats/format.h"
#include "formats/parquet/parquet.h"

const struct nb_config_key nb_parquet_format_keys[] = {
    {"compression", NB_KEY_ENUM, "snappy", "none|snappy|gzip|zstd|lz4_raw", 0,
     "page compression inside the file (the file itself is never wrapped in a codec)"},
    {"compression_level", NB_KEY_INT, "0", NULL, 0, "codec level, 0 = default (gzip 1..9, zstd 1..22)"},
    {"row_group_size", NB_KEY_INT, "1048576", NULL, 0, "rows per row group at most (a row group also ends at row_group_bytes)"},
    {"row_group_bytes", NB_KEY_SIZE, "128MiB", NULL, 0, "encoded bytes buffered per row group at most: bounds the writer's memory"},
    {"page_size", NB_KEY_SIZE, "1MiB", NULL, 0, "target size of a data page (before compression)"},
    {"dictionary", NB_KEY_BOOL, "true", NULL, 0, "dictionary-encode columns (falls back to PLAIN past dictionary_page_size)"},
    {"dictionary_page_size", NB_KEY_SIZE, "1MiB", NULL, 0, "largest dictionary per column chunk before falling back to PLAIN"},
    {"page_index", NB_KEY_BOOL, "true", NULL, 0, "write the page index (ColumnIndex/OffsetIndex) for page skipping"},
    {NULL},
};

static nb_status options_create(const struct nb_cfg *cfg, void **options, struct nb_error *err)
{
    struct nb_parquet_options *o = calloc(1, sizeof *o);
    if (!o) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    nb_parquet_options_default(o);
    if (cfg) {
        const char *codec = nb_cfg_string(cfg, "compression", "snappy");
        if (strcmp(codec, "auto") == 0) codec = "snappy";
        if (!nb_parquet_codec_parse(codec, &o->codec)) {
            free(o);
            return nb_error_set(err, NB_ERR_CONFIG, "parquet: compression '%s' is not one of none, snappy, gzip, zstd, "
                                "lz4_raw", codec);
        }
        int64_t level = nb_cfg_int(cfg, "compression_level", 0);
        int64_t lo = o->codec == NB_PQ_ZSTD ? -7 : 0, hi = o->codec == NB_PQ_ZSTD ? 22 : o->codec == NB_PQ_GZIP ? 9 : 0;
        if (level != 0 && (level < lo || level > hi)) {
            free(o);
            if (hi == 0)
                return nb_error_set(err, NB_ERR_CONFIG, "parquet: compression_level has no meaning for %s; remove it", codec);
            return nb_error_set(err, NB_ERR_CONFIG, "parquet: compression_level %lld is out of range for %s (%lld..%lld)",
                                (long long)level, codec, (long long)lo, (long long)hi);
        }
        o->level = (int)level;
        int64_t rows = nb_cfg_int(cfg, "row_group_size", (int64_t)o->row_group_rows);
        uint64_t rg_bytes = nb_cfg_size(cfg, "row_group_bytes", o->row_group_bytes);
        uint64_t page = nb_cfg_size(cfg, "page_size", o->page_size);
        uint64_t dict = nb_cfg_size(cfg, "dictionary_page_size", o->dictionary_page_size);
        if (rows < 1 || rg_bytes < 1024 || page < 1024 || page > (1u << 30) || dict > (1u << 30)) {
            free(o);
            return nb_error_set(err, NB_ERR_CONFIG, "parquet: row_group_size must be >= 1, row_group_bytes >= 1KiB, "
                                "page_size 1KiB..1GiB and dictionary_page_size <= 1GiB");
        }
        o->row_group_rows = (uint64_t)rows;
        o->row_group_bytes = rg_bytes;
        o->page_size = page;
        o->dictionary_page_size = dict;
        o->dictionary = nb_cfg_bool(cfg, "dictionary", true);
        o->page_index = nb_cfg_bool(cfg, "page_index", true);
    }
    *options = o;
    return NB_OK;
}

static void options_destroy(void *options) { free(options); }

static nb_status writer_open(void **writer, const void *options, struct nb_ostream *os, struct nb_schema *schema,
                             const struct nb_format_resume *resume, struct nb_error *err)
{
    if (resume && resume->resuming)
        return nb_error_set(err, NB_ERR_UNSUPPORTED, "parquet: a partial Parquet file cannot be resumed; rerun the stream");
    struct nb_parquet_options def;
    if (!options) nb_parquet_options_default(&def);
    return nb_parquet_writer_open((struct nb_parquet_writer **)writer, options ? options : &def, os, schema, err);
}

/* On a worker thread: the per-value work of the write, so the committer only merges (writer.c). */
static nb_status encode(const void *options, const struct nb_batch *b, struct nb_buf *out, struct nb_error *err)
{
    (void)err;
    struct nb_parquet_options def;
    if (!options) nb_parquet_options_default(&def);
    return nb_parquet_encode(options ? options : &def, b, out);
}

static nb_status writer_write(void *writer, const struct nb_batch *b, const struct nb_buf *encoded, struct nb_error *err)
{
    return nb_parquet_writer_write_encoded(writer, b, encoded, err);
}

/* Nothing to push: a Parquet file is unreadable until its footer, so an early row-group boundary
 * would only make row groups smaller. Row groups are cut by size and rows instead. */
static nb_status writer_flush(void *writer, struct nb_error *err)
{
    (void)writer;
    (void)err;
    return NB_OK;
}

static nb_status writer_finish(void *writer, struct nb_error *err) { return nb_parquet_writer_finish(writer, err); }
static void writer_destroy(void *writer) { nb_parquet_writer_destroy(writer); }

const struct nb_format_ops nb_format_parquet = {
    .name = "parquet",
    .extension = ".parquet",
    .spec = nb_parquet_format_keys,
    .keeps_mismatches_as_text = false,
    .resumable = false,
    .compresses_itself = true,
    .options_create = options_create,
    .options_destroy = options_destroy,
    .encode = encode,
    .writer_open = writer_open,
    .writer_write = writer_write,
    .writer_flush = writer_flush,
    .writer_finish = writer_finish,
    .writer_destroy = writer_destroy,
};
