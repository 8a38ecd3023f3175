/* Object-store sources: the csv source over a store's listing and ranged reads. */
#include "connectors/common/object_source.h"

nb_status nb_object_source_open(struct nb_object_source *o, const struct nb_source_ops *csv,
                                const struct nb_context *ctx, const struct nb_file_access *fa, struct nb_error *err)
{
    const struct nb_cfg *cfg = ctx->config;
    o->csv = csv;
    struct nb_cfg *m = nb_cfg_new_map();
    bool ok = m != NULL;
    const struct nb_cfg *cm = nb_cfg_child(cfg, "csv");
    for (size_t i = 0; ok && cm && cm->kind == NB_CFG_MAP && i < cm->n_children; i++) {
        const struct nb_cfg *k = cm->children[i];
        if (k->kind == NB_CFG_SCALAR && k->key && k->value) ok = nb_cfg_set(m, k->key, k->value) != NULL;
    }
    static const char *pass[] = {"path", "stream", "compression"};
    for (size_t i = 0; ok && i < sizeof pass / sizeof *pass; i++) {
        const char *v = nb_cfg_string(cfg, pass[i], NULL);
        if (v) ok = nb_cfg_set(m, pass[i], v) != NULL;
    }
    if (ok && nb_cfg_bool(cfg, "stream_per_file", false)) ok = nb_cfg_set(m, "stream_per_file", "true") != NULL;
    if (!ok) {
        nb_cfg_destroy(m);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    }
    o->csv_cfg = m;
    nb_status st = nb_cfg_validate(m, csv->spec, "source.csv", err);
    if (st == NB_OK) {
        o->fa = *fa;
        o->ictx = *ctx;
        o->ictx.config = m;
        o->ictx.files = &o->fa;
        st = csv->open(&o->inner, &o->ictx, err);
        if (st != NB_OK) o->inner = NULL;
    }
    if (st != NB_OK) nb_object_source_close(o);
    return st;
}

void nb_object_source_close(struct nb_object_source *o)
{
    if (o->inner) o->csv->close(o->inner);
    o->inner = NULL;
    nb_cfg_destroy(o->csv_cfg);
    o->csv_cfg = NULL;
}

nb_status nb_object_source_check(void *self, struct nb_error *err)
{
    struct nb_object_source *o = self;
    return o->csv->check ? o->csv->check(o->inner, err) : NB_OK;
}

nb_status nb_object_source_discover(void *self, struct nb_buf *json, struct nb_error *err)
{
    struct nb_object_source *o = self;
    return o->csv->discover(o->inner, json, err);
}

nb_status nb_object_source_read(void *self, struct nb_batch **out, struct nb_error *err)
{
    struct nb_object_source *o = self;
    return o->csv->read(o->inner, out, err);
}

bool nb_object_source_progress(void *self, uint64_t *done, uint64_t *total)
{
    struct nb_object_source *o = self;
    return o->csv->progress ? o->csv->progress(o->inner, done, total) : false;
}
