/* The `s3` connector: destination = the shared file destination (formats, {stream} paths, partial
 * handling) + an opener that uploads each object with multipart (s3_ostream.c); source = objects
 * listed by prefix/glob and streamed with ranged GETs (s3_source.c). Works with AWS S3 and
 * S3-compatible stores (MinIO, R2, Ceph) through `endpoint` and `path_style`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/common/object_dest.h"
#include "connectors/s3/s3.h"
#include "core/clock.h"
#include "core/log.h"
#include "net/aws_creds.h"

/* ---- shared setup ---------------------------------------------------------------------- */

nb_status nb_s3_setup(const struct nb_context *ctx, struct nb_s3_conn *out, struct nb_error *err)
{
    const struct nb_cfg *cfg = ctx->config;
    memset(out, 0, sizeof *out);
    char source[1200];
    nb_status st = nb_aws_creds_provider_create(nb_cfg_string(cfg, "access_key_id", NULL),
                                                nb_cfg_string(cfg, "secret_access_key", NULL),
                                                nb_cfg_string(cfg, "session_token", NULL),
                                                nb_cfg_string(cfg, "profile", NULL), &out->creds, source, sizeof source, err);
    if (st != NB_OK) return nb_error_prefix(err, "s3 bucket '%s': ", nb_cfg_string(cfg, "bucket", ""));
    NB_DEBUG("s3", "credentials from %s", source);
    int64_t conc = nb_cfg_int(cfg, "max_concurrency", 0);
    if (conc <= 0) conc = ctx->options && ctx->options->max_concurrency ? ctx->options->max_concurrency : 4;
    if (conc > 256) conc = 256;
    out->concurrency = (unsigned)conc;
    int64_t attempts = nb_cfg_int(cfg, "max_attempts", 6), thr = nb_cfg_int(cfg, "breaker_threshold", 5);
    struct nb_http_options ho = {
        .connect_timeout_ms = ctx->options ? ctx->options->connect_timeout_ms : 0,
        .request_timeout_ms = ctx->options ? ctx->options->request_timeout_ms : 0,
        .idle_timeout_ms = ctx->options ? ctx->options->idle_timeout_ms : 0,
        .ca_bundle = nb_cfg_string(cfg, "ca_bundle", NULL),
        .retry = {(unsigned)(attempts < 1 ? 1 : attempts), nb_cfg_duration_ms(cfg, "retry_base", 200),
                  nb_cfg_duration_ms(cfg, "retry_max", 20000), 60000},
        .breaker_threshold = (unsigned)(thr < 1 ? 1 : thr),
        .breaker_cooldown_ms = nb_cfg_duration_ms(cfg, "breaker_cooldown", 5000),
        .cancel = ctx->cancel,
    };
    st = nb_http_client_create(&ho, &out->http, err);
    if (st == NB_OK) {
        struct nb_s3_config sc = {nb_cfg_string(cfg, "bucket", NULL), nb_cfg_string(cfg, "endpoint", NULL),
                                  nb_cfg_string(cfg, "region", "us-east-1"), nb_cfg_bool(cfg, "path_style", false), out->creds};
        st = nb_s3_client_create(&sc, out->http, &out->s3, err);
    }
    if (st != NB_OK) nb_s3_teardown(out);
    return st;
}

void nb_s3_teardown(struct nb_s3_conn *c)
{
    nb_s3_client_destroy(c->s3);
    nb_http_client_destroy(c->http);
    nb_aws_creds_provider_destroy(c->creds);
    c->s3 = NULL;
    c->http = NULL;
    c->creds = NULL;
}

/* ---- destination ----------------------------------------------------------------------- */

static const struct nb_config_key s3_dest_spec[] = {
    S3_COMMON_KEYS,
    {"include", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, nb_object_dest_keys},
    {"part_size", NB_KEY_SIZE, "8MiB", NULL, 0, "multipart part size (at least 5MiB)"},
    {NULL},
};

struct s3_dest {
    struct nb_s3_conn conn;
    struct nb_s3_upload_options up;
    struct nb_object_dest *od;
};

static nb_status s3_open_key(void *ctx, const char *key, bool replace, struct nb_ostream **out, struct nb_error *err)
{
    struct s3_dest *d = ctx;
    struct nb_s3_upload_options up = d->up;
    if (replace) up.overwrite = true;
    nb_status st = nb_s3_ostream_open(d->conn.s3, key, &up, out, err);
    if (st == NB_OK) NB_DEBUG("s3", "writing s3://%s/%s", nb_s3_bucket(d->conn.s3), key);
    return st;
}

