/* PostgreSQL connections: settings from a URL or keys (host, port, user, password, dbname, sslmode,
 * sslrootcert), session settings that make every value's text exact, and error messages that say
 * what failed, where (host:port/db, SQL state) and what to do, without ever showing the password. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/postgres/pg.h"
#include "core/log.h"

/* ---- config tree access ---------------------------------------------------------------------- */
const struct nb_cfg *pg_cfg_child(const struct nb_cfg *map, const char *key)
{
    if (!map || map->kind != NB_CFG_MAP) return NULL;
    const struct nb_cfg *found = NULL;
    for (size_t i = 0; i < map->n_children; i++)
        if (map->children[i]->key && strcmp(map->children[i]->key, key) == 0) found = map->children[i];
    return found;
}

const char *pg_cfg_str(const struct nb_cfg *map, const char *key, const char *fallback)
{
    const struct nb_cfg *c = pg_cfg_child(map, key);
    if (!c || c->kind != NB_CFG_SCALAR || !c->value) return fallback;
    return c->value;
}

int64_t pg_cfg_int(const struct nb_cfg *map, const char *key, int64_t fallback)
{
    const char *s = pg_cfg_str(map, key, NULL);
    if (!s || !*s) return fallback;
    char *end;
    long long v = strtoll(s, &end, 10);
    return *end ? fallback : (int64_t)v;
}

bool pg_cfg_bool(const struct nb_cfg *map, const char *key, bool fallback)
{
    const char *s = pg_cfg_str(map, key, NULL);
    if (!s) return fallback;
    if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1") || !strcasecmp(s, "on")) return true;
    if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcmp(s, "0") || !strcasecmp(s, "off")) return false;
    return fallback;
}

uint64_t pg_cfg_duration_ms(const struct nb_cfg *map, const char *key, uint64_t fallback)
{
    const char *s = pg_cfg_str(map, key, NULL);
    if (!s || !*s) return fallback;
    uint64_t total = 0;
    const char *p = s;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p) return fallback;
        double mult = 1000;
        if (!strncmp(end, "ms", 2)) { mult = 1; end += 2; }
        else if (*end == 's') { mult = 1000; end++; }
        else if (*end == 'm') { mult = 60000; end++; }
        else if (*end == 'h') { mult = 3600000; end++; }
        else if (*end == 'd') { mult = 86400000; end++; }
        else if (*end) return fallback;
        total += (uint64_t)(v * mult);
        p = end;
    }
    return total;
}

size_t pg_cfg_list(const struct nb_cfg *map, const char *key, const char **out, size_t max)
{
    const struct nb_cfg *c = pg_cfg_child(map, key);
    if (!c) return 0;
    if (c->kind == NB_CFG_SCALAR) {
        if (!c->value || !*c->value || max == 0) return 0;
        out[0] = c->value;
        return 1;
    }
    size_t n = 0;
    if (c->kind == NB_CFG_LIST)
        for (size_t i = 0; i < c->n_children && n < max; i++)
            if (c->children[i]->kind == NB_CFG_SCALAR && c->children[i]->value) out[n++] = c->children[i]->value;
    return n;
}

/* ---- connecting -------------------------------------------------------------------------------- */
void pg_conninfo_from_cfg(struct pg_conninfo *ci, const struct nb_cfg *cfg, const struct nb_run_options *opt)
{
    memset(ci, 0, sizeof *ci);
    ci->url = pg_cfg_str(cfg, "url", NULL);
    ci->host = pg_cfg_str(cfg, "host", NULL);
    const char *port = pg_cfg_str(cfg, "port", NULL);
    if (port) {
        snprintf(ci->port_buf, sizeof ci->port_buf, "%s", port);
        ci->port = ci->port_buf;
    }
    ci->user = pg_cfg_str(cfg, "user", NULL);
    ci->password = pg_cfg_str(cfg, "password", NULL);
    ci->dbname = pg_cfg_str(cfg, "database", pg_cfg_str(cfg, "dbname", NULL));
    ci->sslmode = pg_cfg_str(cfg, "sslmode", NULL);
    ci->sslrootcert = pg_cfg_str(cfg, "sslrootcert", NULL);
    ci->connect_timeout_ms = opt && opt->connect_timeout_ms ? opt->connect_timeout_ms : 30000;
    if (ci->password && *ci->password) nb_log_add_secret(ci->password);
    if (ci->url && strchr(ci->url, '@')) {
        /* A URL may carry the password (postgres://u:pw@h/db): register just that part. */
        const char *scheme = strstr(ci->url, "://");
        const char *at = strchr(ci->url, '@');
        if (scheme && scheme < at) {
            const char *colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3));
            if (colon && at - colon > 1) {
                char pw[256];
                size_t len = (size_t)(at - colon - 1);
                if (len < sizeof pw) {
                    memcpy(pw, colon + 1, len);
                    pw[len] = '\0';
                    nb_log_add_secret(pw);
                }
            }
        }
    }
}

