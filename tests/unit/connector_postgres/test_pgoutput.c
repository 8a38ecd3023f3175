/* Unit tests of the PostgreSQL connector without a server: pgoutput decoding from byte sequences
 * (as the protocol documentation lays them out), replication framing, COPY text parsing, and the
 * type map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connectors/postgres/pg.h"
#include "connectors/postgres/src_internal.h"

struct w { uint8_t b[4096]; size_t n; };
static void w8(struct w *w, uint8_t v) { w->b[w->n++] = v; }
static void w16(struct w *w, uint16_t v) { w8(w, (uint8_t)(v >> 8)); w8(w, (uint8_t)v); }
static void w32(struct w *w, uint32_t v) { w16(w, (uint16_t)(v >> 16)); w16(w, (uint16_t)v); }
static void w64(struct w *w, uint64_t v) { w32(w, (uint32_t)(v >> 32)); w32(w, (uint32_t)v); }
static void ws(struct w *w, const char *s) { size_t l = strlen(s) + 1; memcpy(w->b + w->n, s, l); w->n += l; }
static void wtext(struct w *w, const char *s) { w8(w, 't'); w32(w, (uint32_t)strlen(s)); memcpy(w->b + w->n, s, strlen(s)); w->n += strlen(s); }

static struct pg_decoder *dec;

static void test_begin_commit(void **state)
{
    struct w w = {.n = 0};
    w8(&w, 'B'); w64(&w, 0x16B3748); w64(&w, 789000000); w32(&w, 735);
    struct pg_msg m;
    struct nb_error err;
    assert_int_equal(pg_decode(dec, w.b, w.n, &m, &err), NB_OK);
    assert_int_equal(m.type, PG_MSG_BEGIN);
    assert_true(m.final_lsn == 0x16B3748);
    assert_int_equal(m.xid, 735);
    assert_true(m.commit_time == 789000000);
    w.n = 0;
    w8(&w, 'C'); w8(&w, 0); w64(&w, 0x100); w64(&w, 0x128); w64(&w, 5);
    assert_int_equal(pg_decode(dec, w.b, w.n, &m, &err), NB_OK);
    assert_true(m.commit_lsn == 0x100 && m.end_lsn == 0x128);
    /* Truncated: every prefix is an error, never a crash. */
    for (size_t cut = 0; cut < w.n; cut++) assert_int_equal(pg_decode(dec, w.b, cut, &m, &err), NB_ERR_PROTOCOL);
}