static void s3_dest_free(struct s3_dest *d)
{
    nb_s3_teardown(&d->conn);
    free(d);
}

static nb_status s3_dest_open(void **self, const struct nb_context *ctx, struct nb_error *err)
{
    const struct nb_cfg *cfg = ctx->config;
    uint64_t ps = nb_cfg_size(cfg, "part_size", 8u << 20);
    if (ps < NB_S3_MIN_PART || ps > (5ull << 30))
        return nb_error_set(err, NB_ERR_CONFIG, "s3 destination: part_size must be between 5MiB and 5GiB (got %llu bytes)",
                            (unsigned long long)ps);
    struct s3_dest *d = calloc(1, sizeof *d);
    if (!d) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    nb_status st = nb_s3_setup(ctx, &d->conn, err);
    if (st != NB_OK) {
        free(d);
        return st;
    }
    d->up.part_size = (size_t)ps;
    d->up.concurrency = d->conn.concurrency;
    d->up.overwrite = nb_cfg_bool(cfg, "overwrite", false);
    st = nb_object_dest_open(&d->od, ctx, "s3", s3_open_key, d, err);
    if (st != NB_OK) {
        s3_dest_free(d);
        return st;
    }
    *self = d;
    return NB_OK;
}

static nb_status s3_dest_check(void *self, struct nb_error *err)
{
    struct s3_dest *d = self;
    /* ListObjects with max-keys=1: proves the endpoint, the credentials and the bucket. */
    struct nb_s3_call call = {"GET", "", "max-keys=1", NULL, 0, NULL, 0, true, NULL};
    struct nb_http_response r;
    nb_http_response_init(&r);
    nb_status st = nb_s3_call(d->conn.s3, &call, &r, err);
    if (st == NB_OK && (r.status < 200 || r.status > 299)) st = nb_s3_error(d->conn.s3, "GET (list)", "", &r, err);
    nb_http_response_cleanup(&r);
    return st;
}

static nb_status s3_dest_encode(void *self, const struct nb_batch *b, struct nb_buf *out, struct nb_error *err)
{
    return nb_object_dest_encode(((struct s3_dest *)self)->od, b, out, err);
}
static nb_status s3_dest_write(void *self, const struct nb_batch *b, const struct nb_buf *enc, struct nb_error *err)
{
    return nb_object_dest_write(((struct s3_dest *)self)->od, b, enc, err);
}
static nb_status s3_dest_commit(void *self, const char *stream, struct nb_buf *state, struct nb_error *err)
{
    return nb_object_dest_commit(((struct s3_dest *)self)->od, stream, state, err);
}
static bool s3_dest_wants_commit(void *self, const char *stream)
{
    return nb_object_dest_wants_commit(((struct s3_dest *)self)->od, stream);
}
static uint64_t s3_dest_bytes_written(void *self)
{
    return nb_object_dest_bytes_written(((struct s3_dest *)self)->od);
}
static nb_status s3_dest_end(void *self, const char *stream, struct nb_error *err)
{
    return nb_object_dest_end_stream(((struct s3_dest *)self)->od, stream, err);
}
static void s3_dest_close(void *self, bool success, bool keep_partial)
{
    struct s3_dest *d = self;
    if (!d) return;
    nb_object_dest_close(d->od, success, keep_partial);
    s3_dest_free(d);
}

static const struct nb_destination_ops s3_destination = {
    .spec = s3_dest_spec, .typed = true, .open = s3_dest_open, .check = s3_dest_check, .encode = s3_dest_encode,
    .write = s3_dest_write, .commit = s3_dest_commit,
    .wants_commit = s3_dest_wants_commit, .bytes_written = s3_dest_bytes_written, .end_stream = s3_dest_end, .close = s3_dest_close,
};

const struct nb_connector_ops nb_connector_s3 = {
    .name = "s3",
    .description = "Amazon S3 and S3-compatible object stores (parquet/avro/csv/json objects, multipart uploads; csv, json and parquet objects as a source, incremental)",
    .kinds = NB_SOURCE | NB_DESTINATION,
    .source_caps = NB_CAP_FULL_REFRESH | NB_CAP_INCREMENTAL | NB_CAP_RESUME,
    .destination_caps = NB_CAP_FULL_REFRESH | NB_CAP_EXACTLY_ONCE,
    .source = &nb_s3_source_ops,
    .destination = &s3_destination,
};
