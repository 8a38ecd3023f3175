/* Binlog decoding from the documented byte layouts: events are built here byte by byte (header,
 * body, CRC32), including the MySQL-only ones no local server produces (MySQL GTID,
 * PREVIOUS_GTIDS, TRANSACTION_PAYLOAD with zstd, PARTIAL_UPDATE_ROWS, binary JSON, v2 rows). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>
#include <zstd.h>

#include "connectors/mysql/history.h"
#include "connectors/mysql/mysql_int.h"
#include "connectors/mysql/source.h"

/* ---- byte builders ----------------------------------------------------------------------- */
struct bb { uint8_t d[8192]; size_t n; };
static void u8(struct bb *b, unsigned v) { b->d[b->n++] = (uint8_t)v; }
static void le(struct bb *b, uint64_t v, size_t w) { for (size_t i = 0; i < w; i++) u8(b, (unsigned)(v >> (8 * i)) & 0xff); }
static void be(struct bb *b, uint64_t v, size_t w) { for (size_t i = 0; i < w; i++) u8(b, (unsigned)(v >> (8 * (w - 1 - i))) & 0xff); }
static void bytes(struct bb *b, const void *p, size_t n) { memcpy(b->d + b->n, p, n); b->n += n; }
static void lenenc(struct bb *b, uint64_t v)
{
    if (v < 251) u8(b, (unsigned)v);
    else if (v < 65536) { u8(b, 0xfc); le(b, v, 2); }
    else { u8(b, 0xfd); le(b, v, 3); }
}
static void lstr(struct bb *b, const char *s) { lenenc(b, strlen(s)); bytes(b, s, strlen(s)); }

/* header + body (+ CRC32) */
static size_t event(uint8_t *out, uint8_t type, const struct bb *body, uint32_t next_pos, bool crc)
{
    struct bb e = {.n = 0};
    size_t total = 19 + body->n + (crc ? 4 : 0);
    le(&e, 1700000000, 4);
    u8(&e, type);
    le(&e, 7, 4);
    le(&e, total, 4);
    le(&e, next_pos, 4);
    le(&e, 0, 2);
    bytes(&e, body->d, body->n);
    if (crc) le(&e, (uint32_t)crc32(0L, e.d, (uInt)e.n), 4);
    memcpy(out, e.d, e.n);
    return e.n;
}

static void fde(struct my_decoder *d, bool crc)
{
    struct bb b = {.n = 0};
    le(&b, 4, 2);
    char ver[50] = "8.0.36";
    bytes(&b, ver, 50);
    le(&b, 0, 4);
    u8(&b, 19);
    for (int i = 1; i <= 41; i++) u8(&b, i == MY_EV_TABLE_MAP ? 8 : (i >= 30 && i <= 32) || i == 39 ? 10 : 0);
    u8(&b, crc ? 1 : 0);
    uint8_t ev[512];
    size_t n = event(ev, MY_EV_FORMAT_DESCRIPTION, &b, 120, crc);
    struct my_event e;
    struct nb_error err = {0};
    my_decoder_init(d);
    assert_int_equal(my_event_parse(d, ev, n, &e, &err), NB_OK);
    assert_true(d->have_fde);
    assert_int_equal(d->checksum, crc);
    assert_string_equal(d->server_version, "8.0.36");
}

/* NB_WRITE_SEEDS=dir: write framed event sequences (2-byte length + event) as fuzz seeds. */
static void seed(const char *name, const uint8_t *const *evs, const size_t *lens, size_t n)
{
    const char *dir = getenv("NB_WRITE_SEEDS");
    if (!dir) return;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    for (size_t i = 0; i < n; i++) {
        uint8_t l[2] = {(uint8_t)(lens[i] & 0xff), (uint8_t)(lens[i] >> 8)};
        fwrite(l, 1, 2, f);
        fwrite(evs[i], 1, lens[i], f);
    }
    fclose(f);
}

static size_t fde_bytes(uint8_t *ev, bool crc)
{
    struct bb b = {.n = 0};
    le(&b, 4, 2);
    char ver[50] = "8.0.36";
    bytes(&b, ver, 50);
    le(&b, 0, 4);
    u8(&b, 19);
    for (int i = 1; i <= 41; i++) u8(&b, i == MY_EV_TABLE_MAP ? 8 : (i >= 30 && i <= 32) || i == 39 ? 10 : 0);
    u8(&b, crc ? 1 : 0);
    return event(ev, MY_EV_FORMAT_DESCRIPTION, &b, 120, crc);
}

static void test_fde_checksum(void **state)
{
    (void)state;
    struct my_decoder d;
    fde(&d, true);
    struct bb b = {.n = 0};
    le(&b, 99, 8);
    uint8_t ev[128];
    size_t n = event(ev, MY_EV_XID, &b, 500, true);
    struct my_event e;
    struct nb_error err = {0};
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    assert_int_equal(e.type, MY_EV_XID);
    assert_int_equal(e.body_len, 8);
    assert_int_equal(e.next_pos, 500);
    ev[20] ^= 1; /* a flipped bit */
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "checksum"));
    /* size field disagreeing with the packet */
    assert_int_equal(my_event_parse(&d, ev, n - 1, &e, &err), NB_ERR_PROTOCOL);
    assert_int_equal(my_event_parse(&d, ev, 5, &e, &err), NB_ERR_PROTOCOL);
}

static void test_rotate_query(void **state)
{
    (void)state;
    struct my_decoder d;
    fde(&d, false);
    struct bb b = {.n = 0};
    le(&b, 4, 8);
    bytes(&b, "bin.000042", 10);
    uint8_t ev[256];
    size_t n = event(ev, MY_EV_ROTATE, &b, 0, false);
    struct my_event e;
    struct nb_error err = {0};
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    struct my_rotate r;
    assert_int_equal(my_parse_rotate(&e, &r, &err), NB_OK);
    assert_string_equal(r.file, "bin.000042");
    assert_int_equal(r.pos, 4);
    /* QUERY: thread, time, db len, error, status len, status, db\0, sql */
    struct bb q = {.n = 0};
    le(&q, 1, 4); le(&q, 0, 4); u8(&q, 2); le(&q, 0, 2); le(&q, 3, 2); bytes(&q, "\x00\x00\x00", 3);
    bytes(&q, "db\0", 3);
    bytes(&q, "ALTER TABLE t ADD c INT", 23);
    n = event(ev, MY_EV_QUERY, &q, 900, false);
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    struct my_query qq;
    assert_int_equal(my_parse_query(&e, &qq, &err), NB_OK);
    assert_string_equal(qq.db, "db");
    assert_int_equal(qq.sql_len, 23);
    assert_memory_equal(qq.sql, "ALTER TABLE t ADD c INT", 23);
    /* status length beyond the body */
    q.d[11] = 0xff;
    n = event(ev, MY_EV_QUERY, &q, 900, false);
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    assert_int_equal(my_parse_query(&e, &qq, &err), NB_ERR_PROTOCOL);
}

static const uint8_t sid[16] = {0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x62};

