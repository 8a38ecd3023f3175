/* The Parquet footer's FileMetaData, decoded (parquet.thrift): schema elements -> leaf columns and
 * our types, row groups and their column chunks, key/value metadata. Unknown fields are skipped;
 * every count is checked before it sizes anything, every offset against the file size. */
#include <stdio.h>
#include <string.h>

#include "formats/parquet/read_internal.h"

/* ConvertedType values (parquet.thrift). */
enum {
    CT_UTF8 = 0, CT_MAP = 1, CT_MAP_KEY_VALUE = 2, CT_LIST = 3, CT_ENUM = 4, CT_DECIMAL = 5, CT_DATE = 6,
    CT_TIME_MILLIS = 7, CT_TIME_MICROS = 8, CT_TIMESTAMP_MILLIS = 9, CT_TIMESTAMP_MICROS = 10, CT_UINT_8 = 11,
    CT_UINT_16 = 12, CT_UINT_32 = 13, CT_UINT_64 = 14, CT_INT_8 = 15, CT_INT_16 = 16, CT_INT_32 = 17,
    CT_INT_64 = 18, CT_JSON = 19, CT_BSON = 20, CT_INTERVAL = 21,
};

/* LogicalType union members (parquet.thrift field ids). */
enum {
    LT_NONE = 0, LT_STRING = 1, LT_MAP = 2, LT_LIST = 3, LT_ENUM = 4, LT_DECIMAL = 5, LT_DATE = 6, LT_TIME = 7,
    LT_TIMESTAMP = 8, LT_INTEGER = 10, LT_UNKNOWN = 11, LT_JSON = 12, LT_BSON = 13, LT_UUID = 14, LT_FLOAT16 = 15,
};

struct schema_elem {
    int32_t type;                /* -1: none (a group) */
    int32_t type_length;
    int32_t repetition;          /* 0 required, 1 optional, 2 repeated; -1 absent */
    const uint8_t *name;
    size_t name_len;
    int32_t num_children;
    int32_t converted;           /* -1: none */
    int32_t scale, precision;
    int logical;                 /* LT_* */
    int32_t lt_scale, lt_precision;
    bool lt_utc;
    int lt_unit;                 /* 1 millis, 2 micros, 3 nanos */
    int32_t lt_bits;
    bool lt_signed;
};


static nb_status time_unit_field(struct pq_tread *t, void *ctx, int16_t id, uint8_t ty, struct nb_error *err)
{
    int *unit = ctx;
    if (id >= 1 && id <= 3 && ty == PQ_T_STRUCT) *unit = id;
    return pq_tread_skip(t, ty, err);
}

static nb_status logical_member_field(struct pq_tread *t, void *ctx, int16_t id, uint8_t ty, struct nb_error *err)
{
    struct schema_elem *e = ctx;
    switch (e->logical) {
    case LT_DECIMAL:
        if (id == 1) return pq_tread_i32(t, ty, &e->lt_scale, err);
        if (id == 2) return pq_tread_i32(t, ty, &e->lt_precision, err);
        break;
    case LT_TIME:
    case LT_TIMESTAMP:
        if (id == 1) return pq_tread_bool(t, ty, &e->lt_utc, err);
        if (id == 2 && ty == PQ_T_STRUCT) return pq_tread_struct(t, time_unit_field, &e->lt_unit, err);
        break;
    case LT_INTEGER:
        if (id == 1) return pq_tread_i32(t, ty, &e->lt_bits, err);
        if (id == 2) return pq_tread_bool(t, ty, &e->lt_signed, err);
        break;
    default:
        break;
    }
    return pq_tread_skip(t, ty, err);
}

static nb_status logical_field(struct pq_tread *t, void *ctx, int16_t id, uint8_t ty, struct nb_error *err)
{
    struct schema_elem *e = ctx;
    if (ty != PQ_T_STRUCT) return pq_tread_skip(t, ty, err);
    e->logical = id;
    return pq_tread_struct(t, logical_member_field, e, err);
}

static nb_status schema_field(struct pq_tread *t, void *ctx, int16_t id, uint8_t ty, struct nb_error *err)
{
    struct schema_elem *e = ctx;
    switch (id) {
    case 1: return pq_tread_i32(t, ty, &e->type, err);
    case 2: return pq_tread_i32(t, ty, &e->type_length, err);
    case 3: return pq_tread_i32(t, ty, &e->repetition, err);
    case 4: return pq_tread_binary(t, ty, &e->name, &e->name_len, err);
    case 5: return pq_tread_i32(t, ty, &e->num_children, err);
    case 6: return pq_tread_i32(t, ty, &e->converted, err);
    case 7: return pq_tread_i32(t, ty, &e->scale, err);
    case 8: return pq_tread_i32(t, ty, &e->precision, err);
    case 10:
        if (ty == PQ_T_STRUCT) return pq_tread_struct(t, logical_field, e, err);
        break;
    default: break;
    }
    return pq_tread_skip(t, ty, err);
}

