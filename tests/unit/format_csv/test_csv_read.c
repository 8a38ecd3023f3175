/* CSV reader: RFC 4180 cases, dialect options, null vs "", inference, and every kind of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "batch/value.h"
#include "helper_csv.h"

static struct nb_csv_dialect D;

static int setup(void **state)
{
    (void)state;
    nb_csv_dialect_init(&D);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nb_csv_dialect_cleanup(&D);
    return 0;
}

/* Read with the current dialect; returns rendered rows (static buffer). */
static char rendered[65536];
static struct read_result R;
static nb_status rd(const char *text, bool infer, struct nb_bad_record_sink *sink, struct nb_error *err)
{
    read_result_cleanup(&R);
    nb_status st = read_csv(&D, text, strlen(text), infer, 1000, 0, sink, &R, err);
    snprintf(rendered, sizeof rendered, "%s", R.rows.data ? R.rows.data : "");
    return st;
}

static const char *ftype(size_t i)
{
    static char t[64];
    nb_type_format(R.schema->fields[i].type, t, sizeof t);
    return t;
}

static void test_basic_null_vs_empty(void **state)
{
    (void)state;
    struct nb_error err = {0};
    assert_int_equal(rd("a,b,c\n1,,\"\"\n\"x,y\",\"say \"\"hi\"\"\",z\n", false, NULL, &err), NB_OK);
    assert_int_equal(R.schema->n_fields, 3);
    assert_string_equal(R.schema->fields[0].name, "a");
    assert_string_equal(rendered, "1|<N>|\n" "x,y|say \"hi\"|z\n");
    read_result_cleanup(&R);
}

static void test_crlf_bom_no_final_newline(void **state)
{
    (void)state;
    struct nb_error err = {0};
    assert_int_equal(rd("\xEF\xBB\xBFid,name\r\n1,\"a\r\nb\"\r\n2,last", false, NULL, &err), NB_OK);
    assert_string_equal(R.schema->fields[0].name, "id");
    assert_string_equal(rendered, "1|a\r\nb\n2|last\n");
    read_result_cleanup(&R);
}

static void test_blank_lines_skipped(void **state)
{
    (void)state;
    struct nb_error err = {0};
    assert_int_equal(rd("a,b\n1,2\n\n\r\n3,4\n\n", false, NULL, &err), NB_OK);
    assert_string_equal(rendered, "1|2\n3|4\n");
    /* One column: an empty line is a null value, not a blank line. */
    assert_int_equal(rd("a\n1\n\n\"\"\n2\n", false, NULL, &err), NB_OK);
    assert_string_equal(rendered, "1\n<N>\n\n2\n");
    read_result_cleanup(&R);
}

static void test_options(void **state)
{
    (void)state;
    struct nb_error err = {0};
    D.delimiter = ';';
    assert_int_equal(rd("a;b\n1,5;\"x;y\"\n", false, NULL, &err), NB_OK);
    assert_string_equal(rendered, "1,5|x;y\n");
    D.delimiter = '\t';
    assert_int_equal(rd("a\tb\n1\t2\n", false, NULL, &err), NB_OK);
    assert_string_equal(rendered, "1|2\n");
    D.delimiter = ',';
    D.header = false;
    assert_int_equal(rd("1,2\n3,4\n", false, NULL, &err), NB_OK);
    assert_string_equal(R.schema->fields[0].name, "column1");
    assert_string_equal(R.schema->fields[1].name, "column2");
    assert_string_equal(rendered, "1|2\n3|4\n");
    D.header = true;
    D.skip_rows = 2;
    assert_int_equal(rd("junk line\n\"unbalanced\nh1,h2\nv1,v2\n", false, NULL, &err), NB_OK);
    assert_string_equal(R.schema->fields[0].name, "h1");
    assert_string_equal(rendered, "v1|v2\n");
    D.skip_rows = 0;
    strcpy(D.comment, "#");
    assert_int_equal(rd("# a \"comment\nx,y\n1,2\n# another \"one\n3,\"#4\"\n#last", false, NULL, &err), NB_OK);
    assert_string_equal(R.schema->fields[0].name, "x");
    assert_string_equal(rendered, "1|2\n3|#4\n");
    D.comment[0] = '\0';
    D.null_values[0] = strdup("NA");
    D.null_values[1] = strdup("\\N");
    D.n_null_values = 2;
    assert_int_equal(rd("a,b,c\nNA,\\N,\"NA\"\n", false, NULL, &err), NB_OK);
    assert_string_equal(rendered, "<N>|<N>|NA\n");
    nb_csv_dialect_cleanup(&D);
    D.quote = '\0';
    D.escape = '\0';
    assert_int_equal(rd("a,b\n\"x,y\n", false, NULL, &err), NB_OK);
    assert_string_equal(rendered, "\"x|y\n");
    D.quote = '"';
    D.escape = '\\';
    assert_int_equal(rd("a,b\n\"x\\\"y\",\"c\\\\\"\n\"p,\\\"q\",2\n", false, NULL, &err), NB_OK);
    assert_string_equal(rendered, "x\"y|c\\\np,\"q|2\n");
    D.escape = '"';
    read_result_cleanup(&R);
}