static void test_gtids(void **state)
{
    (void)state;
    struct my_decoder d;
    fde(&d, true);
    uint8_t ev[512];
    struct my_event e;
    struct nb_error err = {0};
    struct my_gtid g;
    /* MariaDB GTID: seq 8, domain 4, flags 1 (standalone) */
    struct bb m = {.n = 0};
    le(&m, 42, 8); le(&m, 3, 4); u8(&m, 1); le(&m, 0, 6);
    size_t n = event(ev, MY_EV_MARIA_GTID, &m, 300, true);
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    assert_int_equal(my_parse_gtid(&e, e.server_id, &g, &err), NB_OK);
    assert_string_equal(g.text, "3-7-42");
    assert_true(g.standalone);
    /* MySQL GTID: flags, sid, gno, lt type, last_committed, sequence_number, immediate ts (7) */
    struct bb y = {.n = 0};
    u8(&y, 1); bytes(&y, sid, 16); le(&y, 23, 8); u8(&y, 2); le(&y, 5, 8); le(&y, 6, 8);
    le(&y, 1700000000123456ull, 7);
    n = event(ev, MY_EV_GTID, &y, 400, true);
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    assert_int_equal(my_parse_gtid(&e, e.server_id, &g, &err), NB_OK);
    assert_string_equal(g.text, "3e11fa47-71ca-11e1-9e33-c80aa9429562:23");
    assert_true(g.mysql);
    assert_int_equal(g.commit_ts_us, 1700000000123456ll);
    /* truncated MySQL GTID */
    y.n = 10;
    n = event(ev, MY_EV_GTID, &y, 400, true);
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    assert_int_equal(my_parse_gtid(&e, e.server_id, &g, &err), NB_ERR_PROTOCOL);
    /* PREVIOUS_GTIDS: n_sids, sid, n_intervals, [start, end) */
    struct bb p = {.n = 0};
    le(&p, 1, 8); bytes(&p, sid, 16); le(&p, 2, 8); le(&p, 1, 8); le(&p, 6, 8); le(&p, 8, 8); le(&p, 9, 8);
    n = event(ev, MY_EV_PREVIOUS_GTIDS, &p, 500, true);
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    struct nb_buf out;
    nb_buf_init(&out);
    assert_int_equal(my_parse_gtid_list(&e, &out, &err), NB_OK);
    assert_string_equal(out.data, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:8");
    /* MariaDB GTID_LIST */
    struct bb l = {.n = 0};
    le(&l, 2, 4); le(&l, 0, 4); le(&l, 1, 4); le(&l, 10, 8); le(&l, 1, 4); le(&l, 2, 4); le(&l, 20, 8);
    n = event(ev, MY_EV_MARIA_GTID_LIST, &l, 600, true);
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    nb_buf_reset(&out);
    assert_int_equal(my_parse_gtid_list(&e, &out, &err), NB_OK);
    assert_string_equal(out.data, "0-1-10,1-2-20");
    /* a count that cannot fit */
    l.d[0] = 0xff;
    n = event(ev, MY_EV_MARIA_GTID_LIST, &l, 600, true);
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    assert_int_equal(my_parse_gtid_list(&e, &out, &err), NB_ERR_PROTOCOL);
    nb_buf_cleanup(&out);
}

/* GTID sets: text in and out (merging intervals), one GTID at a time, the binary encoding and
 * the COM_BINLOG_DUMP_GTID request, byte by byte from the documented layout. */
static void test_gtid_set_and_dump_request(void **state)
{
    (void)state;
    struct nb_error err = {0};
    struct my_gtid_set s;
    struct nb_buf out;
    nb_buf_init(&out);
    my_gtid_set_init(&s);
    const char *a = "3e11fa47-71ca-11e1-9e33-c80aa9429562", *b = "4e11fa47-71ca-11e1-9e33-c80aa9429563";
    char text[256];
    snprintf(text, sizeof text, "%s:1-3:2-5:9,\n %s:3", a, b);
    assert_int_equal(my_gtid_set_parse(&s, text, &err), NB_OK);
    my_gtid_set_text(&s, &out);
    snprintf(text, sizeof text, "%s:1-5:9,%s:3", a, b);
    assert_string_equal(out.data, text);
    /* the next transactions: extend, fill the gap, a new SID */
    assert_int_equal(my_gtid_set_add(&s, sid, 6, &err), NB_OK);
    assert_int_equal(my_gtid_set_add(&s, sid, 8, &err), NB_OK);
    assert_int_equal(my_gtid_set_add(&s, sid, 7, &err), NB_OK);
    uint8_t sid3[16] = {0xaa};
    assert_int_equal(my_gtid_set_add(&s, sid3, 1, &err), NB_OK);
    assert_int_equal(my_gtid_set_add(&s, sid3, 0, &err), NB_ERR_PROTOCOL);
    nb_buf_reset(&out);
    my_gtid_set_text(&s, &out);
    snprintf(text, sizeof text, "%s:1-9,%s:3,aa000000-0000-0000-0000-000000000000:1", a, b);
    assert_string_equal(out.data, text);
    my_gtid_set_cleanup(&s);
    /* bad text names the place */
    static const char *const bad[] = {"xyz", "3e11fa47-71ca-11e1-9e33-c80aa9429562", "3e11fa47-71ca-11e1-9e33-c80aa9429562:0",
                                      "3e11fa47-71ca-11e1-9e33-c80aa9429562:5-3", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1;",
                                      "3e11fa47-71ca-11e1-9e33-c80aa9429562:99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        my_gtid_set_init(&s);
        assert_int_equal(my_gtid_set_parse(&s, bad[i], &err), NB_ERR_INVALID);
        assert_non_null(strstr(err.message, "offset"));
        my_gtid_set_cleanup(&s);
    }
    /* encoding of a:1-5:9: n_sids (8), sid, n_intervals (8), [1,6), [9,10) */
    my_gtid_set_init(&s);
    snprintf(text, sizeof text, "%s:1-5:9", a);
    assert_int_equal(my_gtid_set_parse(&s, text, &err), NB_OK);
    struct bb w = {.n = 0};
    le(&w, 1, 8); bytes(&w, sid, 16); le(&w, 2, 8); le(&w, 1, 8); le(&w, 6, 8); le(&w, 9, 8); le(&w, 10, 8);
    nb_buf_reset(&out);
    my_gtid_set_encode(&s, &out);
    assert_int_equal(out.len, w.n);
    assert_memory_equal(out.data, w.d, w.n);
    /* and back */
    struct my_gtid_set back;
    my_gtid_set_init(&back);
    assert_int_equal(my_gtid_set_decode(&back, w.d, w.n, &err), NB_OK);
    nb_buf_reset(&out);
    my_gtid_set_text(&back, &out);
    assert_string_equal(out.data, text);
    my_gtid_set_cleanup(&back);
    for (size_t cut = 0; cut < w.n; cut += 7) {
        my_gtid_set_init(&back);
        assert_int_equal(my_gtid_set_decode(&back, w.d, cut, &err), NB_ERR_PROTOCOL);
        my_gtid_set_cleanup(&back);
    }
    /* COM_BINLOG_DUMP_GTID after its command byte: flags 0x0004 (BINLOG_THROUGH_GTID), server
     * id, name length + name, position (8), data length (4), the encoded set */
    struct bb r = {.n = 0};
    le(&r, 4, 2); le(&r, 4242, 4); le(&r, 0, 4); le(&r, 4, 8); le(&r, w.n, 4); bytes(&r, w.d, w.n);
    nb_buf_reset(&out);
    my_dump_gtid_request(4242, "", 4, &s, &out);
    assert_int_equal(out.len, r.n);
    assert_memory_equal(out.data, r.d, r.n);
    struct bb r2 = {.n = 0};
    le(&r2, 4, 2); le(&r2, 7, 4); le(&r2, 10, 4); bytes(&r2, "bin.000042", 10); le(&r2, 1234, 8); le(&r2, w.n, 4);
    bytes(&r2, w.d, w.n);
    nb_buf_reset(&out);
    my_dump_gtid_request(7, "bin.000042", 1234, &s, &out);
    assert_int_equal(out.len, r2.n);
    assert_memory_equal(out.data, r2.d, r2.n);
    assert_int_equal(MY_COM_BINLOG_DUMP_GTID, 0x1e);
    my_gtid_set_cleanup(&s);
    nb_buf_cleanup(&out);
}

/* ---- a table map with many types and FULL metadata --------------------------------------- */
enum { NCOL = 20 };

static size_t table_map(uint8_t *ev, bool crc)
{
    struct bb b = {.n = 0};
    le(&b, 77, 6); le(&b, 1, 2);
    u8(&b, 2); bytes(&b, "db\0", 3);
    u8(&b, 1); bytes(&b, "t\0", 2);
    lenenc(&b, NCOL);
    const uint8_t types[NCOL] = {MY_T_LONG, MY_T_LONGLONG, MY_T_TINY, MY_T_NEWDECIMAL, MY_T_NEWDECIMAL, MY_T_DATETIME2,
                                 MY_T_TIME2, MY_T_TIMESTAMP2, MY_T_DATE, MY_T_YEAR, MY_T_VARCHAR, MY_T_STRING, MY_T_STRING,
                                 MY_T_BLOB, MY_T_JSON, MY_T_GEOMETRY, MY_T_BIT, MY_T_DOUBLE, MY_T_FLOAT, MY_T_INT24};
    bytes(&b, types, NCOL);
    struct bb m = {.n = 0};
    u8(&m, 14); u8(&m, 4);          /* DECIMAL(14,4), big-endian order: precision, scale */
    u8(&m, 20); u8(&m, 0);          /* DECIMAL(20,0) */
    u8(&m, 6);                      /* DATETIME(6) */
    u8(&m, 3);                      /* TIME(3) */
    u8(&m, 2);                      /* TIMESTAMP(2) */
    le(&m, 300, 2);                 /* VARCHAR(300): 2 length bytes */
    u8(&m, MY_T_ENUM); u8(&m, 1);   /* ENUM, 1 byte */
    u8(&m, MY_T_SET); u8(&m, 1);    /* SET, 1 byte */
    u8(&m, 2);                      /* BLOB: 2 length bytes */
    u8(&m, 4);                      /* JSON: 4 length bytes */
    u8(&m, 4);                      /* GEOMETRY: 4 */
    u8(&m, 1); u8(&m, 1);           /* BIT(9): bits%8=1, bytes=1 */
    u8(&m, 8);                      /* DOUBLE */
    u8(&m, 4);                      /* FLOAT */
    lenenc(&b, m.n);
    bytes(&b, m.d, m.n);
    le(&b, 0xfffff, 3);             /* all nullable */
    /* SIGNEDNESS: numeric columns are LONG, LONGLONG, TINY, DEC, DEC, DOUBLE, FLOAT, INT24; unsigned: LONGLONG, TINY */
    u8(&b, 1); lenenc(&b, 1); u8(&b, 0x60);
    /* COLUMN_NAME */
    struct bb names = {.n = 0};
    const char *nm[NCOL] = {"i", "bu", "tu", "d", "d20", "dt", "tm", "ts", "da", "y", "vc", "e", "s", "bl", "j", "g", "b9",
                            "db", "f", "m"};
    for (int i = 0; i < NCOL; i++) lstr(&names, nm[i]);
    u8(&b, 4); lenenc(&b, names.n); bytes(&b, names.d, names.n);
    /* SET_STR_VALUE and ENUM_STR_VALUE */
    struct bb sv = {.n = 0};
    lenenc(&sv, 3); lstr(&sv, "a"); lstr(&sv, "b"); lstr(&sv, "c");
    u8(&b, 5); lenenc(&b, sv.n); bytes(&b, sv.d, sv.n);
    struct bb en = {.n = 0};
    lenenc(&en, 2); lstr(&en, "x"); lstr(&en, "y z");
    u8(&b, 6); lenenc(&b, en.n); bytes(&b, en.d, en.n);
    /* SIMPLE_PRIMARY_KEY: column 0 */
    u8(&b, 8); lenenc(&b, 1); lenenc(&b, 0);
    return event(ev, MY_EV_TABLE_MAP, &b, 1000, crc);
}

/* DECIMAL binary form of digits (sign, integer groups of 9, fraction groups of 9). */
static void dec(struct bb *b, const char *text, unsigned prec, unsigned scale)
{
    static const int d2b[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
    bool neg = text[0] == '-';
    if (neg) text++;
    const char *dot = strchr(text, '.');
    size_t il = dot ? (size_t)(dot - text) : strlen(text);
    unsigned intg = prec - scale;
    char ip[80], fp[40];
    memset(ip, '0', intg - il);
    memcpy(ip + intg - il, text, il);
    ip[intg] = 0;
    memset(fp, '0', scale);
    fp[scale] = 0;
    if (dot) memcpy(fp, dot + 1, strlen(dot + 1));
    struct bb t = {.n = 0};
    unsigned lead = intg % 9;
    const char *p = ip;
    char g[10];
    if (lead) { snprintf(g, sizeof g, "%.*s", lead, p); be(&t, strtoull(g, NULL, 10), (size_t)d2b[lead]); p += lead; }
    for (unsigned i = 0; i < intg / 9; i++, p += 9) { snprintf(g, sizeof g, "%.9s", p); be(&t, strtoull(g, NULL, 10), 4); }
    p = fp;
    for (unsigned i = 0; i < scale / 9; i++, p += 9) { snprintf(g, sizeof g, "%.9s", p); be(&t, strtoull(g, NULL, 10), 4); }
    if (scale % 9) { snprintf(g, sizeof g, "%.*s", scale % 9, p); be(&t, strtoull(g, NULL, 10), (size_t)d2b[scale % 9]); }
    t.d[0] ^= 0x80;
    if (neg) for (size_t i = 0; i < t.n; i++) t.d[i] ^= 0xff;
    bytes(b, t.d, t.n);
}

/* MySQL binary JSON of {"k":[1,true,"s",2.5],"n":null} (small object, offsets from its start). */
static void json_bin(struct bb *b)
{
    struct bb arr = {.n = 0};
    /* small array: count 4, size, 4 entries of (type, 2-byte inline/offset), then values */
    size_t arr_hdr = 4 + 4 * 3;
    double v = 2.5;
    uint64_t bits;
    memcpy(&bits, &v, 8);
    le(&arr, 4, 2); le(&arr, arr_hdr + 2 + 8, 2);
    u8(&arr, 5); le(&arr, 1, 2);              /* int16 1, inlined */
    u8(&arr, 4); le(&arr, 1, 2);              /* literal true */
    u8(&arr, 12); le(&arr, arr_hdr, 2);       /* string at offset */
    u8(&arr, 11); le(&arr, arr_hdr + 2, 2);   /* double at offset */
    u8(&arr, 1); u8(&arr, 's');
    le(&arr, bits, 8);
    struct bb obj = {.n = 0};
    size_t hdr = 4 + 2 * 4 + 2 * 3; /* count,size; 2 keys (off,len); 2 values */
    size_t keys_at = hdr;
    size_t arr_at = keys_at + 2;
    le(&obj, 2, 2); le(&obj, arr_at + arr.n, 2);
    le(&obj, keys_at, 2); le(&obj, 1, 2);
    le(&obj, keys_at + 1, 2); le(&obj, 1, 2);
    u8(&obj, 2); le(&obj, arr_at, 2);         /* small array */
    u8(&obj, 4); le(&obj, 0, 2);              /* literal null */
    bytes(&obj, "kn", 2);
    bytes(&obj, arr.d, arr.n);
    le(b, 1 + obj.n, 4);
    u8(b, 0);                                 /* small object */
    bytes(b, obj.d, obj.n);
}

static void row_values(struct bb *r)
{
    /* all 20 columns present, none null */
    le(r, 0, 3);
    le(r, (uint32_t)-5, 4);                              /* INT -5 */
    le(r, 18446744073709551615ull, 8);                   /* BIGINT UNSIGNED max */
    u8(r, 200);                                          /* TINYINT UNSIGNED 200 */
    dec(r, "1234567890.1234", 14, 4);
    dec(r, "-12345678901234567890", 20, 0);
    /* DATETIME(6) 2024-02-29 13:14:15.123456 */
    uint64_t ymd = ((2024ull * 13 + 2) << 5) | 29, hms = (13u << 12) | (14u << 6) | 15u;
    be(r, ((ymd << 17) | hms) + 0x8000000000ull, 5);
    be(r, 123456, 3);
    /* TIME(3) -838:59:59.125: int part (floor) and negative fraction as MySQL stores them */
    int64_t packed = -((int64_t)(((838u << 12) | (59u << 6) | 59u)) * (1ll << 24) + 125000);
    int64_t ipart = packed >> 24;       /* arithmetic shift: floor */
    int64_t frac = packed % (1ll << 24);
    be(r, (uint64_t)(0x800000 + ipart), 3);
    be(r, (uint64_t)(uint16_t)(frac / 100), 2);
    /* TIMESTAMP(2) 2038-01-19 03:14:07.99 */
    be(r, 2147483647u, 4);
    be(r, 99, 1);
    le(r, (2024u << 9) | (2u << 5) | 29u, 3);             /* DATE */
    u8(r, 124);                                          /* YEAR 2024 */
    le(r, 6, 2); bytes(r, "h\xc3\xa9llo", 6);            /* VARCHAR(300): 2-byte length */
    u8(r, 2);                                            /* ENUM 'y z' */
    u8(r, 5);                                            /* SET a,c */
    le(r, 3, 2); bytes(r, "txt", 3);                     /* BLOB */
    json_bin(r);
    le(r, 4 + 5, 4); le(r, 4326, 4); bytes(r, "\x01\x01\x00\x00\x00", 5); /* GEOMETRY: SRID + WKB */
    be(r, 257, 2);                                       /* BIT(9) */
    double dv = -2.25e-300;
    uint64_t db;
    memcpy(&db, &dv, 8);
    le(r, db, 8);
    float fv = 1.5f;
    uint32_t fb;
    memcpy(&fb, &fv, 4);
    le(r, fb, 4);
    le(r, (uint32_t)-8388608 & 0xffffff, 3);             /* MEDIUMINT min */
}

static const char *expected[NCOL] = {
    "-5", "18446744073709551615", "200", "1234567890.1234", "-12345678901234567890", "2024-02-29 13:14:15.123456",
    "-838:59:59.125", "2038-01-19T03:14:07.99Z", "2024-02-29", "2024", "h\xc3\xa9llo", "y z", "a,c", "txt",
    "{\"k\":[1,true,\"s\",2.5],\"n\":null}", "\x01\x01\x00\x00\x00", "257", "-2.25e-300", "1.5", "-8388608",
};

struct seen { int rows; char kinds[8]; char text[NCOL][128]; size_t len[NCOL]; char before0[32]; };

static nb_status collect(void *ud, char kind, const struct my_image *before, const struct my_image *after, struct nb_error *err)
{
    (void)err;
    struct seen *s = ud;
    const struct my_image *im = after ? after : before;
    s->kinds[s->rows++] = kind;
    for (size_t i = 0; i < im->n && i < NCOL; i++) {
        s->len[i] = im->state[i] == 2 ? im->len[i] : (size_t)-1;
        if (im->state[i] == 2) memcpy(s->text[i], im->text.data + im->off[i], im->len[i]);
    }
    if (before && before->state[0] == 2) snprintf(s->before0, sizeof s->before0, "%.*s", (int)before->len[0], before->text.data + before->off[0]);
    return NB_OK;
}

static void check_row(const struct seen *s)
{
    for (int i = 0; i < NCOL; i++) {
        size_t n = strlen(expected[i]);
        if (i == 15) n = 5;
        if (s->len[i] != n || memcmp(s->text[i], expected[i], n) != 0)
            fail_msg("column %d: got '%.*s', want '%s'", i, (int)s->len[i], s->text[i], expected[i]);
    }
}

static void test_table_map_and_rows_v2(void **state)
{
    (void)state;
    struct my_decoder d;
    fde(&d, true);
    uint8_t ev[4096];
    size_t n = table_map(ev, true);
    struct my_event e;
    struct nb_error err = {0};
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    struct my_table t;
    memset(&t, 0, sizeof t);
    nb_arena_init(&t.arena, 4096);
    nb_status s = my_parse_table_map(&e, &t, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    assert_int_equal(t.n_cols, NCOL);
    assert_string_equal(t.db, "db");
    assert_true(t.has_names);
    assert_string_equal(t.cols[4].name, "d20");
    assert_false(t.cols[0].is_unsigned);
    assert_true(t.cols[1].is_unsigned);
    assert_true(t.cols[2].is_unsigned);
    assert_int_equal(t.cols[11].type, MY_T_ENUM);
    assert_int_equal(t.cols[11].n_labels, 2);
    assert_int_equal(t.cols[12].n_labels, 3);
    assert_true(t.cols[0].is_pk);
    assert_int_equal(t.cols[1].nb.id, NB_TYPE_DECIMAL);
    assert_int_equal(t.cols[7].nb.id, NB_TYPE_TIMESTAMP);
    assert_true(t.cols[7].nb.utc);
    /* WRITE_ROWS v2: table id 6, flags 2, extra len 2 (=2: none), col count, present bitmap, rows */
    struct bb w = {.n = 0};
    le(&w, 77, 6); le(&w, 1, 2); le(&w, 2, 2); lenenc(&w, NCOL); le(&w, 0xfffff, 3);
    row_values(&w);
    n = event(ev, MY_EV_WRITE_ROWS, &w, 2000, true);
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    struct my_image before, after;
    my_image_init(&before);
    my_image_init(&after);
    struct seen seen;
    memset(&seen, 0, sizeof seen);
    s = my_parse_rows(&e, &t, &before, &after, collect, &seen, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    assert_int_equal(seen.rows, 1);
    assert_int_equal(seen.kinds[0], 'c');
    check_row(&seen);
    {
        uint8_t f[512], tm[4096];
        size_t fl = fde_bytes(f, true), tl = table_map(tm, true);
        const uint8_t *evs[3] = {f, tm, ev};
        size_t lens[3] = {fl, tl, n};
        seed("rows_v2_all_types", evs, lens, 3);
    }
    /* every truncation of the row is an error, never a crash */
    for (size_t cut = 1; cut < w.n - 20; cut += 3) {
        struct bb tr = w;
        tr.n = w.n - cut;
        n = event(ev, MY_EV_WRITE_ROWS, &tr, 2000, true);
        assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
        memset(&seen, 0, sizeof seen);
        assert_int_not_equal(my_parse_rows(&e, &t, &before, &after, collect, &seen, &err), NB_OK);
    }
    /* no column present: an error, not an endless loop over zero-byte rows */
    struct bb none = {.n = 0};
    le(&none, 77, 6); le(&none, 1, 2); le(&none, 2, 2); lenenc(&none, NCOL); le(&none, 0, 3); u8(&none, 0);
    n = event(ev, MY_EV_WRITE_ROWS, &none, 2000, true);
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    assert_int_equal(my_parse_rows(&e, &t, &before, &after, collect, &seen, &err), NB_ERR_PROTOCOL);
    /* a column count that disagrees with the table map */
    struct bb bad = w;
    bad.d[10] = NCOL - 1;
    n = event(ev, MY_EV_WRITE_ROWS, &bad, 2000, true);
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    assert_int_equal(my_parse_rows(&e, &t, &before, &after, collect, &seen, &err), NB_ERR_PROTOCOL);
    my_image_cleanup(&before);
    my_image_cleanup(&after);
    nb_arena_cleanup(&t.arena);
}

static void test_update_v1_partial_image(void **state)
{
    (void)state;
    struct my_decoder d;
    fde(&d, false);
    uint8_t ev[4096];
    size_t n = table_map(ev, false);
    struct my_event e;
    struct nb_error err = {0};
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    struct my_table t;
    memset(&t, 0, sizeof t);
    nb_arena_init(&t.arena, 4096);
    assert_int_equal(my_parse_table_map(&e, &t, &err), NB_OK);
    /* UPDATE_ROWS v1: before image has only column 0 (minimal image), after has all; column 3 NULL after */
    struct bb u = {.n = 0};
    le(&u, 77, 6); le(&u, 1, 2); lenenc(&u, NCOL); le(&u, 0x1, 3); le(&u, 0xfffff, 3);
    u8(&u, 0); le(&u, 9, 4);                 /* before: null bitmap over 1 present column, INT 9 */
    struct bb after = {.n = 0};
    row_values(&after);
    u.d[u.n] = 0; /* keep compiler quiet about ordering */
    bytes(&u, after.d, after.n);
    n = event(ev, MY_EV_UPDATE_ROWS_V1, &u, 3000, false);
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    struct my_image bi, ai;
    my_image_init(&bi);
    my_image_init(&ai);
    struct seen seen;
    memset(&seen, 0, sizeof seen);
    nb_status s = my_parse_rows(&e, &t, &bi, &ai, collect, &seen, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    assert_int_equal(seen.rows, 1);
    assert_int_equal(seen.kinds[0], 'u');
    assert_string_equal(seen.before0, "9");
    check_row(&seen);
    {
        uint8_t f[512], tm[4096];
        size_t fl = fde_bytes(f, false), tl = table_map(tm, false);
        const uint8_t *evs[3] = {f, tm, ev};
        size_t lens[3] = {fl, tl, n};
        seed("update_v1_minimal_before", evs, lens, 3);
    }
    /* DELETE v1 of the same image */
    struct bb del = {.n = 0};
    le(&del, 77, 6); le(&del, 1, 2); lenenc(&del, NCOL); le(&del, 0xfffff, 3);
    bytes(&del, after.d, after.n);
    bytes(&del, after.d, after.n); /* two rows */
    n = event(ev, MY_EV_DELETE_ROWS_V1, &del, 4000, false);
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    memset(&seen, 0, sizeof seen);
    assert_int_equal(my_parse_rows(&e, &t, &bi, &ai, collect, &seen, &err), NB_OK);
    assert_int_equal(seen.rows, 2);
    assert_int_equal(seen.kinds[1], 'd');
    check_row(&seen);
    /* PARTIAL_UPDATE_ROWS (MySQL): v2 header, two bitmaps, before, value_options, after */
    struct bb p = {.n = 0};
    le(&p, 77, 6); le(&p, 1, 2); le(&p, 2, 2); lenenc(&p, NCOL); le(&p, 0xfffff, 3); le(&p, 0xfffff, 3);
    bytes(&p, after.d, after.n);
    lenenc(&p, 0);                               /* no partial JSON in this row */
    bytes(&p, after.d, after.n);
    n = event(ev, MY_EV_PARTIAL_UPDATE_ROWS, &p, 5000, false);
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    memset(&seen, 0, sizeof seen);
    s = my_parse_rows(&e, &t, &bi, &ai, collect, &seen, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    assert_int_equal(seen.rows, 1);
    check_row(&seen);
    /* value_options with PARTIAL_JSON_UPDATES, but no JSON column marked partial: full values */
    struct bb p2 = {.n = 0};
    le(&p2, 77, 6); le(&p2, 1, 2); le(&p2, 2, 2); lenenc(&p2, NCOL); le(&p2, 0xfffff, 3); le(&p2, 0xfffff, 3);
    bytes(&p2, after.d, after.n);
    lenenc(&p2, 1);
    u8(&p2, 0);
    bytes(&p2, after.d, after.n);
    n = event(ev, MY_EV_PARTIAL_UPDATE_ROWS, &p2, 5000, false);
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    memset(&seen, 0, sizeof seen);
    s = my_parse_rows(&e, &t, &bi, &ai, collect, &seen, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    check_row(&seen);
    my_image_cleanup(&bi);
    my_image_cleanup(&ai);
    nb_arena_cleanup(&t.arena);
}

/* The key ranges a snapshot left, read back from a saved position: exact values, null bounds,
 * the older {"pk":[..]} form, and shapes that do not fit the table's key (-1: copy it all). */
static void test_saved_ranges(void **state)
{
    (void)state;
    struct my_tinfo t;
    memset(&t, 0, sizeof t);
    nb_arena_init(&t.arena, 1024);
    t.n_pk = 2;
    assert_int_equal(my_pos_ranges("{\"gtid\":\"0-1-5\",\"ranges\":[[[\"1\",\"a\"],[\"5\",\"b\\\"c\"]],[null,null]]}", &t), 1);
    assert_int_equal(t.n_ranges, 2);
    assert_string_equal(t.ranges[0]->after[1], "a");
    assert_string_equal(t.ranges[0]->upto[1], "b\"c");
    assert_null(t.ranges[1]->after);
    assert_null(t.ranges[1]->upto);
    assert_false(t.ranges[0]->claimed);
    t.n_ranges = 0;
    assert_int_equal(my_pos_ranges("{\"pk\":[\"7\",\"x\"]}", &t), 1);
    assert_int_equal(t.n_ranges, 1);
    assert_string_equal(t.ranges[0]->after[0], "7");
    assert_null(t.ranges[0]->upto);
    static const char *const bad[] = {"{\"ranges\":[[[\"1\"],null]]}", "{\"ranges\":\"x\"}", "{\"ranges\":[]}",
                                      "{\"ranges\":[[null]]}", "{\"ranges\":[[[1,2],null]]}", "{\"pk\":[\"1\"]}",
                                      "{\"ranges\":[[null,null],[[\"1\",\"2\"],7]]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (my_pos_ranges(bad[i], &t) != -1) fail_msg("accepted %s", bad[i]);
        assert_int_equal(t.n_ranges, 1);   /* nothing appended */
    }
    assert_int_equal(my_pos_ranges("{\"file\":\"bin.000001\",\"pos\":4}", &t), 0);
    assert_int_equal(my_pos_ranges("not json", &t), 0);
    /* a table without a key: only whole-table ranges */
    t.n_pk = 0;
    t.n_ranges = 0;
    assert_int_equal(my_pos_ranges("{\"ranges\":[[null,null]]}", &t), 1);
    assert_int_equal(my_pos_ranges("{\"ranges\":[[[\"1\"],null]]}", &t), -1);
    nb_arena_cleanup(&t.arena);
}

/* ---- partial JSON updates --------------------------------------------------------------- */
struct json_rows { int rows; char a[256], b[256]; };

static nb_status collect_json(void *ud, char kind, const struct my_image *before, const struct my_image *after,
                              struct nb_error *err)
{
    (void)kind; (void)before; (void)err;
    struct json_rows *j = ud;
    j->rows++;
    snprintf(j->a, sizeof j->a, "%.*s", after->state[1] == 2 ? (int)after->len[1] : 4,
             after->state[1] == 2 ? after->text.data + after->off[1] : "null");
    snprintf(j->b, sizeof j->b, "%.*s", after->state[2] == 2 ? (int)after->len[2] : 4,
             after->state[2] == 2 ? after->text.data + after->off[2] : "null");
    return NB_OK;
}

/* op, path, and for REPLACE/INSERT the binary JSON value */
static void diff(struct bb *b, unsigned op, const char *path, const void *v, size_t vn)
{
    u8(b, op);
    lstr(b, path);
    if (op != 2) { lenenc(b, vn); bytes(b, v, vn); }
}

/* A table (id INT, a JSON, b JSON) and one PARTIAL_UPDATE_ROWS row: a holds a diff vector
 * against its before value {"x":1,"arr":[1,2]} (binary JSON), b a full value. */
static nb_status partial_row(const struct bb *diffs, bool before_null, struct json_rows *out, struct nb_error *err)
{
    struct my_decoder d;
    fde(&d, false);
    uint8_t ev[2048], fev[512], mev[512];
    struct bb m = {.n = 0};
    le(&m, 78, 6); le(&m, 1, 2); u8(&m, 2); bytes(&m, "db\0", 3); u8(&m, 1); bytes(&m, "j\0", 2);
    lenenc(&m, 3); u8(&m, MY_T_LONG); u8(&m, MY_T_JSON); u8(&m, MY_T_JSON);
    lenenc(&m, 2); u8(&m, 4); u8(&m, 4);        /* JSON metadata: 4 length bytes each */
    u8(&m, 0x06);                               /* a, b nullable */
    size_t mn = event(mev, MY_EV_TABLE_MAP, &m, 100, false);
    struct my_event e;
    assert_int_equal(my_event_parse(&d, mev, mn, &e, err), NB_OK);
    struct my_table t;
    memset(&t, 0, sizeof t);
    nb_arena_init(&t.arena, 1024);
    assert_int_equal(my_parse_table_map(&e, &t, err), NB_OK);
    /* {"x":1,"arr":[1,2]}: small object, count 2, size 32; key entries (offset, length), value
     * entries (type, inline int16 or offset), keys, then the small array [1,2] at offset 22 */
    static const uint8_t obj[] = {0x00, 2, 0, 32, 0, 18, 0, 1, 0, 19, 0, 3, 0, 0x05, 1, 0, 0x02, 22, 0,
                                  'x', 'a', 'r', 'r', 2, 0, 10, 0, 0x05, 1, 0, 0x05, 2, 0};
    static const uint8_t arr7[] = {0x02, 1, 0, 7, 0, 0x05, 7, 0};   /* [7] */
    struct bb r = {.n = 0};
    le(&r, 78, 6); le(&r, 1, 2); le(&r, 2, 2); lenenc(&r, 3); u8(&r, 0x07); u8(&r, 0x07);
    u8(&r, before_null ? 0x02 : 0x00); le(&r, 1, 4);           /* before: id 1, a, b [7] */
    if (!before_null) { le(&r, sizeof obj, 4); bytes(&r, obj, sizeof obj); }
    le(&r, sizeof arr7, 4); bytes(&r, arr7, sizeof arr7);
    lenenc(&r, 1); u8(&r, 0x01);                               /* PARTIAL_JSON_UPDATES; a is partial */
    u8(&r, 0x00); le(&r, 1, 4);
    le(&r, diffs->n, 4); bytes(&r, diffs->d, diffs->n);
    le(&r, sizeof arr7, 4); bytes(&r, arr7, sizeof arr7);
    size_t n = event(ev, MY_EV_PARTIAL_UPDATE_ROWS, &r, 200, false);
    assert_int_equal(my_event_parse(&d, ev, n, &e, err), NB_OK);
    if (diffs->n > 60) {
        const uint8_t *evs[3] = {fev, mev, ev};
        size_t lens[3] = {fde_bytes(fev, false), mn, n};
        seed("partial_json_diffs", evs, lens, 3);
    }
    struct my_image bi, ai;
    my_image_init(&bi);
    my_image_init(&ai);
    memset(out, 0, sizeof *out);
    nb_status st = my_parse_rows(&e, &t, &bi, &ai, collect_json, out, err);
    my_image_cleanup(&bi);
    my_image_cleanup(&ai);
    nb_arena_cleanup(&t.arena);
    return st;
}

static void test_partial_json(void **state)
{
    (void)state;
    struct nb_error err = {0};
    struct json_rows j;
    static const uint8_t five[] = {0x05, 5, 0}, hi[] = {0x0c, 2, 'h', 'i'}, yes[] = {0x04, 0x01};
    static const uint8_t nested[] = {0x00, 1, 0, 12, 0, 11, 0, 1, 0, 0x04, 0x02, 0, 'k'};   /* {"k":false} */
    struct bb dv = {.n = 0};
    diff(&dv, 0, "$.x", five, sizeof five);             /* REPLACE */
    diff(&dv, 1, "$.arr[1]", hi, sizeof hi);            /* INSERT into an array */
    diff(&dv, 2, "$.arr[0]", NULL, 0);                  /* REMOVE from an array */
    diff(&dv, 1, "$.\"new key\"", yes, sizeof yes);     /* INSERT a member (quoted name) */
    diff(&dv, 1, "$.arr[9]", nested, sizeof nested);    /* past the end: appended */
    diff(&dv, 0, "$.arr[2].k", five, sizeof five);      /* REPLACE inside it */
    nb_status st = partial_row(&dv, false, &j, &err);
    if (st != NB_OK) fail_msg("%s", err.message);
    assert_int_equal(j.rows, 1);
    assert_string_equal(j.a, "{\"x\":5,\"arr\":[\"hi\",2,{\"k\":5}],\"new key\":true}");
    assert_string_equal(j.b, "[7]");
    /* the whole document replaced; a member removed */
    struct bb whole = {.n = 0};
    diff(&whole, 2, "$.x", NULL, 0);
    diff(&whole, 0, "$.arr", yes, sizeof yes);
    assert_int_equal(partial_row(&whole, false, &j, &err), NB_OK);
    assert_string_equal(j.a, "{\"arr\":true}");
    whole.n = 0;
    diff(&whole, 0, "$", hi, sizeof hi);
    assert_int_equal(partial_row(&whole, false, &j, &err), NB_OK);
    assert_string_equal(j.a, "\"hi\"");
    /* errors name what is wrong, never crash */
    struct { unsigned op; const char *path; const char *want; } bad[] = {
        {0, "$.nope", "lacks"}, {2, "$.arr[5]", "element 5"}, {0, "$**.x", "not one this decoder follows"},
        {0, "$.x.y", "not an object"}, {7, "$.x", "unknown operation"}, {1, "x", "not one this decoder follows"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct bb b = {.n = 0};
        diff(&b, bad[i].op == 7 ? 7 : bad[i].op, bad[i].path, five, sizeof five);
        assert_int_equal(partial_row(&b, false, &j, &err), NB_ERR_PROTOCOL);
        if (!strstr(err.message, bad[i].want)) fail_msg("case %zu: %s", i, err.message);
    }
    struct bb cut = {.n = 0};
    diff(&cut, 0, "$.x", five, sizeof five);
    cut.n -= 2;
    assert_int_equal(partial_row(&cut, false, &j, &err), NB_ERR_PROTOCOL);
    assert_int_equal(partial_row(&dv, true, &j, &err), NB_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "binlog_row_image=FULL"));
}

static void test_transaction_payload_zstd(void **state)
{
    (void)state;
    struct my_decoder d;
    fde(&d, true);
    /* inner events carry no checksum */
    uint8_t inner[8192];
    size_t in = table_map(inner, false);
    struct bb w = {.n = 0};
    le(&w, 77, 6); le(&w, 1, 2); le(&w, 2, 2); lenenc(&w, NCOL); le(&w, 0xfffff, 3);
    row_values(&w);
    in += event(inner + in, MY_EV_WRITE_ROWS, &w, 2000, false);
    uint8_t comp[8192];
    size_t cn = ZSTD_compress(comp, sizeof comp, inner, in, 3);
    assert_false(ZSTD_isError(cn));
    struct bb p = {.n = 0};
    /* fields: 2 compression type = 0 (zstd), 3 uncompressed size, 1 payload size, 0 end */
    u8(&p, 2); lenenc(&p, 1); lenenc(&p, 0);
    struct bb us = {.n = 0};
    lenenc(&us, in);
    u8(&p, 3); lenenc(&p, us.n); bytes(&p, us.d, us.n);
    struct bb ps = {.n = 0};
    lenenc(&ps, cn);
    u8(&p, 1); lenenc(&p, ps.n); bytes(&p, ps.d, ps.n);
    u8(&p, 0);
    bytes(&p, comp, cn);
    uint8_t ev[8192];
    size_t n = event(ev, MY_EV_TRANSACTION_PAYLOAD, &p, 6000, true);
    struct my_event e;
    struct nb_error err = {0};
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    struct nb_buf out;
    nb_buf_init(&out);
    nb_status s = my_parse_payload(&e, &out, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    assert_int_equal(out.len, in);
    assert_memory_equal(out.data, inner, in);
    {
        uint8_t f[512];
        size_t fl = fde_bytes(f, true);
        const uint8_t *evs[2] = {f, ev};
        size_t lens[2] = {fl, n};
        seed("transaction_payload_zstd", evs, lens, 2);
    }
    /* decode the inner events as the stream does */
    struct my_decoder id = d;
    id.checksum = false;
    struct my_event e1, e2;
    size_t l1 = (size_t)inner[9] | (size_t)inner[10] << 8;
    assert_int_equal(my_event_parse(&id, (const uint8_t *)out.data, l1, &e1, &err), NB_OK);
    assert_int_equal(my_event_parse(&id, (const uint8_t *)out.data + l1, out.len - l1, &e2, &err), NB_OK);
    struct my_table t;
    memset(&t, 0, sizeof t);
    nb_arena_init(&t.arena, 4096);
    assert_int_equal(my_parse_table_map(&e1, &t, &err), NB_OK);
    struct my_image bi, ai;
    my_image_init(&bi);
    my_image_init(&ai);
    struct seen seen;
    memset(&seen, 0, sizeof seen);
    assert_int_equal(my_parse_rows(&e2, &t, &bi, &ai, collect, &seen, &err), NB_OK);
    check_row(&seen);
    /* corrupt compressed bytes: an error */
    p.d[p.n - 3] ^= 0x55;
    p.d[p.n - 5] ^= 0x55;
    n = event(ev, MY_EV_TRANSACTION_PAYLOAD, &p, 6000, true);
    assert_int_equal(my_event_parse(&d, ev, n, &e, &err), NB_OK);
    nb_buf_reset(&out);
    assert_int_not_equal(my_parse_payload(&e, &out, &err), NB_OK);
    my_image_cleanup(&bi);
    my_image_cleanup(&ai);
    nb_arena_cleanup(&t.arena);
    nb_buf_cleanup(&out);
}

static void test_json_binary(void **state)
{
    (void)state;
    struct bb b = {.n = 0};
    json_bin(&b);
    struct nb_buf out;
    nb_buf_init(&out);
    struct nb_error err = {0};
    assert_int_equal(my_json_binary_to_text(b.d + 4, b.n - 4, &out, &err), NB_OK);
    assert_string_equal(out.data, "{\"k\":[1,true,\"s\",2.5],\"n\":null}");
    /* scalars: int64 and a string with escapes */
    uint8_t i64[9] = {9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    nb_buf_reset(&out);
    assert_int_equal(my_json_binary_to_text(i64, 9, &out, &err), NB_OK);
    assert_string_equal(out.data, "-1");
    uint8_t str[] = {12, 3, 'a', '"', 'b'};
    nb_buf_reset(&out);
    assert_int_equal(my_json_binary_to_text(str, sizeof str, &out, &err), NB_OK);
    assert_string_equal(out.data, "\"a\\\"b\"");
    /* offsets pointing outside: errors */
    struct bb bad = b;
    bad.d[4 + 1 + 2] = 0xff; /* object size */
    nb_buf_reset(&out);
    assert_int_not_equal(my_json_binary_to_text(bad.d + 4, bad.n - 4, &out, &err), NB_OK);
    /* entries that point back at their own container: bounded work, an error */
    uint8_t loop[] = {2, 2, 0, 10, 0, 2, 0, 0, 2, 0, 0};
    nb_buf_reset(&out);
    assert_int_equal(my_json_binary_to_text(loop, sizeof loop, &out, &err), NB_ERR_PROTOCOL);
    uint8_t deep[64];
    for (int i = 0; i < 64; i++) deep[i] = 2;
    nb_buf_reset(&out);
    assert_int_not_equal(my_json_binary_to_text(deep, sizeof deep, &out, &err), NB_OK);
    nb_buf_cleanup(&out);
}

static void test_catalog_types(void **state)
{
    (void)state;
    struct nb_arena a;
    nb_arena_init(&a, 1024);
    struct my_column c;
    memset(&c, 0, sizeof c);
    my_column_from_catalog(&c, "bigint", "bigint(20) unsigned", NULL, &a);
    assert_int_equal(c.nb.id, NB_TYPE_DECIMAL);
    assert_int_equal(c.nb.precision, 20);
    memset(&c, 0, sizeof c);
    my_column_from_catalog(&c, "enum", "enum('a','it''s','b\\\\c')", "utf8mb4", &a);
    assert_int_equal(c.n_labels, 3);
    assert_string_equal(c.labels[1], "it's");
    memset(&c, 0, sizeof c);
    my_column_from_catalog(&c, "varchar", "varchar(10)", "latin1", &a);
    assert_string_equal(c.charset, "latin1");
    struct nb_buf out;
    nb_buf_init(&out);
    assert_int_equal(my_to_utf8("latin1", "caf\xe9 \x80", 6, &out, NULL), NB_OK);
    assert_string_equal(out.data, "caf\xc3\xa9 \xe2\x82\xac");
    nb_buf_cleanup(&out);
    nb_arena_cleanup(&a);
}

static void hist_expect(const struct my_hist *h, const char *want)
{
    char got[512] = "";
    for (size_t i = 0; i < h->n; i++) {
        if (i) strcat(got, ",");
        strcat(got, h->names[i]);
    }
    assert_string_equal(got, want);
}

static void test_schema_history_ddl(void **state)
{
    (void)state;
    struct my_hist h = {0};
    const char *init[] = {"id", "a", "b"};
    assert_true(my_hist_set(&h, init, 3));
#define DDL(sql, db) my_hist_apply_ddl(sql, strlen(sql), db, "shop", "t", &h)
    assert_int_equal(DDL("ALTER TABLE t ADD COLUMN c INT", "shop"), MY_DDL_APPLIED);
    hist_expect(&h, "id,a,b,c");
    assert_int_equal(DDL("alter table `shop`.`t` add `x y` varchar(10) default 'a,b' first, add z int after a", "other"), MY_DDL_APPLIED);
    hist_expect(&h, "x y,id,a,z,b,c");
    assert_int_equal(DDL("ALTER TABLE t DROP COLUMN `x y`, DROP b, ADD INDEX (a, z), DROP INDEX i", "shop"), MY_DDL_APPLIED);
    hist_expect(&h, "id,a,z,c");
    assert_int_equal(DDL("ALTER TABLE t CHANGE a a2 DECIMAL(10,2) NOT NULL AFTER c, MODIFY z BIGINT FIRST", "shop"), MY_DDL_APPLIED);
    hist_expect(&h, "z,id,c,a2");
    assert_int_equal(DDL("ALTER TABLE t RENAME COLUMN c TO see, ALGORITHM=INPLACE", "shop"), MY_DDL_APPLIED);
    hist_expect(&h, "z,id,see,a2");
    assert_int_equal(DDL("ALTER TABLE t MODIFY COLUMN id BIGINT /* comment, with comma */ -- and more\n", "shop"), MY_DDL_APPLIED);
    hist_expect(&h, "z,id,see,a2");
    /* other tables and other statements leave it alone */
    assert_int_equal(DDL("ALTER TABLE other.t ADD q INT", "shop"), MY_DDL_OTHER);
    assert_int_equal(DDL("ALTER TABLE t ADD q INT", "elsewhere"), MY_DDL_OTHER);
    assert_int_equal(DDL("CREATE TABLE t (q INT)", "shop"), MY_DDL_OTHER);
    assert_int_equal(DDL("ALTER TABLE t RENAME TO t2", "shop"), MY_DDL_RENAMED);
    hist_expect(&h, "z,id,see,a2");
    /* garbage and truncation never crash */
    const char *junk[] = {"ALTER", "ALTER TABLE", "ALTER TABLE `t", "ALTER TABLE t ADD", "ALTER TABLE t CHANGE a",
                          "ALTER TABLE t ADD (", "ALTER TABLE t DROP IF", "ALTER TABLE t ADD c INT AFTER", "ALTER TABLE t /*"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) DDL(junk[i], "shop");
#undef DDL
    my_hist_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fde_checksum),
        cmocka_unit_test(test_rotate_query),
        cmocka_unit_test(test_gtids),
        cmocka_unit_test(test_gtid_set_and_dump_request),
        cmocka_unit_test(test_table_map_and_rows_v2),
        cmocka_unit_test(test_update_v1_partial_image),
        cmocka_unit_test(test_saved_ranges),
        cmocka_unit_test(test_partial_json),
        cmocka_unit_test(test_transaction_payload_zstd),
        cmocka_unit_test(test_json_binary),
        cmocka_unit_test(test_catalog_types),
        cmocka_unit_test(test_schema_history_ddl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