struct chunk_ctx {
    struct pq_chunk_meta *c;
    bool has_meta, external;
    int32_t type;
};

static nb_status colmeta_field(struct pq_tread *t, void *ctx, int16_t id, uint8_t ty, struct nb_error *err)
{
    struct chunk_ctx *k = ctx;
    switch (id) {
    case 1: return pq_tread_i32(t, ty, &k->type, err);
    case 4: return pq_tread_i32(t, ty, &k->c->codec, err);
    case 5: return pq_tread_i64(t, ty, &k->c->num_values, err);
    case 7: return pq_tread_i64(t, ty, &k->c->total_compressed, err);
    case 9: return pq_tread_i64(t, ty, &k->c->data_page_offset, err);
    case 11: return pq_tread_i64(t, ty, &k->c->dict_page_offset, err);
    default: return pq_tread_skip(t, ty, err);
    }
}

static nb_status chunk_field(struct pq_tread *t, void *ctx, int16_t id, uint8_t ty, struct nb_error *err)
{
    struct chunk_ctx *k = ctx;
    if (id == 1 && ty == PQ_T_BINARY) {
        k->external = true;
        return pq_tread_skip(t, ty, err);
    }
    if (id == 3 && ty == PQ_T_STRUCT) {
        k->has_meta = true;
        return pq_tread_struct(t, colmeta_field, k, err);
    }
    return pq_tread_skip(t, ty, err);
}

struct rg_ctx {
    struct pq_meta *m;
    struct pq_row_group *rg;
    uint64_t file_size;
};

static nb_status rg_field(struct pq_tread *t, void *ctx, int16_t id, uint8_t ty, struct nb_error *err)
{
    struct rg_ctx *k = ctx;
    nb_status rc;
    if (id == 3) return pq_tread_i64(t, ty, &k->rg->num_rows, err);
    if (id != 1 || ty != PQ_T_LIST) return pq_tread_skip(t, ty, err);
    uint8_t et;
    size_t n;
    if ((rc = pq_tread_list(t, ty, &et, &n, err)) != NB_OK) return rc;
    if (et != PQ_T_STRUCT || n != k->m->n_leaves)
        return pq_tread_fail(t, err, "row group's column chunks do not match the schema's columns");
    if (k->rg->cols) return pq_tread_fail(t, err, "row group lists its columns twice");
    k->rg->cols = nb_arena_alloc(&k->m->arena, (n ? n : 1) * sizeof *k->rg->cols);
    if (!k->rg->cols) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct pq_chunk_meta *c = &k->rg->cols[i];
        memset(c, 0, sizeof *c);
        struct chunk_ctx cc = {.c = c, .type = -1};
        uint64_t at = pq_tread_offset(t);
        if ((rc = pq_tread_struct(t, chunk_field, &cc, err)) != NB_OK) return rc;
        const char *col = k->m->leaves[i].name;
        if (cc.external)
            return nb_error_set(err, NB_ERR_UNSUPPORTED, "%s: column '%s' is stored in another file (ColumnChunk.file_path)",
                                t->name, col);
        if (!cc.has_meta)
            return nb_error_set(err, NB_ERR_INVALID, "%s: column chunk of '%s' has no metadata at offset %llu", t->name,
                                col, (unsigned long long)at);
        if (cc.type != (int32_t)k->m->leaves[i].phys)
            return nb_error_set(err, NB_ERR_INVALID, "%s: column chunk of '%s' has another type than the schema at offset %llu",
                                t->name, col, (unsigned long long)at);
        c->phys = k->m->leaves[i].phys;
        int64_t start = c->dict_page_offset > 0 && c->dict_page_offset < c->data_page_offset ? c->dict_page_offset
                                                                                             : c->data_page_offset;
        if (start < 4 || c->total_compressed <= 0 || (uint64_t)start > k->file_size ||
            (uint64_t)c->total_compressed > k->file_size - (uint64_t)start || c->num_values < 0)
            return nb_error_set(err, NB_ERR_INVALID, "%s: column chunk of '%s' lies outside the file at offset %llu",
                                t->name, col, (unsigned long long)at);
        if (c->dict_page_offset >= c->data_page_offset) c->dict_page_offset = 0;
    }
    return NB_OK;
}

struct kv_ctx {
    const uint8_t *k, *v;
    size_t kn, vn;
};