static void test_quote_inside_unquoted_kept(void **state)
{
    (void)state;
    struct nb_error err = {0};
    assert_int_equal(rd("a,b\n37\"N 121\"W,y\nx\"1,2\"z,w\n", false, NULL, &err), NB_OK);
    /* A quote that does not start a field is data; pairs of them still protect delimiters. */
    assert_string_equal(rendered, "37\"N 121\"W|y\nx\"1,2\"z|w\n");
    read_result_cleanup(&R);
}

static void test_inference(void **state)
{
    (void)state;
    struct nb_error err = {0};
    assert_int_equal(rd("i,f,b,d,ts,s,z,e\n"
                        "1,291.07,true,2024-01-31,2024-01-31T10:00:00Z,x,007,\n"
                        "-20,1e5,FALSE,2023-12-01,2024-02-01 11:00:00+02:00,y,008,\n",
                        true, NULL, &err),
                     NB_OK);
    assert_string_equal(ftype(0), "int64");
    assert_string_equal(ftype(1), "float64");
    assert_string_equal(ftype(2), "bool");
    assert_string_equal(ftype(3), "date");
    assert_int_equal(R.schema->fields[4].type.id, NB_TYPE_TIMESTAMP);
    assert_true(R.schema->fields[4].type.utc);
    assert_string_equal(ftype(5), "string");
    assert_string_equal(ftype(6), "string");   /* leading zeros stay a string */
    assert_string_equal(ftype(7), "string");   /* never saw a value */
    /* Text is kept exactly as in the source. */
    assert_non_null(strstr(rendered, "291.07|true|"));
    assert_non_null(strstr(rendered, "|007|"));
    /* infer off: all strings. */
    assert_int_equal(rd("i\n1\n", false, NULL, &err), NB_OK);
    assert_string_equal(ftype(0), "string");
    read_result_cleanup(&R);
}

static void test_mismatch_after_sample(void **state)
{
    (void)state;
    struct nb_error err = {0};
    struct nb_buf text;
    nb_buf_init(&text);
    nb_buf_puts(&text, "n,s\n");
    for (int i = 0; i < 10000; i++) nb_buf_printf(&text, "%d,v%d\n", i, i);
    nb_buf_puts(&text, "N/A,tail\n12,x\n");
    read_result_cleanup(&R);
    assert_int_equal(read_csv(&D, text.data, text.len, true, 4096, 0, NULL, &R, &err), NB_OK);
    assert_string_equal(ftype(0), "int64");
    assert_int_equal(R.n_rows, 10002);
    assert_non_null(strstr(R.rows.data, "\n!N/A|tail\n12|x\n"));
    nb_buf_cleanup(&text);
    read_result_cleanup(&R);
}

static void test_explicit_types(void **state)
{
    (void)state;
    struct nb_error err = {0};
    const char *t = "a,b\n1,2\n";
    size_t skip, hat;
    uint64_t lines;
    assert_int_equal(nb_csv_preamble(&D, t, strlen(t), true, &skip, &lines, &hat, &err), NB_OK);
    assert_int_equal(skip, 4);
    assert_int_equal(hat, 0);
    struct nb_schema *names = NULL, *s = NULL;
    assert_int_equal(nb_csv_header(&D, t, skip, "t.csv", 1, &names, &err), NB_OK);
    struct nb_csv_type_override ov[] = {{"b", nb_type_make(NB_TYPE_STRING)}, {"a", nb_type_make(NB_TYPE_FLOAT64)}};
    assert_int_equal(nb_csv_infer(&D, names, t + skip, strlen(t) - skip, true, ov, 2, &s, &err), NB_OK);
    assert_int_equal(s->fields[0].type.id, NB_TYPE_FLOAT64);
    assert_int_equal(s->fields[1].type.id, NB_TYPE_STRING);
    nb_schema_release(names);
    nb_schema_release(s);
}

static void test_duplicate_and_empty_header_names(void **state)
{
    (void)state;
    struct nb_error err = {0};
    assert_int_equal(rd("a,a,,\"b\"\n1,2,3,4\n", false, NULL, &err), NB_OK);
    assert_string_equal(R.schema->fields[0].name, "a");
    assert_string_equal(R.schema->fields[1].name, "a_2");
    assert_string_equal(R.schema->fields[2].name, "column3");
    assert_string_equal(R.schema->fields[3].name, "b");
    read_result_cleanup(&R);
}

static void test_unterminated_quote(void **state)
{
    (void)state;
    struct nb_error err = {0};
    assert_int_equal(rd("a,b\n1,2\n3,\"open\nmore\nlines\n", false, NULL, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "t.csv:3:3"));
    assert_non_null(strstr(err.message, "unterminated"));
    read_result_cleanup(&R);
}

