/* Schema history for servers that do not log column names (binlog_row_metadata other than FULL,
 * MySQL 5.7): the column names of each table as of the stream's position, kept in the saved
 * position ("columns") and moved forward by the ALTER TABLE statements read from the binlog, so
 * rows before a DDL decode with the old names and rows after it with the new ones. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/mysql/history.h"

void my_hist_free(struct my_hist *h)
{
    for (size_t i = 0; i < h->n; i++) free(h->names[i]);
    free(h->names);
    h->names = NULL;
    h->n = 0;
}

bool my_hist_set(struct my_hist *h, const char *const *names, size_t n)
{
    char **nn = calloc(n ? n : 1, sizeof *nn);
    if (!nn) return false;
    for (size_t i = 0; i < n; i++) {
        nn[i] = strdup(names[i]);
        if (!nn[i]) { for (size_t k = 0; k < i; k++) free(nn[k]); free(nn); return false; }
    }
    my_hist_free(h);
    h->names = nn;
    h->n = n;
    return true;
}

/* ---- a small tokenizer for ALTER TABLE ------------------------------------------------- */
struct tok { const char *p; size_t n; bool quoted; };

struct lex { const char *s, *end; };

static void skip_ws(struct lex *l)
{
    for (;;) {
        while (l->s < l->end && isspace((unsigned char)*l->s)) l->s++;
        if (l->end - l->s >= 2 && l->s[0] == '/' && l->s[1] == '*') {
            const char *e = l->s + 2;
            while (e + 1 < l->end && !(e[0] == '*' && e[1] == '/')) e++;
            l->s = e + 1 < l->end ? e + 2 : l->end;
            continue;
        }
        if (l->end - l->s >= 2 && l->s[0] == '-' && l->s[1] == '-') {
            while (l->s < l->end && *l->s != '\n') l->s++;
            continue;
        }
        break;
    }
}

/* Next token: `quoted` identifier, 'string', a word, or one punctuation character. */
static bool next_tok(struct lex *l, struct tok *t)
{
    skip_ws(l);
    if (l->s >= l->end) return false;
    char c = *l->s;
    t->quoted = false;
    if (c == '`' || c == '\'' || c == '"') {
        const char *b = ++l->s;
        while (l->s < l->end) {
            if (*l->s == c) {
                if (l->s + 1 < l->end && l->s[1] == c) { l->s += 2; continue; }
                break;
            }
            if (c != '`' && *l->s == '\\' && l->s + 1 < l->end) l->s++;
            l->s++;
        }
        t->p = b;
        t->n = (size_t)(l->s - b);
        t->quoted = c == '`';
        if (l->s < l->end) l->s++;
        return true;
    }
    if (isalnum((unsigned char)c) || c == '_' || c == '$' || (unsigned char)c >= 0x80) {
        const char *b = l->s;
        while (l->s < l->end && (isalnum((unsigned char)*l->s) || *l->s == '_' || *l->s == '$' || (unsigned char)*l->s >= 0x80)) l->s++;
        t->p = b;
        t->n = (size_t)(l->s - b);
        return true;
    }
    t->p = l->s++;
    t->n = 1;
    return true;
}

static bool kw(const struct tok *t, const char *w)
{
    return !t->quoted && strlen(w) == t->n && strncasecmp(t->p, w, t->n) == 0;
}

/* identifier text of a token (backquotes removed, doubled backquotes folded) */
static char *ident(const struct tok *t)
{
    char *o = malloc(t->n + 1);
    if (!o) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        o[k++] = t->p[i];
        if (t->quoted && t->p[i] == '`' && i + 1 < t->n && t->p[i + 1] == '`') i++;
    }
    o[k] = '\0';
    return o;
}

static long find(const struct my_hist *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (!strcasecmp(h->names[i], name)) return (long)i;
    return -1;
}

static bool insert_at(struct my_hist *h, size_t at, char *name)
{
    char **nn = realloc(h->names, (h->n + 1) * sizeof *nn);
    if (!nn) return false;
    h->names = nn;
    memmove(h->names + at + 1, h->names + at, (h->n - at) * sizeof *nn);
    h->names[at] = name;
    h->n++;
    return true;
}

static void remove_at(struct my_hist *h, size_t at)
{
    free(h->names[at]);
    memmove(h->names + at, h->names + at + 1, (h->n - at - 1) * sizeof *h->names);
    h->n--;
}

/* Skip to the end of the current alter specification (a comma at depth 0) and note a trailing
 * FIRST / AFTER col. */
static void spec_rest(struct lex *l, bool *first, char **after, bool *end)
{
    int depth = 0;
    struct tok t;
    *first = false;
    *after = NULL;
    *end = true;
    struct lex save;
    while (save = *l, next_tok(l, &t)) {
        if (t.n == 1 && !t.quoted && t.p[0] == '(') depth++;
        else if (t.n == 1 && !t.quoted && t.p[0] == ')') depth--;
        else if (depth == 0 && t.n == 1 && !t.quoted && t.p[0] == ',') { *end = false; return; }
        else if (depth == 0 && t.n == 1 && !t.quoted && t.p[0] == ';') { *l = save; return; }
        else if (depth == 0 && kw(&t, "FIRST")) *first = true;
        else if (depth == 0 && kw(&t, "AFTER")) {
            struct tok a;
            if (next_tok(l, &a)) { free(*after); *after = ident(&a); }
        }
    }
}

static void place(struct my_hist *h, char *name, bool first, const char *after)
{
    size_t at = h->n;
    if (first) at = 0;
    else if (after) { long a = find(h, after); if (a >= 0) at = (size_t)a + 1; }
    if (!insert_at(h, at, name)) free(name);
}