static nb_status kv_field(struct pq_tread *t, void *ctx, int16_t id, uint8_t ty, struct nb_error *err)
{
    struct kv_ctx *k = ctx;
    if (id == 1) return pq_tread_binary(t, ty, &k->k, &k->kn, err);
    if (id == 2) return pq_tread_binary(t, ty, &k->v, &k->vn, err);
    return pq_tread_skip(t, ty, err);
}

/* The batch type and conversion of one leaf. */
static nb_status map_type(struct pq_leaf *l, const struct schema_elem *e, const char *file, struct nb_error *err)
{
    int ct = e->converted;
    int lt = e->logical;
    struct nb_type T = nb_type_make(NB_TYPE_STRING);
    enum pq_rkind k = RK_BINARY;
    bool dec = lt == LT_DECIMAL || (lt == LT_NONE && ct == CT_DECIMAL);
    int32_t prec = lt == LT_DECIMAL ? e->lt_precision : e->precision;
    int32_t scale = lt == LT_DECIMAL ? e->lt_scale : e->scale;
    int unit = lt == LT_TIME || lt == LT_TIMESTAMP ? e->lt_unit : 0;
    switch (l->phys) {
    case PQR_BOOLEAN: k = RK_BOOL; T.id = NB_TYPE_BOOL; break;
    case PQR_INT32:
    case PQR_INT64: {
        bool is32 = l->phys == PQR_INT32;
        if (dec) {
            k = RK_DEC_INT;
        } else if (lt == LT_DATE || ct == CT_DATE) {
            k = RK_DATE;
            T.id = NB_TYPE_DATE;
        } else if (lt == LT_TIME || ct == CT_TIME_MILLIS || ct == CT_TIME_MICROS) {
            if (lt != LT_TIME) unit = ct == CT_TIME_MILLIS ? 1 : 2;
            k = unit == 1 ? RK_TIME_MS : unit == 2 ? RK_TIME_US : RK_TIME_NS;
            T.id = NB_TYPE_TIME;
        } else if (lt == LT_TIMESTAMP || ct == CT_TIMESTAMP_MILLIS || ct == CT_TIMESTAMP_MICROS) {
            bool utc = lt == LT_TIMESTAMP ? e->lt_utc : true;   /* legacy forms are instants (UTC) */
            if (lt != LT_TIMESTAMP) unit = ct == CT_TIMESTAMP_MILLIS ? 1 : 2;
            k = unit == 1 ? RK_TS_MS : unit == 2 ? RK_TS_US : RK_TS_NS;
            T.id = NB_TYPE_TIMESTAMP;
            T.utc = utc;
        } else if ((lt == LT_INTEGER && !e->lt_signed) || ct == CT_UINT_8 || ct == CT_UINT_16 || ct == CT_UINT_32 ||
                   ct == CT_UINT_64) {
            if (is32) {
                bool small = lt == LT_INTEGER ? e->lt_bits < 32 : ct != CT_UINT_32;
                k = small ? RK_I32 : RK_U32;
                T.id = small ? NB_TYPE_INT32 : NB_TYPE_INT64;
            } else {
                k = RK_U64;
                T.id = NB_TYPE_DECIMAL;
                T.precision = 20;
            }
        } else {
            k = is32 ? RK_I32 : RK_I64;
            T.id = is32 ? NB_TYPE_INT32 : NB_TYPE_INT64;
        }
        break;
    }
    case PQR_INT96: k = RK_INT96; T.id = NB_TYPE_TIMESTAMP; break;
    case PQR_FLOAT: k = RK_F32; T.id = NB_TYPE_FLOAT64; break;
    case PQR_DOUBLE: k = RK_F64; T.id = NB_TYPE_FLOAT64; break;
    case PQR_BYTE_ARRAY:
    case PQR_FLBA:
        if (dec) {
            k = RK_DEC_BYTES;
        } else if (l->phys == PQR_FLBA && lt == LT_UUID && l->type_length == 16) {
            k = RK_UUID;
            T.id = NB_TYPE_STRING;
        } else if (l->phys == PQR_BYTE_ARRAY &&
                   (lt == LT_STRING || lt == LT_ENUM || ct == CT_UTF8 || ct == CT_ENUM)) {
            k = RK_TEXT;
            T.id = NB_TYPE_STRING;
        } else if (l->phys == PQR_BYTE_ARRAY && (lt == LT_JSON || ct == CT_JSON)) {
            k = RK_TEXT;
            T.id = NB_TYPE_JSON;
        } else {
            k = RK_BINARY;
            T.id = NB_TYPE_BINARY;
        }
        break;
    default:
        return nb_error_set(err, NB_ERR_INVALID, "%s: column '%s' has unknown physical type %d", file, l->name, (int)l->phys);
    }
    if (k == RK_DEC_INT || k == RK_DEC_BYTES) {
        if (prec < 1 || prec > 76 || scale < 0 || scale > prec)
            return nb_error_set(err, NB_ERR_INVALID, "%s: column '%s' is decimal(%d,%d), which is out of range", file,
                                l->name, (int)prec, (int)scale);
        if (prec > 38)
            return nb_error_set(err, NB_ERR_UNSUPPORTED, "%s: column '%s' is decimal(%d,%d); at most 38 digits are read",
                                file, l->name, (int)prec, (int)scale);
        T.id = NB_TYPE_DECIMAL;
        T.precision = (uint8_t)prec;
        T.scale = (uint8_t)scale;
    }
    if ((k == RK_TIME_MS || k == RK_TIME_US || k == RK_TIME_NS || k == RK_TS_MS || k == RK_TS_US || k == RK_TS_NS) &&
        unit < 1)
        return nb_error_set(err, NB_ERR_INVALID, "%s: column '%s' has a time unit that is not millis, micros or nanos",
                            file, l->name);
    if ((k == RK_TIME_MS && l->phys != PQR_INT32) || ((k == RK_TIME_US || k == RK_TIME_NS) && l->phys != PQR_INT64) ||
        ((k == RK_TS_MS || k == RK_TS_US || k == RK_TS_NS) && l->phys != PQR_INT64) ||
        (k == RK_DATE && l->phys != PQR_INT32))
        return nb_error_set(err, NB_ERR_INVALID, "%s: column '%s' has a time annotation its physical type cannot carry",
                            file, l->name);
    if (l->phys == PQR_FLBA && (l->type_length < 1 || l->type_length > (1 << 20)))
        return nb_error_set(err, NB_ERR_INVALID, "%s: column '%s' has fixed length %d", file, l->name, (int)l->type_length);
    l->kind = k;
    l->type = T;
    return NB_OK;
}