static void test_relation_and_changes(void **state)
{
    struct w w = {.n = 0};
    w8(&w, 'R'); w32(&w, 16384); ws(&w, "public"); ws(&w, "users"); w8(&w, 'd'); w16(&w, 3);
    w8(&w, 1); ws(&w, "id"); w32(&w, 23); w32(&w, (uint32_t)-1);
    w8(&w, 0); ws(&w, "name"); w32(&w, 25); w32(&w, (uint32_t)-1);
    w8(&w, 0); ws(&w, "price"); w32(&w, 1700); w32(&w, ((10u << 16) | 2u) + 4u);
    struct pg_msg m;
    struct nb_error err;
    assert_int_equal(pg_decode(dec, w.b, w.n, &m, &err), NB_OK);
    assert_int_equal(m.type, PG_MSG_RELATION);
    assert_string_equal(m.rel.nspname, "public");
    assert_string_equal(m.rel.relname, "users");
    assert_int_equal(m.rel.ncols, 3);
    assert_true(m.rel.cols[0].key);
    assert_false(m.rel.cols[1].key);
    assert_string_equal(m.rel.cols[2].name, "price");
    struct pg_coltype ct = pg_type_map(m.rel.cols[2].type_oid, m.rel.cols[2].typmod);
    assert_int_equal(ct.type.id, NB_TYPE_DECIMAL);
    assert_int_equal(ct.type.precision, 10);
    assert_int_equal(ct.type.scale, 2);
    pg_relation_cleanup(&m.rel);
    for (size_t cut = 1; cut < w.n; cut++) {
        assert_int_equal(pg_decode(dec, w.b, cut, &m, &err), NB_ERR_PROTOCOL);
    }

    /* Insert with text, null and a value containing a NUL-free UTF-8 string. */
    w.n = 0;
    w8(&w, 'I'); w32(&w, 16384); w8(&w, 'N'); w16(&w, 3); wtext(&w, "1"); w8(&w, 'n'); wtext(&w, "9.50");
    assert_int_equal(pg_decode(dec, w.b, w.n, &m, &err), NB_OK);
    assert_int_equal(m.type, PG_MSG_INSERT);
    assert_int_equal(m.n_new, 3);
    assert_int_equal(m.new_cols[0].kind, 't');
    assert_memory_equal(m.new_cols[0].data, "1", 1);
    assert_int_equal(m.new_cols[1].kind, 'n');
    assert_int_equal(m.new_cols[2].len, 4);

    /* Update with old key and an unchanged TOAST column. */
    w.n = 0;
    w8(&w, 'U'); w32(&w, 16384); w8(&w, 'K'); w16(&w, 3); wtext(&w, "1"); w8(&w, 'n'); w8(&w, 'n');
    w8(&w, 'N'); w16(&w, 3); wtext(&w, "2"); w8(&w, 'u'); wtext(&w, "1.00");
    assert_int_equal(pg_decode(dec, w.b, w.n, &m, &err), NB_OK);
    assert_int_equal(m.old_kind, 'K');
    assert_int_equal(m.n_old, 3);
    assert_int_equal(m.new_cols[1].kind, 'u');
    for (size_t cut = 1; cut < w.n; cut++) assert_int_equal(pg_decode(dec, w.b, cut, &m, &err), NB_ERR_PROTOCOL);

    /* Delete with the old tuple; truncate of two relations. */
    w.n = 0;
    w8(&w, 'D'); w32(&w, 16384); w8(&w, 'O'); w16(&w, 1); wtext(&w, "7");
    assert_int_equal(pg_decode(dec, w.b, w.n, &m, &err), NB_OK);
    assert_int_equal(m.type, PG_MSG_DELETE);
    assert_int_equal(m.old_kind, 'O');
    w.n = 0;
    w8(&w, 'T'); w32(&w, 2); w8(&w, 1); w32(&w, 16384); w32(&w, 16390);
    assert_int_equal(pg_decode(dec, w.b, w.n, &m, &err), NB_OK);
    assert_int_equal(m.n_rels, 2);
    assert_int_equal(m.rel_oids[1], 16390);
    /* A huge relation count with few bytes is refused without allocating. */
    w.n = 0;
    w8(&w, 'T'); w32(&w, 0x7fffffff); w8(&w, 0); w32(&w, 1);
    assert_int_equal(pg_decode(dec, w.b, w.n, &m, &err), NB_ERR_PROTOCOL);
    /* Type and logical message. */
    w.n = 0;
    w8(&w, 'Y'); w32(&w, 16400); ws(&w, "public"); ws(&w, "mood");
    assert_int_equal(pg_decode(dec, w.b, w.n, &m, &err), NB_OK);
    assert_string_equal(m.type_name, "mood");
    w.n = 0;
    w8(&w, 'M'); w8(&w, 0); w64(&w, 5); ws(&w, "nebula_heartbeat"); w32(&w, 2); w8(&w, 'h'); w8(&w, 'i');
    assert_int_equal(pg_decode(dec, w.b, w.n, &m, &err), NB_OK);
    assert_int_equal(m.content_len, 2);
    /* Unknown type and bad tuple tags. */
    uint8_t junk[] = {'Z', 1, 2};
    assert_int_equal(pg_decode(dec, junk, sizeof junk, &m, &err), NB_ERR_PROTOCOL);
    w.n = 0;
    w8(&w, 'I'); w32(&w, 1); w8(&w, 'N'); w16(&w, 1); w8(&w, 'x');
    assert_int_equal(pg_decode(dec, w.b, w.n, &m, &err), NB_ERR_PROTOCOL);
    w.n = 0;
    w8(&w, 'I'); w32(&w, 1); w8(&w, 'N'); w16(&w, 1); w8(&w, 't'); w32(&w, 1000); w8(&w, 'a');
    assert_int_equal(pg_decode(dec, w.b, w.n, &m, &err), NB_ERR_PROTOCOL);
}