static void test_ragged_rows(void **state)
{
    (void)state;
    struct nb_error err = {0};
    struct collect_sink sink;
    collect_sink_init(&sink);
    assert_int_equal(rd("a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n", false, &sink.base, &err), NB_OK);
    assert_string_equal(rendered, "1|2|3\n10|11|12\n");
    assert_int_equal(sink.count, 2);
    assert_non_null(strstr(sink.log.data, "t.csv:3:1: record has 2 fields, expected 3"));
    assert_non_null(strstr(sink.log.data, "t.csv:4:1: record has 4 fields, expected 3"));
    collect_sink_cleanup(&sink);
    /* Policy fail (no sink): the first one stops the read. */
    assert_int_equal(rd("a,b,c\n1,2,3\n4,5\n", false, NULL, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "t.csv:3:1"));
    read_result_cleanup(&R);
}

static void test_bad_quoting(void **state)
{
    (void)state;
    struct nb_error err = {0};
    struct collect_sink sink;
    collect_sink_init(&sink);
    assert_int_equal(rd("a,b\n1,\"x\"y\n2,\"p\"q\"\"\n3,ok\n", false, &sink.base, &err), NB_OK);
    assert_string_equal(rendered, "3|ok\n");
    assert_int_equal(sink.count, 2);
    assert_non_null(strstr(sink.log.data, "t.csv:2:3: quoted field is not closed properly"));
    collect_sink_cleanup(&sink);
    read_result_cleanup(&R);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    struct nb_error err = {0};
    struct collect_sink sink;
    collect_sink_init(&sink);
    assert_int_equal(rd("a,b\n1,caf\xc3\xa9\n2,ab\xff\n3,\xe2\x82\n4,\xf0\x9f\x98\x80\n", false, &sink.base, &err), NB_OK);
    assert_string_equal(rendered, "1|caf\xc3\xa9\n4|\xf0\x9f\x98\x80\n");
    assert_int_equal(sink.count, 2);
    assert_non_null(strstr(sink.log.data, "t.csv:3:5: invalid UTF-8"));
    assert_non_null(strstr(sink.log.data, "t.csv:4:3: invalid UTF-8"));
    collect_sink_cleanup(&sink);
    read_result_cleanup(&R);
}

static void test_empty_and_header_only(void **state)
{
    (void)state;
    struct nb_error err = {0};
    assert_int_equal(rd("", true, NULL, &err), NB_OK);
    assert_int_equal(R.schema->n_fields, 0);
    assert_int_equal(R.n_rows, 0);
    assert_int_equal(rd("x,y\n", true, NULL, &err), NB_OK);
    assert_int_equal(R.schema->n_fields, 2);
    assert_string_equal(ftype(0), "string");
    assert_int_equal(R.n_rows, 0);
    assert_int_equal(rd("x,y", true, NULL, &err), NB_OK);
    assert_int_equal(R.schema->n_fields, 2);
    assert_int_equal(R.n_rows, 0);
    D.header = false;
    assert_int_equal(rd("", true, NULL, &err), NB_OK);
    assert_int_equal(R.schema->n_fields, 0);
    D.header = true;
    read_result_cleanup(&R);
}

static void test_binary_garbage(void **state)
{
    (void)state;
    srand(7);
    char buf[8192];
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof buf; i++) buf[i] = (char)(rand() & 0xff);
        buf[sizeof buf - 1] = '\0';
        size_t n = strlen(buf);
        struct collect_sink sink;
        collect_sink_init(&sink);
        struct nb_error err = {0};
        struct read_result r;
        nb_status st = read_csv(&D, buf, n, true, 100, 512, &sink.base, &r, &err);
        assert_true(st == NB_OK || st == NB_ERR_INVALID);
        if (st != NB_OK) assert_true(strlen(err.message) > 0);
        read_result_cleanup(&r);
        collect_sink_cleanup(&sink);
    }
}

static void test_scan_limits_and_lines(void **state)
{
    (void)state;
    struct nb_error err = {0};
    const char *t = "1,\"a\nb\"\n2,x\n3,y\n4";
    struct nb_csv_scan sc;
    assert_int_equal(nb_csv_scan_records(&D, t, strlen(t), false, 2, &sc, "t", 1, &err), NB_OK);
    assert_int_equal(sc.records, 2);
    assert_int_equal(sc.lines, 3);
    assert_int_equal(sc.consumed, strlen("1,\"a\nb\"\n2,x\n"));
    assert_int_equal(nb_csv_scan_records(&D, t, strlen(t), false, 100, &sc, "t", 1, &err), NB_OK);
    assert_int_equal(sc.records, 3);
    assert_int_equal(nb_csv_scan_records(&D, t, strlen(t), true, 100, &sc, "t", 1, &err), NB_OK);
    assert_int_equal(sc.records, 4);
    assert_int_equal(sc.consumed, strlen(t));
    /* Not eof, inside quotes: nothing complete yet. */
    assert_int_equal(nb_csv_scan_records(&D, "\"abc\n,d", 7, false, 10, &sc, "t", 1, &err), NB_OK);
    assert_int_equal(sc.records, 0);
    assert_int_equal(sc.consumed, 0);
}