struct fm_ctx {
    struct pq_meta *m;
    uint64_t file_size;
    bool have_schema;
};

static nb_status schema_list(struct pq_tread *t, struct fm_ctx *k, uint8_t ty, struct nb_error *err)
{
    struct pq_meta *m = k->m;
    uint8_t et;
    size_t n;
    nb_status rc = pq_tread_list(t, ty, &et, &n, err);
    if (rc != NB_OK) return rc;
    if (et != PQ_T_STRUCT || n < 1) return pq_tread_fail(t, err, "schema is not a list of elements");
    if (k->have_schema) return pq_tread_fail(t, err, "schema given twice");
    k->have_schema = true;
    m->leaves = nb_arena_alloc(&m->arena, n * sizeof *m->leaves);
    if (!m->leaves) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct schema_elem e = {.type = -1, .repetition = -1, .converted = -1};
        uint64_t at = pq_tread_offset(t);
        if ((rc = pq_tread_struct(t, schema_field, &e, err)) != NB_OK) return rc;
        char *name = nb_arena_strndup(&m->arena, e.name ? (const char *)e.name : "", e.name_len);
        if (!name) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        if (i == 0) {
            if (e.num_children < 0 || (size_t)e.num_children != n - 1) {
                /* The root has fewer children than elements follow: some are nested groups. */
                if (e.num_children < 0 || (size_t)e.num_children > n - 1)
                    return nb_error_set(err, NB_ERR_INVALID, "%s: schema root claims %d columns but %zu elements follow (offset %llu)",
                                        t->name, (int)e.num_children, n - 1, (unsigned long long)at);
            }
            continue;
        }
        if (e.num_children > 0 || e.type < 0)
            return nb_error_set(err, NB_ERR_UNSUPPORTED,
                                "%s: column '%s' is a nested group (struct/list/map); only flat schemas are read", t->name,
                                name);
        if (e.repetition == 2)
            return nb_error_set(err, NB_ERR_UNSUPPORTED, "%s: column '%s' is repeated; only flat schemas are read", t->name,
                                name);
        if (e.type > PQR_FLBA)
            return nb_error_set(err, NB_ERR_INVALID, "%s: column '%s' has unknown physical type %d at offset %llu",
                                t->name, name, (int)e.type, (unsigned long long)at);
        struct pq_leaf *l = &m->leaves[m->n_leaves++];
        memset(l, 0, sizeof *l);
        l->name = name;
        l->phys = (enum pq_rphys)e.type;
        l->type_length = e.type_length;
        l->optional = e.repetition != 0;
        if ((rc = map_type(l, &e, t->name, err)) != NB_OK) return rc;
    }
    return NB_OK;
}

