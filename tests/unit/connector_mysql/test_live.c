/* The mysql source against a real MariaDB (NB_MY_PORT, started by
 * tests/integration/test_mysql_connector.sh; skipped without it): full refresh of every type,
 * discover, check errors, CDC snapshot + stream, resume, ALTER TABLE mid-stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "connectors/connector.h"
#include "helper_live.h"

extern const struct nb_connector_ops nb_connector_mysql;

static char yaml[4096];

static const char *cfg(const char *extra)
{
    snprintf(yaml, sizeof yaml,
             "url: mysql://nebula:nebula-pw@127.0.0.1:%d/lt\n%s", live_port(), extra);
    return yaml;
}

static int setup_types(void **state)
{
    (void)state;
    live_sql("DROP DATABASE IF EXISTS lt; CREATE DATABASE lt CHARACTER SET utf8mb4;"
             "CREATE TABLE lt.types (id INT PRIMARY KEY, ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED,"
             " mi MEDIUMINT, mu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED,"
             " d DECIMAL(20,6), dn DECIMAL(5,0), f FLOAT, db DOUBLE, b1 BIT(1), b9 BIT(9), dt DATE, tm TIME(3),"
             " dtt DATETIME(6), ts TIMESTAMP(2) NULL, y YEAR, c CHAR(3), vc VARCHAR(300), l1 VARCHAR(10) CHARACTER SET latin1,"
             " tx TEXT, bn BINARY(3), vb VARBINARY(10), bl BLOB, e ENUM('x','y z','q'), st SET('a','b','c'), j JSON,"
             " g GEOMETRY NULL);"
             "SET SESSION sql_mode='';"
             "INSERT INTO lt.types VALUES (1,-128,255,-32768,65535,-8388608,16777215,-2147483648,4294967295,"
             " -9223372036854775808,18446744073709551615,-12345678901234.123456,-99999,1.5,-2.25e-300,1,b'100000001',"
             " '2024-02-29','-838:59:59.125','2024-12-31 23:59:59.999999','2038-01-19 03:14:07.99',1901,'ab','héllo wörld',"
             " _latin1 X'636166E9','long text',0x000102,0xff00,0xdeadbeef,'y z','a,c','{\\\"k\\\": [1, 2.5, \\\"s\\\"]}',"
             " ST_GeomFromText('POINT(1 2)'));"
             "INSERT INTO lt.types (id, dt, dtt) VALUES (2, '0000-00-00', '0000-00-00 00:00:00');");
    return 0;
}

static const char *expected_row1 =
    "lt.types|1|-128|255|-32768|65535|-8388608|16777215|-2147483648|4294967295|-9223372036854775808|18446744073709551615"
    "|-12345678901234.123456|-99999|1.5|-2.25e-300|true|257|2024-02-29|-838:59:59.125|2024-12-31 23:59:59.999999"
    "|2038-01-19T03:14:07.99Z|1901|ab|h\\xc3\\xa9llo w\\xc3\\xb6rld|caf\\xc3\\xa9|long text|\\x00\\x01\\x02|\\xff\\x00"
    "|\\xde\\xad\\xbe\\xef|y z|a,c|{\"k\": [1, 2.5, \"s\"]}"
    "|\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\xf0?\\x00\\x00\\x00\\x00\\x00\\x00\\x00@";

static void test_full_refresh_types(void **state)
{
    (void)state;
    struct live_state st = {0};
    struct nb_buf rows, schema;
    nb_buf_init(&rows);
    nb_buf_init(&schema);
    struct nb_error err = {0};
    nb_status s = live_run(cfg("tables: [lt.types]\n"), &st, &rows, 0, NULL, &schema, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    printf("%s%s", schema.data, rows.data);
    assert_non_null(strstr(rows.data, expected_row1));
    assert_non_null(strstr(rows.data, "lt.types|2|NULL|NULL"));
    assert_non_null(strstr(rows.data, "|0000-00-00|NULL|0000-00-00 00:00:00.000000|"));
    assert_non_null(strstr(schema.data, "\"bu\",\"type\":\"decimal(20,0)\""));
    assert_non_null(strstr(live_state_get(&st, "lt.types"), "\"done\":true"));
    live_state_free(&st);
    nb_buf_cleanup(&rows);
    nb_buf_cleanup(&schema);
}

/* The same values through the binlog must read exactly as the snapshot read them. */
static void test_cdc_types_match_snapshot(void **state)
{
    (void)state;
    struct live_state st = {0};
    struct nb_buf snap, rows;
    nb_buf_init(&snap);
    nb_buf_init(&rows);
    struct nb_error err = {0};
    live_sql("DROP TABLE IF EXISTS lt.types2; CREATE TABLE lt.types2 LIKE lt.types;");
    nb_status s = live_run(cfg("tables: [lt.types2]\nmode: cdc\ncdc: {until: now}\n"), &st, &snap, 0, NULL, NULL, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    live_sql("SET SESSION sql_mode=''; INSERT INTO lt.types2 SELECT * FROM lt.types;");
    s = live_run(cfg("tables: [lt.types2]\nmode: cdc\ncdc: {until: now}\n"), &st, &rows, 0, NULL, NULL, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    printf("%s", rows.data);
    char want[4096];
    snprintf(want, sizeof want, "lt.types2%s|c\n", expected_row1 + strlen("lt.types"));
    assert_non_null(strstr(rows.data, want));
    live_state_free(&st);
    nb_buf_cleanup(&snap);
    nb_buf_cleanup(&rows);
}

static void test_discover(void **state)
{
    (void)state;
    struct nb_cfg *c = NULL;
    struct nb_error err = {0};
    const char *y = cfg("tables: ['lt.*']\nexclude: [lt.types2]\n");
    assert_int_equal(nb_cfg_load_string(y, strlen(y), "t.yaml", &c, &err), NB_OK);
    assert_int_equal(nb_cfg_validate(c, nb_connector_mysql.source->spec, "source", &err), NB_OK);
    struct nb_run_options opt = {0};
    struct nb_context ctx = {.config = c, .options = &opt};
    void *src = NULL;
    nb_status s = nb_connector_mysql.source->open(&src, &ctx, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    struct nb_buf j;
    nb_buf_init(&j);
    assert_int_equal(nb_connector_mysql.source->discover(src, &j, &err), NB_OK);
    printf("%s\n", j.data);
    assert_non_null(strstr(j.data, "\"name\":\"lt.types\""));
    assert_null(strstr(j.data, "lt.types2"));
    assert_non_null(strstr(j.data, "\"primary_key\":[\"id\"]"));
    assert_int_equal(nb_connector_mysql.source->check(src, &err), NB_OK);
    nb_buf_cleanup(&j);
    nb_connector_mysql.source->close(src);
    nb_cfg_destroy(c);
}

static void test_bad_credentials(void **state)
{
    (void)state;
    char y[512];
    snprintf(y, sizeof y, "url: mysql://nebula:wrong-secret@127.0.0.1:%d/lt\n", live_port());
    struct nb_cfg *c = NULL;
    struct nb_error err = {0};
    assert_int_equal(nb_cfg_load_string(y, strlen(y), "t.yaml", &c, &err), NB_OK);
    assert_int_equal(nb_cfg_validate(c, nb_connector_mysql.source->spec, "source", &err), NB_OK);
    struct nb_run_options opt = {0};
    struct nb_context ctx = {.config = c, .options = &opt};
    void *src = NULL;
    nb_status s = nb_connector_mysql.source->open(&src, &ctx, &err);
    printf("%s\n", err.message);
    assert_int_equal(s, NB_ERR_AUTH);
    assert_non_null(strstr(err.message, "Access denied"));
    assert_null(strstr(err.message, "wrong-secret"));
    nb_cfg_destroy(c);
}

static void test_missing_grants(void **state)
{
    (void)state;
    live_sql("DROP USER IF EXISTS 'weak'@'127.0.0.1'; CREATE USER 'weak'@'127.0.0.1' IDENTIFIED BY 'pw';"
             "GRANT SELECT ON lt.* TO 'weak'@'127.0.0.1';");
    char y[512];
    snprintf(y, sizeof y, "url: mysql://weak:pw@127.0.0.1:%d/lt\nmode: cdc\n", live_port());
    struct nb_cfg *c = NULL;
    struct nb_error err = {0};
    assert_int_equal(nb_cfg_load_string(y, strlen(y), "t.yaml", &c, &err), NB_OK);
    assert_int_equal(nb_cfg_validate(c, nb_connector_mysql.source->spec, "source", &err), NB_OK);
    struct nb_run_options opt = {0};
    struct nb_context ctx = {.config = c, .options = &opt};
    void *src = NULL;
    nb_status s = nb_connector_mysql.source->open(&src, &ctx, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    s = nb_connector_mysql.source->check(src, &err);
    printf("%s\n", err.message);
    assert_int_equal(s, NB_ERR_AUTH);
    assert_non_null(strstr(err.message, "REPLICATION SLAVE"));
    assert_non_null(strstr(err.message, "REPLICATION CLIENT"));
    nb_connector_mysql.source->close(src);
    nb_cfg_destroy(c);
}

static void test_cdc_snapshot_then_stream(void **state)
{
    (void)state;
    live_sql("DROP TABLE IF EXISTS lt.o; CREATE TABLE lt.o (id INT PRIMARY KEY, v VARCHAR(20));"
             "INSERT INTO lt.o VALUES (1,'a'),(2,'b'),(3,'c');");
    struct live_state st = {0};
    struct nb_buf rows;
    nb_buf_init(&rows);
    struct nb_error err = {0};
    const char *y = cfg("tables: [lt.o]\nmode: cdc\nchunk_size: 2\ncdc: {until: now}\n");
    char ybuf[4096];
    snprintf(ybuf, sizeof ybuf, "%s", y);
    nb_status s = live_run(ybuf, &st, &rows, 0, NULL, NULL, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    assert_string_equal(rows.data, "lt.o|1|a|r\nlt.o|2|b|r\nlt.o|3|c|r\n");
    live_sql("INSERT INTO lt.o VALUES (4,'d'); UPDATE lt.o SET v='B' WHERE id=2; DELETE FROM lt.o WHERE id=1;"
             "BEGIN; INSERT INTO lt.o VALUES (5,'e'); UPDATE lt.o SET v='E' WHERE id=5; COMMIT;");
    nb_buf_reset(&rows);
    s = live_run(ybuf, &st, &rows, 0, NULL, NULL, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    assert_string_equal(rows.data, "lt.o|4|d|c\nlt.o|2|B|u\nlt.o|1|a|d\nlt.o|5|e|c\nlt.o|5|E|u\n");
    /* nothing new: nothing repeated */
    nb_buf_reset(&rows);
    s = live_run(ybuf, &st, &rows, 0, NULL, NULL, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    assert_string_equal(rows.data, "");
    /* ALTER TABLE in the middle: rows before decode with the old columns, after with the new */
    live_sql("INSERT INTO lt.o VALUES (6,'f'); ALTER TABLE lt.o ADD COLUMN n INT AFTER id; INSERT INTO lt.o VALUES (7,70,'g');"
             "ALTER TABLE lt.o DROP COLUMN v; INSERT INTO lt.o VALUES (8,80);"
             "ALTER TABLE lt.o MODIFY n BIGINT; INSERT INTO lt.o VALUES (9,9000000000);");
    nb_buf_reset(&rows);
    struct nb_buf schema;
    nb_buf_init(&schema);
    s = live_run(ybuf, &st, &rows, 0, NULL, &schema, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    printf("%s", rows.data);
    assert_string_equal(rows.data, "lt.o|6|f|c\nlt.o|7|70|g|c\nlt.o|8|80|c\nlt.o|9|9000000000|c\n");
    printf("%s", schema.data);
    /* one schema per change: (id,v), (id,n,v), (id,n int32), (id,n int64) */
    assert_non_null(strstr(schema.data, "{\"name\":\"n\",\"type\":\"int64\""));
    nb_buf_cleanup(&schema);
    live_state_free(&st);
    nb_buf_cleanup(&rows);
}

/* A crash mid-snapshot: the next run continues after the last committed key. */
static void test_snapshot_resume(void **state)
{
    (void)state;
    live_sql("DROP TABLE IF EXISTS lt.big; CREATE TABLE lt.big (a INT, b VARCHAR(5), v INT, PRIMARY KEY (a, b));"
             "INSERT INTO lt.big SELECT seq DIV 3, CONCAT('k', seq MOD 3), seq FROM lt.seq_0_to_2999;");
    struct live_state st = {0};
    struct nb_buf rows;
    nb_buf_init(&rows);
    struct nb_error err = {0};
    char ybuf[4096];
    snprintf(ybuf, sizeof ybuf, "%s", cfg("tables: [lt.big]\nmode: cdc\nchunk_size: 700\ncdc: {until: now}\n"));
    size_t nb = 0;
    nb_status s = live_run(ybuf, &st, &rows, 2, &nb, NULL, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    assert_non_null(strstr(live_state_get(&st, "lt.big"), "\"ranges\":[[[\""));
    live_sql("INSERT INTO lt.big VALUES (5000, 'z', 5000);");
    s = live_run(ybuf, &st, &rows, 0, NULL, NULL, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    /* every row exactly once, plus the insert (which may arrive twice: at-least-once) */
    size_t lines = 0;
    for (const char *p = rows.data; (p = strchr(p, '\n')); p++) lines++;
    assert_true(lines >= 3001 && lines <= 3002);
    char probe[64];
    for (int v = 0; v < 3000; v += 97) {
        snprintf(probe, sizeof probe, "|%d|r\n", v);
        assert_non_null(strstr(rows.data, probe));
    }
    assert_non_null(strstr(rows.data, "lt.big|5000|z|5000|"));
    live_state_free(&st);
    nb_buf_cleanup(&rows);
}

/* How often each v (0..n-1) appears among the rows "stream|a|b|v|op" of op `op`. */
static void count_values(const char *rows, const char *op, unsigned *seen, size_t n)
{
    for (const char *p = rows; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[128];
        if (len < sizeof line) {
            memcpy(line, p, len);
            line[len] = '\0';
            char *last = strrchr(line, '|');
            if (last && !strcmp(last + 1, op)) {
                *last = '\0';
                char *vp = strrchr(line, '|');
                long v = vp ? strtol(vp + 1, NULL, 10) : -1;
                if (v >= 0 && (size_t)v < n) seen[v]++;
            }
        }
        p += len + (nl ? 1 : 0);
    }
}

/* Several connections read chunks of one table at once; stopped after a few batches (every
 * batch's position saved, as the engine does once the destination commits) and resumed, the
 * copy holds every row exactly once: full refresh, and cdc in one shared consistent snapshot. */
static void test_parallel_chunks(void **state)
{
    (void)state;
    enum { N = 6000 };
    live_sql("DROP TABLE IF EXISTS lt.par; CREATE TABLE lt.par (a INT, b VARCHAR(5), v INT, PRIMARY KEY (a, b));"
             "INSERT INTO lt.par SELECT seq DIV 4, CONCAT('k', seq MOD 4), seq FROM lt.seq_0_to_5999;");
    static unsigned seen[N];
    struct nb_error err = {0};
    char ybuf[4096];
    live_workers = 3;
    live_batch_size = 300;
    for (int cdc = 0; cdc < 2; cdc++) {
        struct live_state st = {0};
        struct nb_buf rows;
        nb_buf_init(&rows);
        snprintf(ybuf, sizeof ybuf, "%s",
                 cfg(cdc ? "tables: [lt.par]\nmode: cdc\nchunk_size: 700\ncdc: {until: now}\n"
                         : "tables: [lt.par]\nchunk_size: 700\n"));
        size_t nb = 0;
        nb_status s = live_run(ybuf, &st, &rows, 7, &nb, NULL, &err);
        if (s != NB_OK) fail_msg("%s", err.message);
        assert_int_equal(nb, 7);
        const char *pos = live_state_get(&st, "lt.par");
        assert_non_null(pos);
        /* chunks of 700 rows read 300 at a time by 3 connections: several ranges are left */
        assert_non_null(strstr(pos, "\"ranges\":[[[\""));
        if (cdc) {
            assert_non_null(strstr(pos, "\"gtid\""));
            live_sql("INSERT INTO lt.par VALUES (9000, 'z', 5999); UPDATE lt.par SET v = v WHERE a = 0;");
        }
        s = live_run(ybuf, &st, &rows, 0, NULL, NULL, &err);
        if (s != NB_OK) fail_msg("%s", err.message);
        memset(seen, 0, sizeof seen);
        if (cdc) {
            count_values(rows.data, "r", seen, N);
        } else {
            /* no op column: count every line by its last field */
            for (const char *p = rows.data; *p;) {
                const char *nl = strchr(p, '\n');
                const char *bar = p;
                for (const char *q = p; q < nl; q++) if (*q == '|') bar = q;
                long v = strtol(bar + 1, NULL, 10);
                if (v >= 0 && v < N) seen[v]++;
                p = nl + 1;
            }
        }
        for (size_t v = 0; v < N; v++)
            if (seen[v] != 1 && !(cdc && v == 5999 && seen[v] == 2)) fail_msg("v=%zu copied %u times (cdc %d)", v, seen[v], cdc);
        if (cdc) assert_non_null(strstr(rows.data, "lt.par|9000|z|5999|"));
        live_state_free(&st);
        nb_buf_cleanup(&rows);
    }
    live_workers = 0;
    live_batch_size = 0;
}

/* The CDC lag while behind is now minus the commit time of the last transaction delivered: a
 * change committed two seconds before the stream reads it shows at least that; at the end,
 * caught up, it is 0. */
static void test_lag(void **state)
{
    (void)state;
    live_sql("DROP TABLE IF EXISTS lt.lag; CREATE TABLE lt.lag (id INT PRIMARY KEY);");
    struct live_state st = {0};
    struct nb_buf rows;
    nb_buf_init(&rows);
    struct nb_error err = {0};
    char ybuf[4096];
    snprintf(ybuf, sizeof ybuf, "%s", cfg("tables: [lt.lag]\nmode: cdc\ncdc: {until: now}\n"));
    nb_status s = live_run(ybuf, &st, &rows, 0, NULL, NULL, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    live_sql("INSERT INTO lt.lag VALUES (1); DO SLEEP(2.2); INSERT INTO lt.lag VALUES (2);");
    live_max_lag = live_last_lag = -1;
    live_batch_size = 1;   /* a batch per transaction: the first leaves while the stream is behind */
    s = live_run(ybuf, &st, &rows, 0, NULL, NULL, &err);
    live_batch_size = 0;
    if (s != NB_OK) fail_msg("%s", err.message);
    assert_non_null(strstr(rows.data, "lt.lag|1|c"));
    assert_non_null(strstr(rows.data, "lt.lag|2|c"));
    if (live_max_lag < 1.5 || live_max_lag > 120) fail_msg("lag while behind: %.3f s", live_max_lag);
    assert_true(live_last_lag == 0);
    live_state_free(&st);
    nb_buf_cleanup(&rows);
}

static void test_incremental(void **state)
{
    (void)state;
    live_sql("DROP TABLE IF EXISTS lt.inc; CREATE TABLE lt.inc (id INT PRIMARY KEY, upd DATETIME(6), v INT);"
             "INSERT INTO lt.inc VALUES (1, '2024-01-01 00:00:00.000001', 1), (2, '2024-01-01 00:00:00.000002', 2);");
    struct live_state st = {0};
    struct nb_buf rows;
    nb_buf_init(&rows);
    struct nb_error err = {0};
    char ybuf[4096];
    snprintf(ybuf, sizeof ybuf, "%s", cfg("tables: [lt.inc]\nmode: incremental\ncursor_field: upd\n"));
    nb_status s = live_run(ybuf, &st, &rows, 0, NULL, NULL, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    assert_string_equal(rows.data, "lt.inc|1|2024-01-01 00:00:00.000001|1\nlt.inc|2|2024-01-01 00:00:00.000002|2\n");
    assert_string_equal(live_state_get(&st, "lt.inc"), "{\"cursor\":\"2024-01-01 00:00:00.000002\"}");
    live_sql("UPDATE lt.inc SET v = 10, upd = '2024-01-02 00:00:00' WHERE id = 1; INSERT INTO lt.inc VALUES (3, '2024-01-03', 3);");
    nb_buf_reset(&rows);
    s = live_run(ybuf, &st, &rows, 0, NULL, NULL, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    assert_string_equal(rows.data, "lt.inc|1|2024-01-02 00:00:00.000000|10\nlt.inc|3|2024-01-03 00:00:00.000000|3\n");
    /* a cursor column that does not exist: a configuration error naming it */
    snprintf(ybuf, sizeof ybuf, "%s", cfg("tables: [lt.inc]\nmode: incremental\ncursor_field: nope\n"));
    s = live_run(ybuf, &st, &rows, 0, NULL, NULL, &err);
    assert_int_equal(s, NB_ERR_CONFIG);
    assert_non_null(strstr(err.message, "'nope'"));
    live_state_free(&st);
    nb_buf_cleanup(&rows);
}

/* Without binlog_row_metadata=FULL the names, signedness and labels come from the catalog. */
static void test_minimal_metadata(void **state)
{
    (void)state;
    live_sql("DROP TABLE IF EXISTS lt.mm; CREATE TABLE lt.mm (id INT PRIMARY KEY, u INT UNSIGNED, e ENUM('p','q'), "
             "l VARCHAR(5) CHARACTER SET latin1);");
    struct live_state st = {0};
    struct nb_buf rows;
    nb_buf_init(&rows);
    struct nb_error err = {0};
    char ybuf[4096];
    snprintf(ybuf, sizeof ybuf, "%s", cfg("tables: [lt.mm]\nmode: cdc\ncdc: {until: now}\n"));
    nb_status s = live_run(ybuf, &st, &rows, 0, NULL, NULL, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    live_sql("SET GLOBAL binlog_row_metadata = MINIMAL;");
    live_sql("INSERT INTO lt.mm VALUES (1, 4294967295, 'q', _latin1 X'E9');");
    live_sql("SET GLOBAL binlog_row_metadata = FULL;");
    s = live_run(ybuf, &st, &rows, 0, NULL, NULL, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    assert_string_equal(rows.data, "lt.mm|1|4294967295|q|\\xc3\\xa9|c\n");
    /* ALTERs in the backlog, read later: names follow the schema history, not today's catalog */
    live_sql("SET GLOBAL binlog_row_metadata = MINIMAL;");
    live_sql("INSERT INTO lt.mm VALUES (2, 2, 'p', 'a'); ALTER TABLE lt.mm ADD COLUMN z INT FIRST;"
             "INSERT INTO lt.mm VALUES (30, 3, 3, 'q', 'b'); ALTER TABLE lt.mm DROP COLUMN u, CHANGE l l2 VARCHAR(5) AFTER z;"
             "INSERT INTO lt.mm VALUES (40, 'c', 4, 'p');");
    live_sql("SET GLOBAL binlog_row_metadata = FULL;");
    nb_buf_reset(&rows);
    struct nb_buf schema;
    nb_buf_init(&schema);
    s = live_run(ybuf, &st, &rows, 0, NULL, &schema, &err);
    if (s != NB_OK) fail_msg("%s", err.message);
    printf("%s%s", schema.data, rows.data);
    assert_string_equal(rows.data, "lt.mm|2|2|p|a|c\nlt.mm|30|3|3|q|b|c\nlt.mm|40|c|4|p|c\n");
    assert_non_null(strstr(schema.data, "[{\"name\":\"z\",\"type\":\"int32\",\"nullable\":true},{\"name\":\"l2\""));
    assert_non_null(strstr(live_state_get(&st, "lt.mm"), "\"columns\":[\"z\",\"l2\",\"id\",\"e\"]"));
    nb_buf_cleanup(&schema);
    live_state_free(&st);
    nb_buf_cleanup(&rows);
}

static void test_check_server_settings(void **state)
{
    (void)state;
    live_sql("SET GLOBAL binlog_format = MIXED; SET GLOBAL binlog_row_image = MINIMAL;");
    struct nb_cfg *c = NULL;
    struct nb_error err = {0};
    const char *y = cfg("tables: [lt.o]\nmode: cdc\n");
    assert_int_equal(nb_cfg_load_string(y, strlen(y), "t.yaml", &c, &err), NB_OK);
    assert_int_equal(nb_cfg_validate(c, nb_connector_mysql.source->spec, "source", &err), NB_OK);
    struct nb_run_options opt = {0};
    struct nb_context ctx = {.config = c, .options = &opt};
    void *src = NULL;
    nb_status s = nb_connector_mysql.source->open(&src, &ctx, &err);
    if (s == NB_OK) s = nb_connector_mysql.source->check(src, &err);
    live_sql("SET GLOBAL binlog_format = ROW; SET GLOBAL binlog_row_image = FULL;");
    printf("%s\n", err.message);
    assert_int_equal(s, NB_ERR_CONFIG);
    assert_non_null(strstr(err.message, "binlog_format=MIXED: SET GLOBAL binlog_format=ROW"));
    assert_non_null(strstr(err.message, "binlog_row_image=MINIMAL: SET GLOBAL binlog_row_image=FULL"));
    /* TLS required against a server without TLS: a clear connection error */
    nb_connector_mysql.source->close(src);
    nb_cfg_destroy(c);
    y = cfg("tables: [lt.o]\nssl_mode: verify_identity\nssl_ca: /nonexistent/ca.pem\n");
    assert_int_equal(nb_cfg_load_string(y, strlen(y), "t.yaml", &c, &err), NB_OK);
    assert_int_equal(nb_cfg_validate(c, nb_connector_mysql.source->spec, "source", &err), NB_OK);
    ctx.config = c;
    src = NULL;
    s = nb_connector_mysql.source->open(&src, &ctx, &err);
    printf("%s\n", err.message);
    assert_int_not_equal(s, NB_OK);
    assert_non_null(strstr(err.message, "cannot connect to 127.0.0.1"));
    nb_cfg_destroy(c);
}

int main(void)
{
    if (!live_port()) {
        printf("NB_MY_PORT not set: skipped (run tests/integration/test_mysql_connector.sh)\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_refresh_types),
        cmocka_unit_test(test_cdc_types_match_snapshot),
        cmocka_unit_test(test_discover),
        cmocka_unit_test(test_bad_credentials),
        cmocka_unit_test(test_missing_grants),
        cmocka_unit_test(test_cdc_snapshot_then_stream),
        cmocka_unit_test(test_snapshot_resume),
        cmocka_unit_test(test_parallel_chunks),
        cmocka_unit_test(test_lag),
        cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_minimal_metadata),
        cmocka_unit_test(test_check_server_settings),
    };
    return cmocka_run_group_tests(tests, setup_types, NULL);
}