/* host:port/db for messages, from the live connection (never includes the password). */
static void where(PGconn *c, char *out, size_t cap)
{
    const char *h = c ? PQhost(c) : NULL, *p = c ? PQport(c) : NULL, *d = c ? PQdb(c) : NULL;
    snprintf(out, cap, "%s:%s/%s", h && *h ? h : "?", p && *p ? p : "5432", d && *d ? d : "?");
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ')) s[--n] = '\0';
}

/* Server notices ("schema already exists, skipping") go to the debug log, not raw to stderr. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", message);
    trim(msg);
    NB_DEBUG("postgres", "server notice: %s", msg);
}

nb_status pg_connect(const struct pg_conninfo *ci, bool replication, PGconn **out, struct nb_error *err)
{
    const char *keys[24], *vals[24];
    int n = 0;
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%" PRIu64, (ci->connect_timeout_ms + 999) / 1000);
    if (ci->url) { keys[n] = "dbname"; vals[n++] = ci->url; }
    if (ci->host) { keys[n] = "host"; vals[n++] = ci->host; }
    if (ci->port) { keys[n] = "port"; vals[n++] = ci->port; }
    if (ci->user) { keys[n] = "user"; vals[n++] = ci->user; }
    if (ci->password) { keys[n] = "password"; vals[n++] = ci->password; }
    if (ci->dbname) { keys[n] = "dbname"; vals[n++] = ci->dbname; }   /* overrides the url's */
    if (ci->sslmode) { keys[n] = "sslmode"; vals[n++] = ci->sslmode; }
    if (ci->sslrootcert) { keys[n] = "sslrootcert"; vals[n++] = ci->sslrootcert; }
    keys[n] = "connect_timeout"; vals[n++] = timeout;
    keys[n] = "application_name"; vals[n++] = "nebula";
    /* A dead peer is noticed within about a minute instead of blocking a read for hours. */
    keys[n] = "keepalives_idle"; vals[n++] = "30";
    keys[n] = "keepalives_interval"; vals[n++] = "10";
    keys[n] = "keepalives_count"; vals[n++] = "3";
    if (replication) { keys[n] = "replication"; vals[n++] = "database"; }
    keys[n] = NULL; vals[n] = NULL;
    /* expand_dbname=1: the first dbname may be a URL; later keys override what it says. */
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c && nb_pq_load_error()) return nb_error_set(err, NB_ERR_UNSUPPORTED, "postgres: %s", nb_pq_load_error());
    if (!c) return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory creating a connection");
    PQsetNoticeProcessor(c, on_notice, NULL);
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[NB_ERROR_MESSAGE_MAX - 200], w[200];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        trim(msg);
        nb_redact(msg, sizeof msg);
        snprintf(w, sizeof w, "%s:%s/%s", ci->host ? ci->host : (PQhost(c) ? PQhost(c) : "?"),
                 ci->port ? ci->port : (PQport(c) ? PQport(c) : "5432"),
                 ci->dbname ? ci->dbname : (PQdb(c) ? PQdb(c) : "?"));
        nb_redact(w, sizeof w);
        nb_status code = NB_ERR_NET;
        const char *hint = "check host, port and that the server is running and reachable";
        if (strstr(msg, "password") || strstr(msg, "authentication") || strstr(msg, "no pg_hba.conf") ||
            strstr(msg, "role \"")) {
            code = NB_ERR_AUTH;
            hint = "check user and password (and pg_hba.conf for this client)";
        } else if (strstr(msg, "does not exist")) {
            code = NB_ERR_NOT_FOUND;
            hint = "check the database name";
        } else if (strstr(msg, "SSL") || strstr(msg, "certificate") || strstr(msg, "ssl")) {
            code = NB_ERR_AUTH;
            hint = "check sslmode, sslrootcert and the server certificate's host name";
        }
        PQfinish(c);
        nb_status s = nb_error_set(err, code, "postgres: cannot connect to %s%s: %s; %s", w,
                                   replication ? " (replication connection)" : "", msg, hint);
        if (err && code == NB_ERR_NET) err->retryable = true;
        return s;
    }
    static const char *const settings =
        "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET IntervalStyle = 'iso_8601'; "
        "SET extra_float_digits = 3; SET bytea_output = 'hex'";
    nb_status s = pg_exec(c, settings, "setting session parameters", err);
    if (s != NB_OK) {
        PQfinish(c);
        return s;
    }
    *out = c;
    return NB_OK;
}