enum my_ddl_result my_hist_apply_ddl(const char *sql, size_t len, const char *default_db, const char *db,
                                     const char *table, struct my_hist *h)
{
    struct lex l = {sql, sql + len};
    struct tok t;
    if (!next_tok(&l, &t) || !kw(&t, "ALTER")) return MY_DDL_OTHER;
    /* ALTER [ONLINE] [IGNORE] TABLE [IF EXISTS] [db.]name */
    while (next_tok(&l, &t) && !kw(&t, "TABLE"))
        if (!kw(&t, "ONLINE") && !kw(&t, "IGNORE") && !kw(&t, "OFFLINE")) return MY_DDL_OTHER;
    if (!next_tok(&l, &t)) return MY_DDL_OTHER;
    if (kw(&t, "IF")) { next_tok(&l, &t); next_tok(&l, &t); }
    char *a = ident(&t), *b = NULL;
    struct lex save = l;
    struct tok dot;
    if (next_tok(&l, &dot) && dot.n == 1 && dot.p[0] == '.' && !dot.quoted) {
        struct tok tn;
        if (next_tok(&l, &tn)) b = ident(&tn);
    } else {
        l = save;
    }
    const char *tdb = b ? a : default_db, *tname = b ? b : a;
    bool ours = tdb && tname && !strcmp(tdb, db) && !strcmp(tname, table);
    free(a);
    free(b);
    if (!ours) return MY_DDL_OTHER;
    enum my_ddl_result res = MY_DDL_APPLIED;
    bool end = false;
    while (!end && next_tok(&l, &t)) {
        bool first;
        char *after = NULL;
        if (kw(&t, "ADD")) {
            struct tok n;
            if (!next_tok(&l, &n)) break;
            if (kw(&n, "COLUMN")) { if (!next_tok(&l, &n)) break; }
            else if (kw(&n, "INDEX") || kw(&n, "KEY") || kw(&n, "CONSTRAINT") || kw(&n, "PRIMARY") || kw(&n, "UNIQUE") ||
                     kw(&n, "FULLTEXT") || kw(&n, "SPATIAL") || kw(&n, "FOREIGN") || kw(&n, "CHECK") || kw(&n, "PERIOD") ||
                     kw(&n, "PARTITION") || kw(&n, "SYSTEM")) {
                spec_rest(&l, &first, &after, &end);
                free(after);
                continue;
            }
            if (kw(&n, "IF")) { next_tok(&l, &n); next_tok(&l, &n); next_tok(&l, &n); }
            if (n.n == 1 && n.p[0] == '(' && !n.quoted) { res = MY_DDL_UNKNOWN; break; } /* ADD (a, b): rare */
            char *name = ident(&n);
            spec_rest(&l, &first, &after, &end);
            if (name && find(h, name) < 0) place(h, name, first, after);
            else free(name);
        } else if (kw(&t, "DROP")) {
            struct tok n;
            if (!next_tok(&l, &n)) break;
            if (kw(&n, "COLUMN")) { if (!next_tok(&l, &n)) break; }
            else if (kw(&n, "INDEX") || kw(&n, "KEY") || kw(&n, "CONSTRAINT") || kw(&n, "PRIMARY") || kw(&n, "FOREIGN") ||
                     kw(&n, "CHECK") || kw(&n, "PARTITION") || kw(&n, "SYSTEM") || kw(&n, "PERIOD")) {
                spec_rest(&l, &first, &after, &end);
                free(after);
                continue;
            }
            if (kw(&n, "IF")) { next_tok(&l, &n); next_tok(&l, &n); }
            char *name = ident(&n);
            long at = name ? find(h, name) : -1;
            if (at >= 0) remove_at(h, (size_t)at);
            free(name);
            spec_rest(&l, &first, &after, &end);
        } else if (kw(&t, "CHANGE") || kw(&t, "MODIFY")) {
            bool change = kw(&t, "CHANGE");
            struct tok n;
            if (!next_tok(&l, &n)) break;
            if (kw(&n, "COLUMN")) { if (!next_tok(&l, &n)) break; }
            if (kw(&n, "IF")) { next_tok(&l, &n); next_tok(&l, &n); }
            char *old = ident(&n), *nw = NULL;
            if (change) { struct tok m; if (next_tok(&l, &m)) nw = ident(&m); }
            spec_rest(&l, &first, &after, &end);
            long at = old ? find(h, old) : -1;
            if (at >= 0) {
                char *name = nw ? nw : strdup(h->names[at]);
                nw = NULL;
                remove_at(h, (size_t)at);
                if (first || after) place(h, name, first, after);
                else if (name && !insert_at(h, (size_t)at, name)) free(name);
            }
            free(old);
            free(nw);
        } else if (kw(&t, "RENAME")) {
            struct tok n;
            if (!next_tok(&l, &n)) break;
            if (kw(&n, "COLUMN")) {
                struct tok o, to, nn;
                if (next_tok(&l, &o) && next_tok(&l, &to) && kw(&to, "TO") && next_tok(&l, &nn)) {
                    char *old = ident(&o);
                    long at = old ? find(h, old) : -1;
                    if (at >= 0) { char *nm = ident(&nn); if (nm) { free(h->names[at]); h->names[at] = nm; } }
                    free(old);
                }
            } else if (!kw(&n, "INDEX") && !kw(&n, "KEY")) {
                res = MY_DDL_RENAMED; /* the table itself got another name */
            }
            spec_rest(&l, &first, &after, &end);
        } else {
            spec_rest(&l, &first, &after, &end);
        }
        free(after);
    }
    return res;
}