static void test_copy_framing(void **state)
{
    struct w w = {.n = 0};
    w8(&w, 'w'); w64(&w, 0x10); w64(&w, 0x20); w64(&w, 3); w8(&w, 'B');
    struct pg_copy_msg cm;
    struct nb_error err;
    assert_int_equal(pg_parse_copy_msg(w.b, w.n, &cm, &err), NB_OK);
    assert_int_equal(cm.type, 'w');
    assert_int_equal(cm.len, 1);
    assert_true(cm.wal_start == 0x10 && cm.wal_end == 0x20);
    assert_int_equal(pg_parse_copy_msg(w.b, 24, &cm, &err), NB_ERR_PROTOCOL);
    w.n = 0;
    w8(&w, 'k'); w64(&w, 0xABCDEF); w64(&w, 1); w8(&w, 1);
    assert_int_equal(pg_parse_copy_msg(w.b, w.n, &cm, &err), NB_OK);
    assert_true(cm.reply_requested);
    assert_true(cm.wal_end == 0xABCDEF);
    uint8_t st[34];
    assert_int_equal(pg_build_status(st, 0x0000000100000002ull, 0x10, 0x10, 0, true), 34);
    assert_int_equal(st[0], 'r');
    assert_int_equal(st[4], 1);
    assert_int_equal(st[8], 2);
    assert_int_equal(st[16], 0x10);
    assert_int_equal(st[33], 1);
    uint64_t lsn;
    assert_true(pg_lsn_parse("16/B374D848", &lsn));
    assert_true(lsn == 0x16B374D848ull);
    char out[32];
    pg_lsn_format(lsn, out, sizeof out);
    assert_string_equal(out, "16/B374D848");
    assert_false(pg_lsn_parse("16B374D848", &lsn));
    assert_false(pg_lsn_parse("x/1", &lsn));
    pg_format_pgtime(0, out, sizeof out);
    assert_string_equal(out, "2000-01-01T00:00:00.000000Z");
}

static struct nb_schema *schema3(struct nb_type a, struct nb_type b, struct nb_type c)
{
    struct nb_schema *s = nb_schema_create();
    nb_schema_add(s, "a", a, true);
    nb_schema_add(s, "b", b, true);
    nb_schema_add(s, "c", c, true);
    return s;
}

static void text_at(const struct nb_batch *b, size_t col, size_t row, const char *want, size_t wlen)
{
    size_t len;
    const char *v = nb_column_text(&b->cols[col], row, &len);
    assert_int_equal(len, wlen);
    assert_memory_equal(v, want, wlen);
}