static nb_status fm_field(struct pq_tread *t, void *ctx, int16_t id, uint8_t ty, struct nb_error *err)
{
    struct fm_ctx *k = ctx;
    struct pq_meta *m = k->m;
    nb_status rc;
    switch (id) {
    case 2: return schema_list(t, k, ty, err);
    case 3: return pq_tread_i64(t, ty, &m->num_rows, err);
    case 4: {
        if (!k->have_schema) return pq_tread_fail(t, err, "row groups come before the schema");
        uint8_t et;
        size_t n;
        if ((rc = pq_tread_list(t, ty, &et, &n, err)) != NB_OK) return rc;
        if (et != PQ_T_STRUCT) return pq_tread_fail(t, err, "row groups are not a list of structs");
        if (m->row_groups) return pq_tread_fail(t, err, "row groups given twice");
        m->row_groups = nb_arena_alloc(&m->arena, (n ? n : 1) * sizeof *m->row_groups);
        if (!m->row_groups) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            struct pq_row_group *rg = &m->row_groups[i];
            memset(rg, 0, sizeof *rg);
            struct rg_ctx rk = {m, rg, k->file_size};
            uint64_t at = pq_tread_offset(t);
            if ((rc = pq_tread_struct(t, rg_field, &rk, err)) != NB_OK) return rc;
            if (!rg->cols && m->n_leaves > 0)
                return nb_error_set(err, NB_ERR_INVALID, "%s: row group %zu has no columns at offset %llu", t->name, i,
                                    (unsigned long long)at);
            if (rg->num_rows < 0)
                return nb_error_set(err, NB_ERR_INVALID, "%s: row group %zu has a negative row count at offset %llu", t->name,
                                    i, (unsigned long long)at);
            m->n_row_groups++;
        }
        return NB_OK;
    }
    case 5: {
        uint8_t et;
        size_t n;
        if ((rc = pq_tread_list(t, ty, &et, &n, err)) != NB_OK) return rc;
        if (et != PQ_T_STRUCT) return pq_tread_fail(t, err, "key_value_metadata is not a list of structs");
        if (m->kv_keys) return pq_tread_fail(t, err, "key_value_metadata given twice");
        m->kv_keys = nb_arena_alloc(&m->arena, (n ? n : 1) * sizeof *m->kv_keys);
        m->kv_values = nb_arena_alloc(&m->arena, (n ? n : 1) * sizeof *m->kv_values);
        if (!m->kv_keys || !m->kv_values) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            struct kv_ctx kv = {0};
            if ((rc = pq_tread_struct(t, kv_field, &kv, err)) != NB_OK) return rc;
            m->kv_keys[i] = nb_arena_strndup(&m->arena, kv.k ? (const char *)kv.k : "", kv.kn);
            m->kv_values[i] = kv.v ? nb_arena_strndup(&m->arena, (const char *)kv.v, kv.vn) : NULL;
            if (!m->kv_keys[i] || (kv.v && !m->kv_values[i])) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
            m->n_kv++;
        }
        return NB_OK;
    }
    default: return pq_tread_skip(t, ty, err);
    }
}

nb_status pq_meta_decode(struct pq_meta *m, const uint8_t *buf, size_t n, uint64_t base, uint64_t file_size,
                         const char *name, struct nb_error *err)
{
    memset(m, 0, sizeof *m);
    nb_arena_init(&m->arena, 16384);
    struct pq_tread t;
    pq_tread_init(&t, buf, n, base, name);
    struct fm_ctx k = {m, file_size, false};
    nb_status rc = pq_tread_struct(&t, fm_field, &k, err);
    if (rc != NB_OK) return rc;
    if (!k.have_schema) return pq_tread_fail(&t, err, "metadata has no schema");
    if (m->n_leaves == 0 && m->n_row_groups > 0)
        return nb_error_set(err, NB_ERR_INVALID, "%s: metadata has row groups but no columns", name);
    /* The row count is the sum of the row groups' (what a reader can deliver). */
    int64_t sum = 0;
    for (size_t i = 0; i < m->n_row_groups; i++) {
        if (m->row_groups[i].num_rows > INT64_MAX - sum)
            return nb_error_set(err, NB_ERR_INVALID, "%s: row counts of the row groups overflow", name);
        sum += m->row_groups[i].num_rows;
    }
    m->num_rows = sum;
    return NB_OK;
}

void pq_meta_cleanup(struct pq_meta *m)
{
    if (!m) return;
    nb_arena_cleanup(&m->arena);
    memset(m, 0, sizeof *m);
}