static void test_chunking_invariance(void **state)
{
    (void)state;
    struct nb_buf text;
    nb_buf_init(&text);
    nb_buf_puts(&text, "id,name,note,amount\r\n");
    srand(11);
    for (int i = 0; i < 3000; i++) {
        int k = rand() % 5;
        nb_buf_printf(&text, "%d,", i);
        if (k == 0) nb_buf_puts(&text, "\"multi\r\nline, \"\"quoted\"\"\",");
        else if (k == 1) nb_buf_puts(&text, ",");
        else nb_buf_printf(&text, "name%d,", rand());
        nb_buf_printf(&text, "%s,%d.%02d\r\n", k == 2 ? "\"\"" : "plain", rand() % 1000, rand() % 100);
    }
    struct nb_error err = {0};
    struct read_result ref, r;
    assert_int_equal(read_csv(&D, text.data, text.len, true, 1u << 30, 0, NULL, &ref, &err), NB_OK);
    assert_int_equal(ref.n_rows, 3000);
    assert_int_equal(ref.n_batches, 1);
    size_t recs[] = {1, 7, 64, 999};
    size_t bytes[] = {0, 100, 4096, 65536};
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 4; j++) {
            assert_int_equal(read_csv(&D, text.data, text.len, true, recs[i], bytes[j], NULL, &r, &err), NB_OK);
            assert_int_equal(r.n_rows, 3000);
            assert_true(nb_schema_equal(r.schema, ref.schema));
            assert_string_equal(r.rows.data, ref.rows.data);
            read_result_cleanup(&r);
        }
    read_result_cleanup(&ref);
    nb_buf_cleanup(&text);
}

/* A numeric column is "plain" (its text may be copied into JSON as is) only when every value took
 * the plain-number path: '+4', '1e5' or a value kept as a mismatch make it not plain. */