static void test_copy_text_rows(void **state)
{
    struct nb_type ts = nb_type_make(NB_TYPE_TIMESTAMP);
    ts.utc = true;
    struct nb_schema *s = schema3(nb_type_make(NB_TYPE_STRING), nb_type_make(NB_TYPE_BINARY), ts);
    struct nb_batch *b = nb_batch_create(s, 4);
    enum pg_kind kinds[3] = {PG_K_TEXT, PG_K_BYTEA, PG_K_TIMESTAMPTZ};
    struct nb_buf scratch;
    nb_buf_init(&scratch);
    struct nb_error err;
    const char row1[] = "tab\\there\\nnl \\\\ back\\101\\x41\t\\\\x00ff41\t2024-01-02 03:04:05.123456+00\n";
    assert_int_equal(pg_copy_text_row(row1, strlen(row1), b->cols, kinds, 3, &scratch, &err), NB_OK);
    const char row2[] = "\\N\t\\N\t\\N\n";
    assert_int_equal(pg_copy_text_row(row2, strlen(row2), b->cols, kinds, 3, &scratch, &err), NB_OK);
    const char row3[] = "\t\\\\x\t-infinity";
    assert_int_equal(pg_copy_text_row(row3, strlen(row3), b->cols, kinds, 3, &scratch, &err), NB_OK);
    b->n_rows = 3;
    assert_int_equal(nb_batch_check(b, &err), NB_OK);
    text_at(b, 0, 0, "tab\there\nnl \\ backAA", 20);
    text_at(b, 1, 0, "\x00\xff" "A", 3);
    text_at(b, 2, 0, "2024-01-02 03:04:05.123456+00:00", 32);
    assert_true(nb_column_is_null(&b->cols[0], 1));
    assert_true(nb_column_is_null(&b->cols[2], 1));
    text_at(b, 0, 2, "", 0);                 /* empty string, not null */
    assert_false(nb_column_is_null(&b->cols[0], 2));
    text_at(b, 1, 2, "", 0);                 /* empty bytea */
    assert_true(nb_column_is_mismatch(&b->cols[2], 2));   /* -infinity does not fit a timestamp */
    /* Wrong column counts are protocol errors. */
    assert_int_equal(pg_copy_text_row("a\tb", 3, b->cols, kinds, 3, &scratch, &err), NB_ERR_PROTOCOL);
    assert_int_equal(pg_copy_text_row("a\tb\tc\td", 7, b->cols, kinds, 3, &scratch, &err), NB_ERR_PROTOCOL);
    nb_buf_cleanup(&scratch);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

static void test_values(void **state)
{
    struct nb_schema *s = schema3(nb_type_make(NB_TYPE_BOOL), nb_type_make(NB_TYPE_FLOAT64), nb_type_make(NB_TYPE_DECIMAL));
    struct nb_batch *b = nb_batch_create(s, 4);
    struct nb_buf scratch;
    nb_buf_init(&scratch);
    pg_append_value(&b->cols[0], PG_K_BOOL, "t", 1, &scratch);
    pg_append_value(&b->cols[0], PG_K_BOOL, "f", 1, &scratch);
    pg_append_value(&b->cols[1], PG_K_FLOAT, "1.0000000000000002", 18, &scratch);
    pg_append_value(&b->cols[1], PG_K_FLOAT, "NaN", 3, &scratch);
    pg_append_value(&b->cols[2], PG_K_NUMERIC, "123456789012345678901234567890.123456789", 40, &scratch);
    pg_append_value(&b->cols[2], PG_K_NUMERIC, "-Infinity", 9, &scratch);
    b->n_rows = 2;
    text_at(b, 0, 0, "true", 4);
    text_at(b, 0, 1, "false", 5);
    text_at(b, 1, 0, "1.0000000000000002", 18);
    assert_false(nb_column_is_mismatch(&b->cols[1], 0));
    assert_true(nb_column_is_mismatch(&b->cols[1], 1));
    text_at(b, 2, 0, "123456789012345678901234567890.123456789", 40);
    assert_true(nb_column_is_mismatch(&b->cols[2], 1));
    nb_buf_cleanup(&scratch);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

static void test_type_map(void **state)
{
    struct { uint32_t oid; int32_t mod; enum nb_type_id id; } cases[] = {
        {PG_OID_BOOL, -1, NB_TYPE_BOOL},       {PG_OID_INT2, -1, NB_TYPE_INT32},     {PG_OID_INT4, -1, NB_TYPE_INT32},
        {PG_OID_INT8, -1, NB_TYPE_INT64},      {PG_OID_FLOAT4, -1, NB_TYPE_FLOAT64}, {PG_OID_FLOAT8, -1, NB_TYPE_FLOAT64},
        {PG_OID_NUMERIC, -1, NB_TYPE_STRING},  {PG_OID_TEXT, -1, NB_TYPE_STRING},    {PG_OID_VARCHAR, 14, NB_TYPE_STRING},
        {PG_OID_BPCHAR, 9, NB_TYPE_STRING},    {PG_OID_BYTEA, -1, NB_TYPE_BINARY},   {PG_OID_DATE, -1, NB_TYPE_DATE},
        {PG_OID_TIME, -1, NB_TYPE_TIME},       {PG_OID_TIMETZ, -1, NB_TYPE_STRING},  {PG_OID_TIMESTAMP, -1, NB_TYPE_TIMESTAMP},
        {PG_OID_TIMESTAMPTZ, -1, NB_TYPE_TIMESTAMP}, {PG_OID_INTERVAL, -1, NB_TYPE_STRING}, {PG_OID_UUID, -1, NB_TYPE_STRING},
        {PG_OID_JSON, -1, NB_TYPE_JSON},       {PG_OID_JSONB, -1, NB_TYPE_JSON},     {PG_OID_INET, -1, NB_TYPE_STRING},
        {PG_OID_CIDR, -1, NB_TYPE_STRING},     {PG_OID_MACADDR, -1, NB_TYPE_STRING}, {1007 /* int4[] */, -1, NB_TYPE_STRING},
        {PG_OID_MONEY, -1, NB_TYPE_STRING},    {PG_OID_XML, -1, NB_TYPE_STRING},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(pg_type_map(cases[i].oid, cases[i].mod).type.id, cases[i].id);
    assert_true(pg_type_map(PG_OID_TIMESTAMPTZ, -1).type.utc);
    assert_false(pg_type_map(PG_OID_TIMESTAMP, -1).type.utc);
    /* numeric(5,-2) and numeric(3,5) (PG 15) and numeric(1000,0) stay exact strings. */
    assert_int_equal(pg_type_map(PG_OID_NUMERIC, ((5 << 16) | (0x7ff & -2)) + 4).type.id, NB_TYPE_STRING);
    assert_int_equal(pg_type_map(PG_OID_NUMERIC, ((3 << 16) | 5) + 4).type.id, NB_TYPE_STRING);
    assert_int_equal(pg_type_map(PG_OID_NUMERIC, ((1000 << 16) | 0) + 4).type.id, NB_TYPE_STRING);
    struct pg_coltype n = pg_type_map(PG_OID_NUMERIC, ((76 << 16) | 76) + 4);
    assert_int_equal(n.type.id, NB_TYPE_DECIMAL);
    assert_int_equal(n.type.scale, 76);
    char buf[64];
    assert_string_equal(pg_sql_type(n.type, buf, sizeof buf), "numeric(76,76)");
    assert_string_equal(pg_sql_type(pg_type_map(PG_OID_TIMESTAMPTZ, -1).type, buf, sizeof buf), "timestamptz");
    assert_string_equal(pg_sql_type(pg_type_map(PG_OID_JSON, -1).type, buf, sizeof buf), "json");
}

/* Protocol version 2: a stream block (Stream Start, messages that carry the subtransaction's xid
 * after their type byte, Stream Stop), then Stream Commit / Stream Abort, laid out as in the
 * "Logical Replication Message Formats" chapter. */
static void test_stream_messages(void **state)
{
    struct pg_decoder *d = calloc(1, sizeof *d);
    assert_non_null(d);
    struct pg_msg m;
    struct nb_error err;
    struct w w = {.n = 0};
    /* Outside a block an 'E' is an error. */
    w8(&w, 'E');
    assert_int_equal(pg_decode(d, w.b, w.n, &m, &err), NB_ERR_PROTOCOL);
    w.n = 0;
    w8(&w, 'S'); w32(&w, 900); w8(&w, 1);
    for (size_t cut = 1; cut < w.n; cut++) {
        assert_int_equal(pg_decode(d, w.b, cut, &m, &err), NB_ERR_PROTOCOL);
        assert_false(d->in_stream);
    }
    assert_int_equal(pg_decode(d, w.b, w.n, &m, &err), NB_OK);
    assert_int_equal(m.type, PG_MSG_STREAM_START);
    assert_int_equal(m.xid, 900);
    assert_true(m.first_segment);
    assert_true(d->in_stream);
    /* A second Start before Stop is malformed. */
    assert_int_equal(pg_decode(d, w.b, w.n, &m, &err), NB_ERR_PROTOCOL);
    /* Relation inside the block: xid first. */
    w.n = 0;
    w8(&w, 'R'); w32(&w, 901); w32(&w, 16384); ws(&w, "public"); ws(&w, "big"); w8(&w, 'd'); w16(&w, 1);
    w8(&w, 1); ws(&w, "id"); w32(&w, 20); w32(&w, (uint32_t)-1);
    assert_int_equal(pg_decode(d, w.b, w.n, &m, &err), NB_OK);
    assert_int_equal(m.type, PG_MSG_RELATION);
    assert_true(m.streamed);
    assert_int_equal(m.xid, 901);
    assert_int_equal(m.rel.oid, 16384);
    assert_string_equal(m.rel.relname, "big");
    pg_relation_cleanup(&m.rel);
    /* Insert, Update, Delete, Truncate with the subtransaction's xid. */
    w.n = 0;
    w8(&w, 'I'); w32(&w, 902); w32(&w, 16384); w8(&w, 'N'); w16(&w, 1); wtext(&w, "42");
    assert_int_equal(pg_decode(d, w.b, w.n, &m, &err), NB_OK);
    assert_int_equal(m.type, PG_MSG_INSERT);
    assert_int_equal(m.xid, 902);
    assert_int_equal(m.rel_oid, 16384);
    assert_int_equal(m.n_new, 1);
    assert_memory_equal(m.new_cols[0].data, "42", 2);
    for (size_t cut = 1; cut < w.n; cut++) assert_int_equal(pg_decode(d, w.b, cut, &m, &err), NB_ERR_PROTOCOL);
    w.n = 0;
    w8(&w, 'U'); w32(&w, 900); w32(&w, 16384); w8(&w, 'K'); w16(&w, 1); wtext(&w, "42"); w8(&w, 'N'); w16(&w, 1); wtext(&w, "43");
    assert_int_equal(pg_decode(d, w.b, w.n, &m, &err), NB_OK);
    assert_int_equal(m.type, PG_MSG_UPDATE);
    assert_int_equal(m.xid, 900);
    assert_int_equal(m.old_kind, 'K');
    w.n = 0;
    w8(&w, 'D'); w32(&w, 900); w32(&w, 16384); w8(&w, 'K'); w16(&w, 1); wtext(&w, "43");
    assert_int_equal(pg_decode(d, w.b, w.n, &m, &err), NB_OK);
    assert_int_equal(m.type, PG_MSG_DELETE);
    w.n = 0;
    w8(&w, 'T'); w32(&w, 900); w32(&w, 1); w8(&w, 0); w32(&w, 16384);
    assert_int_equal(pg_decode(d, w.b, w.n, &m, &err), NB_OK);
    assert_int_equal(m.type, PG_MSG_TRUNCATE);
    assert_int_equal(m.n_rels, 1);
    assert_int_equal(m.rel_oids[0], 16384);
    /* Stop ends the block: the same Insert bytes no longer parse as a version-1 Insert. */
    w.n = 0;
    w8(&w, 'E');
    assert_int_equal(pg_decode(d, w.b, w.n, &m, &err), NB_OK);
    assert_int_equal(m.type, PG_MSG_STREAM_STOP);
    assert_false(d->in_stream);
    w.n = 0;
    w8(&w, 'I'); w32(&w, 16384); w8(&w, 'N'); w16(&w, 1); wtext(&w, "42");
    assert_int_equal(pg_decode(d, w.b, w.n, &m, &err), NB_OK);
    assert_false(m.streamed);
    assert_int_equal(m.rel_oid, 16384);
    /* Stream Commit: xid, flags, commit LSN, end LSN, commit time. */
    w.n = 0;
    w8(&w, 'c'); w32(&w, 900); w8(&w, 0); w64(&w, 0x3000); w64(&w, 0x3028); w64(&w, 777);
    assert_int_equal(pg_decode(d, w.b, w.n, &m, &err), NB_OK);
    assert_int_equal(m.type, PG_MSG_STREAM_COMMIT);
    assert_int_equal(m.xid, 900);
    assert_true(m.commit_lsn == 0x3000 && m.end_lsn == 0x3028 && m.commit_time == 777);
    for (size_t cut = 1; cut < w.n; cut++) assert_int_equal(pg_decode(d, w.b, cut, &m, &err), NB_ERR_PROTOCOL);
    /* Stream Abort: xid, subtransaction xid. */
    w.n = 0;
    w8(&w, 'A'); w32(&w, 900); w32(&w, 902);
    assert_int_equal(pg_decode(d, w.b, w.n, &m, &err), NB_OK);
    assert_int_equal(m.type, PG_MSG_STREAM_ABORT);
    assert_int_equal(m.xid, 900);
    assert_int_equal(m.subxid, 902);
    for (size_t cut = 1; cut < w.n; cut++) assert_int_equal(pg_decode(d, w.b, cut, &m, &err), NB_ERR_PROTOCOL);
    free(d->rel_oids);
    free(d);
}

static void spill_expect(struct pg_spill *sp, const char *const *want, size_t n)
{
    struct nb_error err;
    assert_int_equal(pg_spill_rewind(sp, &err), NB_OK);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *msg;
        size_t len;
        assert_int_equal(pg_spill_next(sp, &msg, &len, &err), NB_OK);
        assert_int_equal(len, strlen(want[i]));
        assert_memory_equal(msg, want[i], len);
    }
    const uint8_t *msg;
    size_t len;
    assert_int_equal(pg_spill_next(sp, &msg, &len, &err), NB_DONE);
}

static nb_status spill_add(struct pg_spill *sp, uint32_t xid, const char *s)
{
    struct nb_error err;
    return pg_spill_add(sp, xid, (const uint8_t *)s, strlen(s), &err);
}

/* A streamed transaction's changes: kept in order, a rolled-back subtransaction (and what nests
 * in it) dropped, the rest replayed; a whole abort drops all. */
static void test_spill(void **state)
{
    char dir[] = "/tmp/nb-spill-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct nb_error err;
    struct pg_spill *sp;
    assert_int_equal(pg_spill_create(&sp, 900, dir, &err), NB_OK);
    assert_int_equal(pg_spill_xid(sp), 900);
    assert_int_equal(spill_add(sp, 900, "top-1"), NB_OK);
    assert_int_equal(spill_add(sp, 901, "sub901-1"), NB_OK);       /* SAVEPOINT a */
    assert_int_equal(spill_add(sp, 902, "sub902-1"), NB_OK);       /* SAVEPOINT b inside a */
    assert_int_equal(spill_add(sp, 902, "sub902-2"), NB_OK);
    assert_int_equal(pg_spill_abort_sub(sp, 902, &err), NB_OK);    /* ROLLBACK TO b */
    assert_int_equal(spill_add(sp, 901, "sub901-2"), NB_OK);       /* RELEASE b, back in a */
    assert_int_equal(spill_add(sp, 903, "sub903-1"), NB_OK);       /* SAVEPOINT c */
    assert_int_equal(pg_spill_abort_sub(sp, 903, &err), NB_OK);    /* ROLLBACK TO c */
    assert_int_equal(pg_spill_abort_sub(sp, 777, &err), NB_OK);    /* made no change: nothing to drop */
    assert_int_equal(spill_add(sp, 900, "top-2"), NB_OK);          /* RELEASE a */
    /* The file was created and unlinked at once: the directory stays empty. */
    assert_int_equal(rmdir(dir), 0);
    const char *want[] = {"top-1", "sub901-1", "sub901-2", "top-2"};
    spill_expect(sp, want, 4);
    assert_int_not_equal(spill_add(sp, 900, "late"), NB_OK);   /* no change after the commit */
    pg_spill_destroy(sp);

    assert_int_equal(pg_spill_create(&sp, 5, NULL, &err), NB_OK);
    for (int i = 0; i < 20000; i++) assert_int_equal(spill_add(sp, 5, "a change of a large transaction"), NB_OK);
    assert_int_equal(pg_spill_abort_sub(sp, 5, &err), NB_OK);    /* the whole transaction */
    spill_expect(sp, NULL, 0);
    pg_spill_destroy(sp);
    pg_spill_destroy(NULL);
    assert_int_not_equal(pg_spill_create(&sp, 6, "/nonexistent/dir", &err), NB_OK);
    assert_null(sp);
}

/* The lag op: seconds from the commit of the oldest change received but not yet durable (emitted
 * batches not acknowledged, the batch being filled) to the server's clock; 0 when all is durable. */
static void test_lag(void **state)
{
    struct pg_source s;
    memset(&s, 0, sizeof s);
    struct pg_table t[2];
    memset(t, 0, sizeof t);
    s.tables = t;
    s.ntables = 2;
    double lag = -1;
    assert_false(pg_cdc_lag(&s, &lag));   /* not streaming yet (snapshot phase) */
    s.streaming = true;
    assert_true(pg_cdc_lag(&s, &lag));
    assert_true(lag == 0);                 /* nothing outstanding: caught up */
    struct pg_outstanding out[2] = {{.seq = 1, .hold = 10, .commit_time = 1000000}, {.seq = 2, .hold = 20, .commit_time = 4000000}};
    t[1].out = out;
    t[1].n_out = 2;
    assert_false(pg_cdc_lag(&s, &lag));   /* no server time yet: unknown */
    s.server_time = 3500000;
    assert_true(pg_cdc_lag(&s, &lag));
    assert_true(lag > 2.49 && lag < 2.51);
    t[1].out = out + 1;                    /* the first batch acknowledged */
    t[1].n_out = 1;
    assert_true(pg_cdc_lag(&s, &lag));
    assert_true(lag == 0);                 /* a clock behind the commit time never gives a negative lag */
    s.server_time = 9000000;
    assert_true(pg_cdc_lag(&s, &lag));
    assert_true(lag > 4.99 && lag < 5.01);
}

int main(void)
{
    dec = calloc(1, sizeof *dec);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_begin_commit),  cmocka_unit_test(test_relation_and_changes),
        cmocka_unit_test(test_copy_framing),  cmocka_unit_test(test_copy_text_rows),
        cmocka_unit_test(test_values),        cmocka_unit_test(test_type_map),
        cmocka_unit_test(test_stream_messages), cmocka_unit_test(test_spill),
        cmocka_unit_test(test_lag),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(dec->rel_oids);
    free(dec);
    return rc;
}
