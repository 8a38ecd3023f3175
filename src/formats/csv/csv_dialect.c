/* CSV dialect options from a connector's config section (kept apart from the reader so that code
 * using the reader alone does not pull in the config layer). */
#include <stdlib.h>
#include <string.h>

#include "formats/csv/csv.h"

/* One character option: "," "\t" "tab" "|" ...; empty allowed only where allow_empty. */
static nb_status parse_char_opt(const char *key, const char *v, bool allow_empty, char *out, struct nb_error *err)
{
    if (!v) return NB_OK;
    if (*v == '\0') {
        if (!allow_empty) return nb_error_set(err, NB_ERR_CONFIG, "%s: must be one character, got an empty string", key);
        *out = '\0';
        return NB_OK;
    }
    if (strcmp(v, "\\t") == 0 || strcmp(v, "tab") == 0) { *out = '\t'; return NB_OK; }
    if (strlen(v) != 1)
        return nb_error_set(err, NB_ERR_CONFIG, "%s: must be a single character (or \\t), got '%s'", key, v);
    if (*v == '\n' || *v == '\r') return nb_error_set(err, NB_ERR_CONFIG, "%s: cannot be a line break", key);
    *out = *v;
    return NB_OK;
}

nb_status nb_csv_dialect_from_cfg(struct nb_csv_dialect *d, const struct nb_cfg *cfg, struct nb_error *err)
{
    nb_csv_dialect_init(d);
    if (!cfg) return NB_OK;
    nb_status st;
    if ((st = parse_char_opt("delimiter", nb_cfg_string(cfg, "delimiter", NULL), false, &d->delimiter, err))) return st;
    if ((st = parse_char_opt("quote", nb_cfg_string(cfg, "quote", NULL), true, &d->quote, err))) return st;
    d->escape = d->quote;
    if ((st = parse_char_opt("escape", nb_cfg_string(cfg, "escape", NULL), true, &d->escape, err))) return st;
    if (!d->escape) d->escape = d->quote;
    if (d->quote && d->quote == d->delimiter)
        return nb_error_set(err, NB_ERR_CONFIG, "quote and delimiter are both '%c': choose different characters", d->quote);
    d->header = nb_cfg_bool(cfg, "header", true);
    int64_t skip = nb_cfg_int(cfg, "skip_rows", 0);
    if (skip < 0) return nb_error_set(err, NB_ERR_CONFIG, "skip_rows: must be 0 or more, got %lld", (long long)skip);
    d->skip_rows = (size_t)skip;
    const char *comment = nb_cfg_string(cfg, "comment", NULL);
    if (comment) {
        if (strlen(comment) >= sizeof d->comment)
            return nb_error_set(err, NB_ERR_CONFIG, "comment: prefix longer than %zu characters", sizeof d->comment - 1);
        strcpy(d->comment, comment);
    }
    const char *nulls[NB_CSV_MAX_NULL_VALUES + 1];
    size_t nn = nb_cfg_strings(cfg, "null_values", nulls, NB_CSV_MAX_NULL_VALUES + 1);
    if (nn > NB_CSV_MAX_NULL_VALUES)
        return nb_error_set(err, NB_ERR_CONFIG, "null_values: at most %d strings", NB_CSV_MAX_NULL_VALUES);
    for (size_t i = 0; i < nn; i++) {
        d->null_values[i] = strdup(nulls[i]);
        if (!d->null_values[i]) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        d->n_null_values = i + 1;
    }
    uint64_t mrs = nb_cfg_size(cfg, "max_record_size", NB_CSV_DEFAULT_MAX_RECORD);
    if (mrs < 64 || mrs > (uint64_t)2 << 30)
        return nb_error_set(err, NB_ERR_CONFIG, "max_record_size: must be between 64 bytes and 2GiB");
    d->max_record_size = (size_t)mrs;
    return NB_OK;
}