static void test_plain_numbers(void **state)
{
    (void)state;
    struct nb_schema *s = nb_schema_create();
    const char *names[] = {"i", "f", "plus", "exp", "bad", "txt"};
    enum nb_type_id ids[] = {NB_TYPE_INT64, NB_TYPE_FLOAT64, NB_TYPE_INT64, NB_TYPE_FLOAT64, NB_TYPE_INT64, NB_TYPE_STRING};
    for (size_t i = 0; i < 6; i++) nb_schema_add(s, names[i], nb_type_make(ids[i]), true);
    const char *text = "1,2.5,3,1.5,7,x\n-7,-0.25,+4,1e5,N/A,y\n0,\"-0\",,2,8,z\n";
    struct nb_batch *b = nb_batch_create(s, 0);
    struct nb_csv_chunk ch = {text, strlen(text), "p.csv", "p", 1, 0, 3};
    struct nb_error err = {0};
    assert_int_equal(nb_csv_decode(&D, &ch, b, NULL, &err), NB_OK);
    assert_int_equal(b->n_rows, 3);
    assert_true(b->cols[0].plain_numbers);
    assert_true(b->cols[1].plain_numbers);
    assert_false(b->cols[2].plain_numbers);
    assert_false(b->cols[3].plain_numbers);
    assert_false(b->cols[4].plain_numbers);
    assert_false(b->cols[5].plain_numbers);
    /* Appending to a batch that already has rows vouches for nothing. */
    ch.data = "5,1.0,6,2.0,9,w\n";
    ch.len = strlen(ch.data);
    assert_int_equal(nb_csv_decode(&D, &ch, b, NULL, &err), NB_OK);
    assert_int_equal(b->n_rows, 4);
    assert_false(b->cols[0].plain_numbers);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

/* Rows carry their line and offset when some value does not fit its type (for typed writers'
 * messages); otherwise no locations are kept. */
static void test_locations_on_mismatch(void **state)
{
    (void)state;
    struct nb_schema *s = nb_schema_create();
    nb_schema_add(s, "n", nb_type_make(NB_TYPE_INT64), true);
    nb_schema_add(s, "t", nb_type_make(NB_TYPE_STRING), true);
    const char *text = "1,a\n2,\"multi\nline\"\n\nN/A,b\n4,c\n";
    struct nb_batch *b = nb_batch_create(s, 0);
    struct nb_csv_chunk ch = {text, strlen(text), "t.csv", "t", 10, 500, 5};
    struct nb_error err = {0};
    assert_int_equal(nb_csv_decode(&D, &ch, b, NULL, &err), NB_OK);
    assert_int_equal(b->n_rows, 4);
    assert_true(nb_column_is_mismatch(&b->cols[0], 2));
    assert_non_null(b->locs);
    assert_int_equal(b->locs[0].line, 10);
    assert_int_equal(b->locs[1].line, 11);
    assert_int_equal(b->locs[2].line, 14);
    assert_int_equal(b->locs[2].offset, 500 + strlen("1,a\n2,\"multi\nline\"\n\n"));
    assert_int_equal(b->locs[3].line, 15);
    nb_batch_destroy(b);
    b = nb_batch_create(s, 0);
    ch.data = "1,a\n2,b\n";
    ch.len = strlen(ch.data);
    assert_int_equal(nb_csv_decode(&D, &ch, b, NULL, &err), NB_OK);
    assert_null(b->locs);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

/* Decode text as one chunk into a batch of schema s, with or without the column-at-a-time path. */
static struct nb_batch *decode_one(struct nb_schema *s, const char *text, size_t rows_hint, bool columnar,
                                   struct collect_sink *sink, nb_status *st)
{
    struct nb_batch *b = nb_batch_create(s, 0);
    struct nb_csv_chunk ch = {text, strlen(text), "c.csv", "c", 7, 100, rows_hint};
    struct nb_error err = {0};
    bool was = nb_csv_columnar(columnar);
    *st = nb_csv_decode(&D, &ch, b, &sink->base, &err);
    nb_csv_columnar(was);
    return b;
}

/* Everything a writer can see of two batches is the same. */
static void assert_same_batch(const struct nb_batch *a, const struct nb_batch *b)
{
    assert_int_equal(a->n_rows, b->n_rows);
    assert_int_equal(a->bad_records, b->bad_records);
    assert_int_equal(a->locs == NULL, b->locs == NULL);
    for (size_t r = 0; a->locs && r < a->n_rows; r++) {
        assert_int_equal(a->locs[r].line, b->locs[r].line);
        assert_int_equal(a->locs[r].offset, b->locs[r].offset);
    }
    for (size_t c = 0; c < a->schema->n_fields; c++) {
        const struct nb_column *x = &a->cols[c], *y = &b->cols[c];
        assert_int_equal(x->len, a->n_rows);
        assert_int_equal(y->len, b->n_rows);
        assert_int_equal(x->null_count, y->null_count);
        assert_int_equal(x->mismatch_count, y->mismatch_count);
        assert_int_equal(x->plain_numbers, y->plain_numbers);
        size_t nulls = 0;
        for (size_t r = 0; r < a->n_rows; r++) {
            assert_int_equal(nb_column_is_null(x, r), nb_column_is_null(y, r));
            assert_int_equal(nb_column_is_mismatch(x, r), nb_column_is_mismatch(y, r));
            nulls += nb_column_is_null(x, r);
            size_t lx, ly;
            const char *tx = nb_column_text(x, r, &lx), *ty = nb_column_text(y, r, &ly);
            assert_int_equal(lx, ly);
            if (lx) assert_memory_equal(tx, ty, lx);
        }
        assert_int_equal(nulls, x->null_count);
    }
}

/* The column-at-a-time path gives the record walk's batch, and irregular chunks (ragged rows,
 * blank lines, bad quoting, invalid UTF-8, a quote left open) go back to the walk, which reports
 * them exactly as before. */
static void test_columnar_matches_record_walk(void **state)
{
    (void)state;
    static const char *texts[] = {
        "1,ann,2.5,true,2024-01-02T03:04:05Z\n2,bob,-0.25,false,2024-12-31T23:59:59Z\n",
        "1,ann,2.5,true,2024-01-02T03:04:05Z\r\n2,,,,\r\n3,\"c, d\",1e5,TRUE,\"\"\r\n",
        "1,\"say \"\"hi\"\"\",3,t,x\n2,\"multi\nline\",4,f,y\n3,\"\",,,\n",
        "1,a,2,true,x\n2,b,3,false,y",                 /* no final LF */
        "1,a,2,true,x\n2,b,3,false,\n",                 /* empty last field */
        "1,a,2,true,x\n2,b,3,false,",                   /* ... without LF */
        "1,a,2,true,x\r\n2,b,3,false,\r",               /* CR at the very end */
        "1,a,2,true,x\n\n2,b,3,false,y\n",              /* blank line: the walk */
        "1,a,2,true,x\n2,b,3\n3,c,4,true,z\n",          /* too few fields */
        "1,a,2,true,x,extra\n2,b,3,true,y\n",           /* too many */
        "1,\"a\"b,2,true,x\n2,b,3,true,y\n",            /* text after a closing quote */
        "1,\"a\"\"b,2,true,x\n",                       /* a quote left open */
        "1,\"a\"x\"b\",2,true,x\n2,b,3,true,y\n",       /* an undoubled quote inside */
        "1,caf\xc3\xa9,2,true,x\n2,b\xff,3,true,y\n",   /* invalid UTF-8 in row 2 */
        "N/A,a,oops,maybe,2024-02-30T00:00:00Z\n2,b,3,true,y\n",
        "9223372036854775808,a,1.0000000000000001,yes,2024-01-02 03:04:05\n",
        "-0,a,007,true,x\n00,b,.5,false,y\n-,c,5.,true,z\n",
        "1,pad-pad-pad-pad-pad-pad-pad-pad-pad-pad-pad-pad-pad,2,true,2024-01-02T03:04:05\n",
    };
    struct nb_schema *s = nb_schema_create();
    const char *names[] = {"i", "t", "f", "b", "ts"};
    enum nb_type_id ids[] = {NB_TYPE_INT64, NB_TYPE_STRING, NB_TYPE_FLOAT64, NB_TYPE_BOOL, NB_TYPE_TIMESTAMP};
    for (size_t i = 0; i < 5; i++) nb_schema_add(s, names[i], nb_type_make(ids[i]), true);
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++)
        for (size_t hint = 1; hint <= 4; hint++) {
            struct collect_sink sa, sb;
            collect_sink_init(&sa);
            collect_sink_init(&sb);
            nb_status st_a, st_b;
            struct nb_batch *a = decode_one(s, texts[t], hint, true, &sa, &st_a);
            struct nb_batch *b = decode_one(s, texts[t], hint, false, &sb, &st_b);
            assert_int_equal(st_a, st_b);
            assert_int_equal(sa.count, sb.count);
            assert_string_equal(sa.log.data ? sa.log.data : "", sb.log.data ? sb.log.data : "");
            if (st_a == NB_OK) assert_same_batch(a, b);
            nb_batch_destroy(a);
            nb_batch_destroy(b);
            collect_sink_cleanup(&sa);
            collect_sink_cleanup(&sb);
        }
    /* A long chunk: every column's buffer grows several times on the way. */
    struct nb_buf text;
    nb_buf_init(&text);
    for (int r = 0; r < 5000; r++)
        nb_buf_printf(&text, r % 7 ? "%d,name%d,%d.%02d,%s,2024-0%d-1%dT0%d:00:00Z\n"
                                   : "%d,\"q,\"\"x%d\"\"\",%d.%02d,%s,2024-0%d-1%dT0%d:00:00Z\n",
                      r - 2500, r * 7919, r % 100, r % 13, r % 3 ? "true" : "false", 1 + r % 9, r % 10, r % 10);
    struct collect_sink sa, sb;
    collect_sink_init(&sa);
    collect_sink_init(&sb);
    nb_status st_a, st_b;
    struct nb_batch *a = decode_one(s, text.data, 5000, true, &sa, &st_a);
    struct nb_batch *b = decode_one(s, text.data, 5000, false, &sb, &st_b);
    assert_int_equal(st_a, NB_OK);
    assert_int_equal(st_b, NB_OK);
    assert_int_equal(a->n_rows, 5000);
    assert_same_batch(a, b);
    nb_batch_destroy(a);
    nb_batch_destroy(b);
    collect_sink_cleanup(&sa);
    collect_sink_cleanup(&sb);
    nb_buf_cleanup(&text);
    nb_schema_release(s);
}

/* A one-column file of these values is inferred as folding nb_value_classify over them says. */
static void assert_infers_as_fold(const char *const *values, size_t n)
{
    struct nb_buf text;
    nb_buf_init(&text);
    nb_buf_puts(&text, "c\n");
    unsigned state_ref = 0;
    bool any = false, zoned = false;
    for (size_t r = 0; r < n; r++) {
        nb_buf_printf(&text, "%s\n", values[r]);
        unsigned fits = nb_value_classify(values[r], strlen(values[r]));
        state_ref = nb_infer_fold(state_ref, fits, !any);
        any = true;
        if (fits & NB_FITS_ZONED) zoned = true;
    }
    struct nb_type want = nb_infer_result(state_ref, any, zoned);
    struct nb_error err = {0};
    assert_int_equal(rd(text.data, true, NULL, &err), NB_OK);
    assert_int_equal(R.schema->fields[0].type.id, want.id);
    assert_int_equal(R.schema->fields[0].type.utc, want.utc);
    nb_buf_cleanup(&text);
}

/* Inference skips nb_value_classify for values that fit every type a column still allows; the
 * types it settles on must be those of folding nb_value_classify over every value, for columns
 * mixing the shapes where the two could part (zones, big and signed numbers, bad dates). */
static void test_inference_matches_classify_fold(void **state)
{
    (void)state;
    static const char *pool[] = {"1", "-7", "0", "-0", "007", "123456789012345678", "1234567890123456789",
                                 "99999999999999999999", "2.5", "-0.25", "1e5", "1.0000000000000001", ".5", "5.",
                                 "true", "FALSE", "True", "yes", "2024-01-31", "2024-02-30", "2024-02-29", "2023-02-29",
                                 "2024-01-15T10:00:00", "2024-01-15T10:00:00Z", "2024-01-15 10:00:00",
                                 "2024-01-31T10:00:00", "2024-01-31T10:00:00Z", "2024-01-31 10:00:00",
                                 "2024-01-31T10:00:00+02:00", "2024-01-31T10:00:00.123456Z", "2024-01-31T24:00:00",
                                 "x", "N/A", "12:30:00"};
    const size_t np = sizeof pool / sizeof *pool;
    /* Columns that end on each side of a shortcut: a zone seen only on the fast path, on the
     * slow one, or not at all; numbers leaving int64 or float64 late. */
    static const char *fixed[][4] = {
        {"2024-01-15T10:00:00", "2024-01-15T10:00:00Z", "2024-01-15T10:00:00", NULL},
        {"2024-01-31T10:00:00", "2024-01-31T10:00:00Z", "2024-01-31T10:00:00", NULL},
        {"2024-01-15T10:00:00", "2024-01-15 10:00:00+02:00", NULL, NULL},
        {"2024-01-15T10:00:00Z", "2024-01-15T10:00:00", NULL, NULL},
        {"2024-01-15T10:00:00", "2024-01-15 10:00:00", NULL, NULL},
        {"1", "2", "1234567890123456789", NULL},
        {"1", "2", "99999999999999999999", NULL},
        {"2.5", "1", "1e5", "x"},
        {"true", "False", "TRUE", NULL},
        {"2024-02-29", "2023-02-29", NULL, NULL},
    };
    for (size_t f = 0; f < sizeof fixed / sizeof *fixed; f++) {
        size_t n = 0;
        while (n < 4 && fixed[f][n]) n++;
        assert_infers_as_fold(fixed[f], n);
    }
    /* Random columns: mostly one shape, the others from its neighbours in the pool (the same
     * family: numbers, dates or timestamps), now and then from anywhere. */
    unsigned seed = 3;
    const char *column[40];
    for (int t = 0; t < 1200; t++) {
        size_t rows = 1 + (size_t)(t % 40);
        seed = seed * 1103515245u + 12345u;
        size_t base = (seed >> 16) % np;
        for (size_t r = 0; r < rows; r++) {
            seed = seed * 1103515245u + 12345u;
            unsigned pick = (seed >> 16) % 16;
            column[r] = pool[pick < 10 ? base : pick < 15 ? (base + (seed >> 20) % 5) % np : (seed >> 20) % np];
        }
        assert_infers_as_fold(column, rows);
    }
    read_result_cleanup(&R);
}

/* The decoder's fast type checks answer exactly as nb_value_fits. */
static void test_fast_fits_agree(void **state)
{
    (void)state;
    srand(3);
    const char chars[] = "0123456789-+.eE ";
    const char *fixed[] = {"0", "-0", "007", "0.5", "-0.0", "5.", ".5", "1e5", "123456789012345678",
                           "1234567890123456789", "9223372036854775807", "9223372036854775808", "-",
                           "123456789012345", "1234567890123456", "0.000000000000001", "+5", "TRUE", "fAlSe", "tru"};
    enum nb_type_id ids[] = {NB_TYPE_INT64, NB_TYPE_FLOAT64, NB_TYPE_BOOL};
    char buf[32];
    for (int round = 0; round < 200000 + 20; round++) {
        const char *v;
        size_t n;
        if (round < 20) { v = fixed[round]; n = strlen(v); }
        else {
            n = 1 + (size_t)(rand() % 20);
            for (size_t i = 0; i < n; i++) buf[i] = chars[rand() % (int)(sizeof chars - 1)];
            if (rand() % 2) for (size_t i = 0; i < n; i++) if (buf[i] < '0' || buf[i] > '9') if (rand() % 3) buf[i] = '7';
            v = buf;
        }
        for (size_t k = 0; k < 3; k++) {
            struct nb_type t = nb_type_make(ids[k]);
            if (nb_csv_value_fits(t, v, n) != nb_value_fits(t, v, n))
                fail_msg("'%.*s' as %s: fast %d, value.c %d", (int)n, v, nb_type_name(ids[k]), nb_csv_value_fits(t, v, n),
                         nb_value_fits(t, v, n));
        }
    }
}

/* The same for the date and timestamp fast paths: day 28 against 29..31, month and clock ranges,
 * separators, the Z suffix and lengths around the fast shapes. */
static void test_fast_fits_dates_agree(void **state)
{
    (void)state;
    srand(5);
    const char *templates[] = {"2024-02-28T23:59:59Z", "2023-02-29 00:00:00", "2024-02-29t12:30:45z", "1999-12-31T10:00:00",
                               "2024-13-01T00:00:00Z", "2024-00-10T00:00:00Z", "2024-01-00T00:00:00Z", "2024-04-31T00:00:00Z",
                               "2024-01-01T24:00:00Z", "2024-01-01T23:60:00Z", "2024-01-01T23:59:60Z", "2024-01-01",
                               "2024-02-30", "0000-01-01", "2024-01-01T00:00:00.5Z", "2024-01-01T00:00:00+01:00"};
    const char chars[] = "0123456789-:TtZz .+";
    enum nb_type_id ids[] = {NB_TYPE_DATE, NB_TYPE_TIMESTAMP};
    char buf[40];
    size_t nt = sizeof templates / sizeof *templates;
    for (int round = 0; round < 300000; round++) {
        const char *tpl = templates[(size_t)round % nt];
        size_t n = strlen(tpl);
        memcpy(buf, tpl, n);
        if (round >= (int)nt) {
            int edits = rand() % 3;
            for (int e = 0; e < edits; e++) buf[rand() % (int)n] = chars[rand() % (int)(sizeof chars - 1)];
            if (rand() % 8 == 0 && n > 1) n--;   /* one byte short */
        }
        for (size_t k = 0; k < 2; k++) {
            struct nb_type t = nb_type_make(ids[k]);
            if (nb_csv_value_fits(t, buf, n) != nb_value_fits(t, buf, n))
                fail_msg("'%.*s' as %s: fast %d, value.c %d", (int)n, buf, nb_type_name(ids[k]),
                         nb_csv_value_fits(t, buf, n), nb_value_fits(t, buf, n));
        }
    }
}

/* The decoder's SIMD shortcuts (plain numbers, timestamps) give the scalar reference's exact
 * answer, including "plain number" (which lets the JSON writer copy the text as is). */
static void test_vector_fits_agree(void **state)
{
    (void)state;
    srand(7);
    const char num_chars[] = "0123456789-.+eE x";
    const char ts_chars[] = "0123456789-:TtZz .+/";
    const char *templates[] = {"2024-02-28T23:59:59Z", "2023-02-29 00:00:00", "2024-02-29t12:30:45z", "1999-12-31T10:00:00",
                               "2024-13-01T00:00:00Z", "2024-00-10T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T23:60:00Z",
                               "2024-01-01T23:59:60Z", "2024-01-01T19:09:09Z"};
    enum nb_type_id ids[] = {NB_TYPE_INT64, NB_TYPE_FLOAT64, NB_TYPE_TIMESTAMP, NB_TYPE_DATE, NB_TYPE_BOOL};
    char buf[64];
    for (int round = 0; round < 400000; round++) {
        size_t n;
        memset(buf, round % 3 ? '5' : '.', sizeof buf);   /* what follows the value must not matter */
        if (round % 5 == 1) {   /* bool words, near misses and case variants */
            const char *words[] = {"true", "TRUE", "True", "false", "FALSE", "fAlSe", "tru", "falsy", "trUe", "t\x80ue",
                                   "4rue", "fals", "truee", "\x14RUE", "FaLSE"};
            const char *w = words[(size_t)rand() % (sizeof words / sizeof *words)];
            n = strlen(w);
            memcpy(buf, w, n);
        } else if (round % 2) {
            n = (size_t)(rand() % 18);
            for (size_t i = 0; i < n; i++) buf[i] = num_chars[rand() % (int)(sizeof num_chars - 1)];
            if (rand() % 2) for (size_t i = 1; i < n; i++) if (buf[i] != '.' && rand() % 4) buf[i] = (char)('0' + rand() % 10);
        } else {
            const char *tpl = templates[(size_t)rand() % (sizeof templates / sizeof *templates)];
            n = strlen(tpl);
            memcpy(buf, tpl, n);
            for (int e = rand() % 3; e > 0; e--) buf[rand() % (int)n] = ts_chars[rand() % (int)(sizeof ts_chars - 1)];
            if (rand() % 8 == 0) n--;
        }
        for (size_t k = 0; k < sizeof ids / sizeof *ids; k++) {
            struct nb_type t = nb_type_make(ids[k]);
            int fast = nb_csv_fit_kind(t, buf, n, true), ref = nb_csv_fit_kind(t, buf, n, false);
            if (fast != ref) fail_msg("'%.*s' as %s: vector %d, scalar %d", (int)n, buf, nb_type_name(ids[k]), fast, ref);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic_null_vs_empty, setup, teardown),
        cmocka_unit_test(test_vector_fits_agree),
        cmocka_unit_test_setup_teardown(test_crlf_bom_no_final_newline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blank_lines_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quote_inside_unquoted_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mismatch_after_sample, setup, teardown),
        cmocka_unit_test_setup_teardown(test_explicit_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_and_empty_header_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unterminated_quote, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ragged_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_quoting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_header_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_limits_and_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunking_invariance, setup, teardown),
        cmocka_unit_test(test_fast_fits_agree),
        cmocka_unit_test(test_fast_fits_dates_agree),
        cmocka_unit_test(test_plain_numbers),
        cmocka_unit_test_setup_teardown(test_locations_on_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_columnar_matches_record_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inference_matches_classify_fold, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