nb_status pg_result_error(PGconn *c, const PGresult *r, const char *what, struct nb_error *err)
{
    char w[200], msg[600];
    where(c, w, sizeof w);
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    snprintf(msg, sizeof msg, "%s", r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r) : PQerrorMessage(c));
    trim(msg);
    nb_redact(msg, sizeof msg);
    nb_status code = NB_ERR_IO;
    const char *hint = "";
    if (PQstatus(c) != CONNECTION_OK) {
        code = NB_ERR_NET;
        hint = "; the connection was lost: check the server";
    } else if (state && !strncmp(state, "42501", 5)) {
        code = NB_ERR_AUTH;
        hint = "; grant the privilege (see docs/connectors/postgres.md)";
    } else if (state && (!strncmp(state, "42P01", 5) || !strncmp(state, "42704", 5) || !strncmp(state, "3D000", 5))) {
        code = NB_ERR_NOT_FOUND;
    } else if (state && state[0] == '2' && state[1] == '2') {
        code = NB_ERR_INVALID;
    } else if (state && !strncmp(state, "55000", 5)) {
        code = NB_ERR_CONFIG;
    }
    nb_status s = nb_error_set(err, code, "postgres %s: %s failed: %s%s%s%s", w, what, msg,
                               state ? " (SQLSTATE " : "", state ? state : "", state ? ")" : "");
    if (*hint) {
        size_t len = err ? strlen(err->message) : 0;
        if (err) snprintf(err->message + len, sizeof err->message - len, "%s", hint);
    }
    if (err && code == NB_ERR_NET) err->retryable = true;
    return s;
}

nb_status pg_exec(PGconn *c, const char *sql, const char *what, struct nb_error *err)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        nb_status s = pg_result_error(c, r, what, err);
        PQclear(r);
        return s;
    }
    PQclear(r);
    return NB_OK;
}

nb_status pg_query(PGconn *c, const char *sql, int nparams, const char *const *params, PGresult **out,
                   const char *what, struct nb_error *err)
{
    PGresult *r = nparams ? PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0) : PQexec(c, sql);
    if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
        nb_status s = pg_result_error(c, r, what, err);
        PQclear(r);
        return s;
    }
    *out = r;
    return NB_OK;
}

void pg_quote_ident(struct nb_buf *b, const char *ident)
{
    nb_buf_putc(b, '"');
    for (const char *p = ident; *p; p++) {
        if (*p == '"') nb_buf_putc(b, '"');
        nb_buf_putc(b, *p);
    }
    nb_buf_putc(b, '"');
}

void pg_quote_qualified(struct nb_buf *b, const char *schema, const char *table)
{
    pg_quote_ident(b, schema);
    nb_buf_putc(b, '.');
    pg_quote_ident(b, table);
}

void pg_quote_literal(struct nb_buf *b, const char *s)
{
    /* standard_conforming_strings is on since 9.1: only quotes need doubling; E'' is not used. */
    nb_buf_putc(b, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '\'') nb_buf_putc(b, '\'');
        nb_buf_putc(b, *p);
    }
    nb_buf_putc(b, '\'');
}

bool pg_lsn_parse(const char *s, uint64_t *out)
{
    if (!s) return false;
    char *end;
    unsigned long hi = strtoul(s, &end, 16);
    if (end == s || *end != '/' || hi > 0xFFFFFFFFul) return false;
    const char *lo_s = end + 1;
    unsigned long lo = strtoul(lo_s, &end, 16);
    if (end == lo_s || *end || lo > 0xFFFFFFFFul) return false;
    *out = ((uint64_t)hi << 32) | lo;
    return true;
}

void pg_lsn_format(uint64_t lsn, char *out, size_t cap)
{
    snprintf(out, cap, "%X/%X", (unsigned)(lsn >> 32), (unsigned)(lsn & 0xFFFFFFFFu));
}
