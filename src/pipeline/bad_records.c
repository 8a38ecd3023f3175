/* The run's bad-record sink. */
#include "pipeline/bad_records.h"

#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "io/stream.h"

static void base64(struct nb_buf *out, const unsigned char *p, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        nb_buf_putc(out, tbl[(v >> 18) & 63]);
        nb_buf_putc(out, tbl[(v >> 12) & 63]);
        nb_buf_putc(out, i + 1 < n ? tbl[(v >> 6) & 63] : '=');
        nb_buf_putc(out, i + 2 < n ? tbl[v & 63] : '=');
    }
}

static nb_status report(struct nb_bad_record_sink *sink, const struct nb_bad_record *rec, struct nb_error *err)
{
    struct nb_bad_records *b = (struct nb_bad_records *)sink;
    const char *loc = rec->location ? rec->location : "?";
    const char *why = rec->reason ? rec->reason : "bad record";
    if (b->policy == NB_BAD_FAIL)
        return nb_error_set(err, NB_ERR_INVALID, "%s: %s (errors.on_bad_record is fail; use skip or dead_letter to go on)",
                            loc, why);
    pthread_mutex_lock(&b->lock);
    b->count++;
    uint64_t count = b->count;
    nb_status rc = NB_OK;
    if (b->policy == NB_BAD_DEAD_LETTER && b->dead_letter) {
        struct nb_buf line;
        nb_buf_init(&line);
        nb_buf_puts(&line, "{\"stream\":");
        nb_buf_json_string(&line, rec->stream ? rec->stream : "", rec->stream ? strlen(rec->stream) : 0);
        nb_buf_puts(&line, ",\"location\":");
        nb_buf_json_string(&line, loc, strlen(loc));
        nb_buf_puts(&line, ",\"reason\":");
        nb_buf_json_string(&line, why, strlen(why));
        if (rec->raw && nb_utf8_valid(rec->raw, rec->raw_len)) {
            nb_buf_puts(&line, ",\"record\":");
            nb_buf_json_string(&line, rec->raw, rec->raw_len);
        } else if (rec->raw) {
            nb_buf_puts(&line, ",\"record_base64\":\"");
            base64(&line, (const unsigned char *)rec->raw, rec->raw_len);
            nb_buf_putc(&line, '"');
        }
        nb_buf_puts(&line, "}\n");
        if (line.oom || fwrite(line.data, 1, line.len, b->dead_letter) != line.len)
            rc = nb_error_set(err, NB_ERR_IO, "cannot write the dead-letter file %s", b->dead_letter_path);
        nb_buf_cleanup(&line);
    }
    pthread_mutex_unlock(&b->lock);
    if (rc != NB_OK) return rc;
    if (count <= 3) NB_WARN("bad-record", "%s: %s (%s)", loc, why, b->policy == NB_BAD_SKIP ? "skipped" : "dead-lettered");
    if (b->max && count > b->max)
        return nb_error_set(err, NB_ERR_LIMIT, "%s: %s; that is %llu bad records, more than errors.max_bad_records (%llu)",
                            loc, why, (unsigned long long)count, (unsigned long long)b->max);
    return NB_OK;
}

nb_status nb_bad_records_init(struct nb_bad_records *b, const struct nb_run_options *opts, struct nb_error *err)
{
    memset(b, 0, sizeof *b);
    b->sink.report = report;
    b->policy = opts->on_bad_record;
    b->max = opts->max_bad_records;
    b->dead_letter_path = opts->dead_letter_path;
    pthread_mutex_init(&b->lock, NULL);
    if (b->policy == NB_BAD_DEAD_LETTER) {
        if (nb_mkdirs_for(b->dead_letter_path, err) != NB_OK) return NB_ERR_IO;
        b->dead_letter = fopen(b->dead_letter_path, "a");
        if (!b->dead_letter)
            return nb_error_set(err, NB_ERR_IO, "cannot open the dead-letter file %s for appending", b->dead_letter_path);
    }
    return NB_OK;
}

nb_status nb_bad_records_flush(struct nb_bad_records *b, struct nb_error *err)
{
    if (!b->dead_letter) return NB_OK;
    pthread_mutex_lock(&b->lock);
    int bad = fflush(b->dead_letter) != 0 || fsync(fileno(b->dead_letter)) != 0;
    pthread_mutex_unlock(&b->lock);
    return bad ? nb_error_set(err, NB_ERR_IO, "cannot flush the dead-letter file %s", b->dead_letter_path) : NB_OK;
}

uint64_t nb_bad_records_count(struct nb_bad_records *b)
{
    pthread_mutex_lock(&b->lock);
    uint64_t n = b->count;
    pthread_mutex_unlock(&b->lock);
    return n;
}

void nb_bad_records_cleanup(struct nb_bad_records *b)
{
    if (b->dead_letter) fclose(b->dead_letter);
    b->dead_letter = NULL;
    pthread_mutex_destroy(&b->lock);
}
