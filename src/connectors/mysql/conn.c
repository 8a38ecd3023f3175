/* MySQL/MariaDB source: settings (URL or keys, failover hosts, TLS), connecting, `check` with the
 * fixes for wrong server settings, and the connector's ops struct. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "connectors/mysql/source.h"
#include "core/log.h"

static const struct nb_config_key cdc_keys[] = {
    {"until", NB_KEY_STRING, NULL, NULL, 0, "'now': stop once the binlog position current at start is reached", NULL},
    {"heartbeat", NB_KEY_DURATION, "1s", NULL, 0, "server heartbeat period while the binlog is idle", NULL},
    {"server_id", NB_KEY_INT, "0", NULL, 0, "replica server id to use (0: chosen at random)", NULL},
    {NULL, 0, NULL, NULL, 0, NULL, NULL},
};

static const struct nb_config_key mysql_spec[] = {
    {"url", NB_KEY_STRING, NULL, NULL, NB_KEY_SECRET, "mysql://user:password@host:port/database (instead of the keys below)", NULL},
    {"host", NB_KEY_STRING, "127.0.0.1", NULL, 0, "server host", NULL},
    {"port", NB_KEY_INT, "3306", NULL, 0, "server port", NULL},
    {"hosts", NB_KEY_LIST, NULL, NULL, 0, "failover list of host:port, tried in order", NULL},
    {"user", NB_KEY_STRING, NULL, NULL, 0, "user name", NULL},
    {"password", NB_KEY_STRING, NULL, NULL, NB_KEY_SECRET, "password", NULL},
    {"database", NB_KEY_STRING, NULL, NULL, 0, "default database (tables without a database part belong to it)", NULL},
    {"tables", NB_KEY_LIST, NULL, NULL, 0, "include patterns db.table (globs); default: every table of `database`", NULL},
    {"exclude", NB_KEY_LIST, NULL, NULL, 0, "exclude patterns db.table (globs)", NULL},
    {"mode", NB_KEY_ENUM, "full_refresh", "full_refresh|incremental|cdc", 0, "how to read", NULL},
    {"cursor_field", NB_KEY_STRING, NULL, NULL, 0, "incremental: the column whose growth marks new rows", NULL},
    {"snapshot", NB_KEY_ENUM, "initial", "initial|never|when_needed", 0,
     "cdc: copy tables before streaming; when_needed also re-copies when the saved position is gone", NULL},
    {"chunk_size", NB_KEY_INT, "50000", NULL, 0, "rows per primary-key chunk of a snapshot", NULL},
    {"ssl_mode", NB_KEY_ENUM, "preferred", "disabled|preferred|required|verify_ca|verify_identity", 0, "TLS", NULL},
    {"ssl_ca", NB_KEY_STRING, NULL, NULL, 0, "CA certificate file", NULL},
    {"ssl_cert", NB_KEY_STRING, NULL, NULL, 0, "client certificate file", NULL},
    {"ssl_key", NB_KEY_STRING, NULL, NULL, 0, "client key file", NULL},
    {"cdc", NB_KEY_MAP, NULL, NULL, 0, "binlog settings", cdc_keys},
    {NULL, 0, NULL, NULL, 0, NULL, NULL},
};

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) { memcpy(p, s, n); p[n] = '\0'; }
    return p;
}

static char *pct_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n) {
            unsigned v;
            char hx[3] = {s[i + 1], s[i + 2], 0};
            if (sscanf(hx, "%2x", &v) == 1) { out[o++] = (char)v; i += 2; continue; }
        }
        out[o++] = s[i];
    }
    out[o] = '\0';
    return out;
}

static nb_status add_host(struct my_settings *s, const char *h, size_t n, unsigned port, struct nb_error *err)
{
    if (s->n_hosts == MY_MAX_HOSTS) return nb_error_set(err, NB_ERR_CONFIG, "mysql: at most %d hosts", MY_MAX_HOSTS);
    const char *colon = memchr(h, ':', n);
    if (colon && !memchr(colon + 1, ':', n - (size_t)(colon - h) - 1)) {
        char pb[16];
        size_t pl = n - (size_t)(colon - h) - 1;
        if (pl == 0 || pl >= sizeof pb) return nb_error_set(err, NB_ERR_CONFIG, "mysql: bad port in host '%.*s'", (int)n, h);
        memcpy(pb, colon + 1, pl);
        pb[pl] = '\0';
        char *end;
        long p = strtol(pb, &end, 10);
        if (*end || p <= 0 || p > 65535) return nb_error_set(err, NB_ERR_CONFIG, "mysql: bad port in host '%.*s'", (int)n, h);
        port = (unsigned)p;
        n = (size_t)(colon - h);
    }
    s->hosts[s->n_hosts] = dupn(h, n);
    s->ports[s->n_hosts] = port;
    s->n_hosts++;
    return NB_OK;
}

static nb_status parse_url(struct my_settings *s, const char *url, struct nb_error *err)
{
    const char *p;
    if (!strncmp(url, "mysql://", 8)) p = url + 8;
    else if (!strncmp(url, "mariadb://", 10)) p = url + 10;
    else return nb_error_set(err, NB_ERR_CONFIG, "mysql: url must start with mysql:// or mariadb://");
    const char *end = p + strcspn(p, "/?");
    const char *at = NULL;
    for (const char *q = p; q < end; q++) if (*q == '@') at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            free(s->user); s->user = pct_decode(p, (size_t)(colon - p));
            free(s->password); s->password = pct_decode(colon + 1, (size_t)(at - colon - 1));
        } else {
            free(s->user); s->user = pct_decode(p, (size_t)(at - p));
        }
        p = at + 1;
    }
    /* host[:port][,host[:port]...] */
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        nb_status st = add_host(s, p, (size_t)(e - p), 3306, err);
        if (st != NB_OK) return st;
        p = comma ? comma + 1 : end;
    }
    if (*end == '/') {
        const char *db = end + 1;
        size_t dn = strcspn(db, "?");
        if (dn) { free(s->database); s->database = pct_decode(db, dn); }
        end = db + dn;
    }
    if (*end == '?') {
        /* ssl-mode=REQUIRED&ssl-ca=... */
        const char *q = end + 1;
        while (*q) {
            size_t kl = strcspn(q, "=&");
            const char *v = q[kl] == '=' ? q + kl + 1 : q + kl;
            size_t vl = strcspn(v, "&");
            char key[32] = "";
            if (kl < sizeof key) { memcpy(key, q, kl); key[kl] = '\0'; }
            for (char *k = key; *k; k++) if (*k == '-') *k = '_';
            char *val = pct_decode(v, vl);
            for (char *c = val; c && *c && !strcmp(key, "ssl_mode"); c++) if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
            if (!strcmp(key, "ssl_mode")) { free(s->ssl_mode); s->ssl_mode = val; }
            else if (!strcmp(key, "ssl_ca")) { free(s->ssl_ca); s->ssl_ca = val; }
            else if (!strcmp(key, "ssl_cert")) { free(s->ssl_cert); s->ssl_cert = val; }
            else if (!strcmp(key, "ssl_key")) { free(s->ssl_key); s->ssl_key = val; }
            else { free(val); return nb_error_set(err, NB_ERR_CONFIG, "mysql: unknown url parameter '%.*s'", (int)kl, q); }
            q = v + vl;
            if (*q == '&') q++;
        }
    }
    return NB_OK;
}

static char *sdup(const char *s) { return s ? strdup(s) : NULL; }

nb_status my_settings_load(struct my_settings *s, const struct nb_cfg *cfg, struct nb_error *err)
{
    memset(s, 0, sizeof *s);
    nb_status st;
    s->user = sdup(nb_cfg_string(cfg, "user", NULL));
    s->password = sdup(nb_cfg_string(cfg, "password", NULL));
    s->database = sdup(nb_cfg_string(cfg, "database", NULL));
    s->ssl_mode = sdup(nb_cfg_string(cfg, "ssl_mode", "preferred"));
    s->ssl_ca = sdup(nb_cfg_string(cfg, "ssl_ca", NULL));
    s->ssl_cert = sdup(nb_cfg_string(cfg, "ssl_cert", NULL));
    s->ssl_key = sdup(nb_cfg_string(cfg, "ssl_key", NULL));
    const char *url = nb_cfg_string(cfg, "url", NULL);
    if (url && (st = parse_url(s, url, err)) != NB_OK) return st;
    const char *hl[MY_MAX_HOSTS];
    size_t nh = nb_cfg_strings(cfg, "hosts", hl, MY_MAX_HOSTS);
    unsigned dport = (unsigned)nb_cfg_int(cfg, "port", 3306);
    for (size_t i = 0; i < nh; i++)
        if ((st = add_host(s, hl[i], strlen(hl[i]), dport, err)) != NB_OK) return st;
    if (s->n_hosts == 0) {
        const char *h = nb_cfg_string(cfg, "host", "127.0.0.1");
        if ((st = add_host(s, h, strlen(h), dport, err)) != NB_OK) return st;
    }
    if (!s->user) return nb_error_set(err, NB_ERR_CONFIG, "mysql: `user` is required (or a url with user@host)");
    if (s->password && *s->password) nb_log_add_secret(s->password);
    s->tables = calloc(256, sizeof *s->tables);
    s->exclude = calloc(256, sizeof *s->exclude);
    if (!s->tables || !s->exclude) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    s->n_tables = nb_cfg_strings(cfg, "tables", s->tables, 256);
    s->n_exclude = nb_cfg_strings(cfg, "exclude", s->exclude, 256);
    if (s->n_tables == 0 && !s->database)
        return nb_error_set(err, NB_ERR_CONFIG, "mysql: give `database` or `tables` (patterns db.table) to choose what to read");
    const char *mode = nb_cfg_string(cfg, "mode", "full_refresh");
    s->mode = !strcmp(mode, "cdc") ? MY_CDC : !strcmp(mode, "incremental") ? MY_INCREMENTAL : MY_FULL_REFRESH;
    const char *snap = nb_cfg_string(cfg, "snapshot", "initial");
    s->snapshot = !strcmp(snap, "never") ? MY_SNAP_NEVER : !strcmp(snap, "when_needed") ? MY_SNAP_WHEN_NEEDED : MY_SNAP_INITIAL;
    s->cursor_field = sdup(nb_cfg_string(cfg, "cursor_field", NULL));
    if (s->mode == MY_INCREMENTAL && !s->cursor_field)
        return nb_error_set(err, NB_ERR_CONFIG, "mysql: mode incremental needs `cursor_field` (a column that grows, e.g. updated_at)");
    int64_t chunk = nb_cfg_int(cfg, "chunk_size", 50000);
    s->chunk_size = chunk > 0 ? (size_t)chunk : 50000;
    const struct nb_cfg *cdc = nb_cfg_child(cfg, "cdc");
    s->heartbeat_ms = 1000;
    if (cdc) {
        const char *until = nb_cfg_string(cdc, "until", NULL);
        if (until && strcmp(until, "now") != 0)
            return nb_error_set(err, NB_ERR_CONFIG, "mysql: cdc.until must be 'now' (or absent to stream forever)");
        s->until_now = until != NULL;
        s->heartbeat_ms = nb_cfg_duration_ms(cdc, "heartbeat", 1000);
        s->server_id = (uint32_t)nb_cfg_int(cdc, "server_id", 0);
    }
    if (s->heartbeat_ms == 0 || s->heartbeat_ms > 60000) s->heartbeat_ms = 1000;
    if (s->server_id == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s->server_id = 100000u + (uint32_t)((ts.tv_nsec ^ (unsigned)getpid() * 2654435761u) % 1000000000u);
    }
    s->connect_timeout_ms = 10000;
    s->read_timeout_ms = 30000;
    return NB_OK;
}

void my_settings_cleanup(struct my_settings *s)
{
    for (size_t i = 0; i < s->n_hosts; i++) free(s->hosts[i]);
    free(s->user); free(s->password); free(s->database);
    free(s->ssl_mode); free(s->ssl_ca); free(s->ssl_cert); free(s->ssl_key);
    free(s->cursor_field);
    free(s->tables);
    free(s->exclude);
    memset(s, 0, sizeof *s);
}

nb_status my_db_error(MYSQL *db, nb_status code, struct nb_error *err, const char *what)
{
    unsigned e = mysql_errno(db);
    if (e == 1045 || e == 1044 || e == 1142 || e == 1227 || e == 1370) code = NB_ERR_AUTH;
    if (e == 2002 || e == 2003 || e == 2006 || e == 2013 || e == 2055) code = NB_ERR_NET;
    nb_status s = nb_error_set(err, code, "mysql: %s: %s (error %u, SQL state %s)", what, mysql_error(db), e, mysql_sqlstate(db));
    if (err) nb_redact(err->message, sizeof err->message);
    if (err && code == NB_ERR_NET) err->retryable = true;
    return s;
}

nb_status my_query(MYSQL *db, const char *sql, struct nb_error *err)
{
    if (mysql_real_query(db, sql, strlen(sql)) != 0) {
        char what[200];
        snprintf(what, sizeof what, "query '%.150s' failed", sql);
        return my_db_error(db, NB_ERR_IO, err, what);
    }
    MYSQL_RES *r = mysql_store_result(db);
    if (r) mysql_free_result(r);
    return NB_OK;
}

nb_status my_query_value(MYSQL *db, const char *sql, char *out, size_t cap, bool *found, struct nb_error *err)
{
    *found = false;
    out[0] = '\0';
    if (mysql_real_query(db, sql, strlen(sql)) != 0) {
        char what[200];
        snprintf(what, sizeof what, "query '%.150s' failed", sql);
        return my_db_error(db, NB_ERR_IO, err, what);
    }
    MYSQL_RES *r = mysql_store_result(db);
    if (!r) return NB_OK;
    MYSQL_ROW row = mysql_fetch_row(r);
    unsigned long *len = row ? mysql_fetch_lengths(r) : NULL;
    if (row && row[0]) {
        size_t n = len[0] < cap - 1 ? len[0] : cap - 1;
        memcpy(out, row[0], n);
        out[n] = '\0';
        *found = true;
    }
    mysql_free_result(r);
    return NB_OK;
}

void my_quote_ident(struct nb_buf *b, const char *name)
{
    nb_buf_putc(b, '`');
    for (const char *p = name; *p; p++) {
        if (*p == '`') nb_buf_putc(b, '`');
        nb_buf_putc(b, *p);
    }
    nb_buf_putc(b, '`');
}

void my_quote_string(MYSQL *db, struct nb_buf *b, const char *s, size_t n)
{
    if (!nb_buf_reserve(b, 2 * n + 3)) return;
    b->data[b->len++] = '\'';
    b->len += mysql_real_escape_string(db, b->data + b->len, s, (unsigned long)n);
    b->data[b->len++] = '\'';
    b->data[b->len] = '\0';
}

static nb_status connect_one(struct my_src *src, size_t i, MYSQL **out, struct nb_error *err)
{
    struct my_settings *s = &src->set;
    MYSQL *db = mysql_init(NULL);
    if (!db && nb_mariadb_load_error()) return nb_error_set(err, NB_ERR_UNSUPPORTED, "mysql: %s", nb_mariadb_load_error());
    if (!db) return nb_error_set(err, NB_ERR_NOMEM, "mysql: out of memory");
    unsigned ct = (unsigned)((s->connect_timeout_ms + 999) / 1000), rt = (unsigned)((s->read_timeout_ms + 999) / 1000);
    mysql_optionsv(db, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_optionsv(db, MYSQL_OPT_READ_TIMEOUT, &rt);
    mysql_optionsv(db, MYSQL_OPT_WRITE_TIMEOUT, &rt);
    mysql_optionsv(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    bool enforce = false, verify = false;
    const char *m = s->ssl_mode ? s->ssl_mode : "preferred";
    if (strcmp(m, "disabled") != 0) {
        enforce = strcmp(m, "preferred") != 0;
        verify = !strcmp(m, "verify_ca") || !strcmp(m, "verify_identity");
        if (enforce || s->ssl_ca || s->ssl_cert) {
            mysql_ssl_set(db, s->ssl_key, s->ssl_cert, s->ssl_ca, NULL, NULL);
            mysql_optionsv(db, MYSQL_OPT_SSL_ENFORCE, &enforce);
            mysql_optionsv(db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
        }
    }
    if (!mysql_real_connect(db, s->hosts[i], s->user, s->password ? s->password : "", NULL, s->ports[i], NULL,
                            CLIENT_MULTI_RESULTS)) {
        char what[300];
        snprintf(what, sizeof what, "cannot connect to %s:%u as %s", s->hosts[i], s->ports[i], s->user);
        nb_status st = my_db_error(db, NB_ERR_NET, err, what);
        if (err && mysql_errno(db) == 1045) {
            size_t ml = strlen(err->message);
            snprintf(err->message + ml, sizeof err->message - ml,
                     "; check user and password (the account must exist for the client's host, e.g. '%s'@'127.0.0.1')", s->user);
        }
        mysql_close(db);
        return st;
    }
    *out = db;
    return NB_OK;
}

nb_status my_connect(struct my_src *src, MYSQL **out, struct nb_error *err)
{
    nb_status st = NB_ERR_NET;
    struct nb_error first;
    nb_error_clear(&first);
    for (size_t k = 0; k < src->set.n_hosts; k++) {
        size_t i = (src->host_index + k) % src->set.n_hosts;
        struct nb_error e;
        nb_error_clear(&e);
        st = connect_one(src, i, out, &e);
        if (st == NB_OK) {
            src->host_index = i;
            MYSQL *db = *out;
            snprintf(src->server_version, sizeof src->server_version, "%s", mysql_get_server_info(db));
            src->mariadb = strstr(src->server_version, "MariaDB") != NULL;
            if ((st = my_query(db, "SET time_zone='+00:00'", err)) != NB_OK) { mysql_close(db); *out = NULL; return st; }
            my_query(db, "SET SESSION sql_mode=''", NULL);
            return NB_OK;
        }
        if (st == NB_ERR_AUTH || st == NB_ERR_UNSUPPORTED) { if (err) *err = e; return st; }   /* every host would say the same */
        if (k == 0) first = e;
        if (src->set.n_hosts > 1) NB_WARN("mysql", "%s; trying the next host", e.message);
    }
    if (err) *err = first;
    return st;
}

/* ---- check ------------------------------------------------------------------------------- */
nb_status my_check(void *self, struct nb_error *err)
{
    struct my_src *src = self;
    MYSQL *db = src->db;
    char v[512];
    bool found;
    nb_status st;
    struct nb_buf problems;
    nb_buf_init(&problems);
    /* grants */
    bool repl_slave = false, repl_client = false, select_ok = false, reload = false;
    if (mysql_query(db, "SHOW GRANTS FOR CURRENT_USER()") == 0) {
        MYSQL_RES *r = mysql_store_result(db);
        MYSQL_ROW row;
        while (r && (row = mysql_fetch_row(r))) {
            const char *g = row[0] ? row[0] : "";
            if (strstr(g, "ALL PRIVILEGES ON *.*")) repl_slave = repl_client = select_ok = reload = true;
            if (strstr(g, "RELOAD")) reload = true;
            if (strstr(g, "REPLICATION SLAVE") || strstr(g, "REPLICATION REPLICA")) repl_slave = true;
            if (strstr(g, "REPLICATION CLIENT") || strstr(g, "BINLOG MONITOR")) repl_client = true;
            if (strstr(g, "SELECT")) select_ok = true;
        }
        if (r) mysql_free_result(r);
    }
    if (!select_ok) nb_buf_puts(&problems, "\n- missing SELECT: GRANT SELECT ON db.* TO the user");
    if (src->set.mode == MY_CDC) {
        if (!repl_slave) nb_buf_printf(&problems, "\n- missing REPLICATION SLAVE: GRANT REPLICATION SLAVE ON *.* TO '%s'@'<host>'", src->set.user);
        if (!repl_client) nb_buf_printf(&problems, "\n- missing REPLICATION CLIENT (MariaDB: BINLOG MONITOR): GRANT REPLICATION CLIENT ON *.* TO '%s'@'<host>'", src->set.user);
        /* the consistent snapshot's FLUSH TABLES WITH READ LOCK: always on MySQL, on MariaDB
         * only to read chunks of one table on several connections */
        if (!reload && !src->mariadb)
            nb_buf_printf(&problems, "\n- missing RELOAD (a consistent snapshot takes FLUSH TABLES WITH READ LOCK for a moment): "
                          "GRANT RELOAD ON *.* TO '%s'@'<host>'", src->set.user);
        else if (!reload)
            NB_WARN("mysql", "no RELOAD privilege: a cdc snapshot reads each table on one connection (GRANT RELOAD ON *.* "
                    "TO '%s'@'<host>' lets several connections read chunks of one table)", src->set.user);
        if ((st = my_query_value(db, "SELECT @@log_bin", v, sizeof v, &found, err)) != NB_OK) goto fail;
        if (strcmp(v, "1") != 0) nb_buf_puts(&problems, "\n- binary log is off: start the server with --log-bin");
        if ((st = my_query_value(db, "SELECT @@binlog_format", v, sizeof v, &found, err)) != NB_OK) goto fail;
        if (strcmp(v, "ROW") != 0) nb_buf_printf(&problems, "\n- binlog_format=%s: SET GLOBAL binlog_format=ROW (and in the server config)", v);
        if ((st = my_query_value(db, "SELECT @@binlog_row_image", v, sizeof v, &found, err)) != NB_OK) goto fail;
        if (strcasecmp(v, "FULL") != 0) nb_buf_printf(&problems, "\n- binlog_row_image=%s: SET GLOBAL binlog_row_image=FULL", v);
        if (my_query_value(db, "SELECT @@binlog_row_metadata", v, sizeof v, &found, NULL) == NB_OK && found &&
            strcasecmp(v, "FULL") != 0)
            NB_WARN("mysql", "binlog_row_metadata=%s: column names come from the connector's schema history; "
                    "SET GLOBAL binlog_row_metadata=FULL makes schema changes mid-stream exact", v);
        /* retention */
        char ret[64] = "";
        if (my_query_value(db, "SELECT @@binlog_expire_logs_seconds", ret, sizeof ret, &found, NULL) != NB_OK || !found)
            my_query_value(db, "SELECT @@expire_logs_days*86400", ret, sizeof ret, &found, NULL);
        double secs = atof(ret);
        if (secs > 0 && secs < 86400)
            nb_buf_printf(&problems, "\n- binlogs are kept only %.0f s: raise binlog_expire_logs_seconds (e.g. 604800) so a "
                          "stopped pipeline can resume", secs);
        else if (secs == 0)
            NB_INFO("mysql", "binlog retention: kept until purged by hand (no expiry)");
    }
    if (problems.len) {
        st = nb_error_set(err, src->set.mode == MY_CDC && (!repl_slave || !repl_client || !select_ok) ? NB_ERR_AUTH : NB_ERR_CONFIG,
                          "mysql: %s:%u is not ready:%s", src->set.hosts[src->host_index], src->set.ports[src->host_index],
                          problems.data);
        goto fail;
    }
    st = NB_OK;
fail:
    nb_buf_cleanup(&problems);
    return st;
}

/* ---- ops --------------------------------------------------------------------------------- */
static void src_close(void *self);

static nb_status src_open(void **self, const struct nb_context *ctx, struct nb_error *err)
{
    struct my_src *src = calloc(1, sizeof *src);
    if (!src) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    src->ctx = ctx;
    src->batch_size = ctx->options && ctx->options->batch_size ? ctx->options->batch_size : 10000;
    nb_status st = my_settings_load(&src->set, ctx->config, err);
    if (st != NB_OK) goto fail;
    if (ctx->options && ctx->options->connect_timeout_ms) src->set.connect_timeout_ms = ctx->options->connect_timeout_ms;
    if ((st = my_connect(src, &src->db, err)) != NB_OK) goto fail;
    if ((st = my_catalog_load(src, err)) != NB_OK) goto fail;
    *self = src;
    return NB_OK;
fail:
    src_close(src);
    return st;
}

static nb_status src_read(void *self, struct nb_batch **out, struct nb_error *err)
{
    struct my_src *src = self;
    *out = NULL;
    if (src->done) return NB_DONE;
    if (nb_context_cancelled(src->ctx)) return nb_error_set(err, NB_ERR_CANCELLED, "mysql: cancelled");
    nb_status st;
    if (!src->streaming) {
        st = my_snapshot_read(src, out, err);
        if (st != NB_DONE) return st;
        if (src->set.mode != MY_CDC) { src->done = true; return NB_DONE; }
        if ((st = my_stream_start(src, err)) != NB_OK) return st;
        src->streaming = true;
    }
    st = my_stream_read(src, out, err);
    if (st == NB_ERR_NOT_FOUND && src->position_lost && src->set.snapshot == MY_SNAP_WHEN_NEEDED && !src->force_snapshot) {
        /* snapshot: when_needed: the saved position is gone, so copy the tables again */
        NB_WARN("mysql", "%s; copying the tables again (snapshot: when_needed)", err ? err->message : "position lost");
        nb_error_clear(err);
        my_stream_stop(src);
        my_snapshot_stop(src);
        src->streaming = false;
        src->force_snapshot = true;
        src->snapshot_begun = false;
        src->position_lost = false;
        for (size_t i = 0; i < src->n_tables; i++) {
            struct my_tinfo *t = &src->tables[i];
            t->snapshot_needed = t->snapshot_done = t->has_saved = false;
            t->n_ranges = 0;
            nb_batch_destroy(t->pending);
            t->pending = NULL;
            t->committed_rows = 0;
        }
        return NB_AGAIN;
    }
    if (st == NB_DONE) src->done = true;
    return st;
}

static bool src_progress(void *self, uint64_t *done, uint64_t *total)
{
    struct my_src *src = self;
    *done = src->rows_done;
    *total = 0;
    return true;
}

static bool src_lag(void *self, double *seconds)
{
    struct my_src *src = self;
    return src->set.mode == MY_CDC && my_stream_lag(src, seconds);
}

static void src_close(void *self)
{
    struct my_src *src = self;
    if (!src) return;
    my_stream_stop(src);
    my_snapshot_stop(src);
    my_tables_free(src);
    if (src->db) mysql_close(src->db);
    my_settings_cleanup(&src->set);
    free(src);
}

static const struct nb_source_ops mysql_source = {
    .spec = mysql_spec,
    .open = src_open,
    .check = my_check,
    .discover = my_discover,
    .read = src_read,
    .ack = NULL,
    .progress = src_progress,
    .lag = src_lag,
    .close = src_close,
};

const struct nb_connector_ops nb_connector_mysql = {
    .name = "mysql",
    .description = "MySQL 5.7/8.x and MariaDB 10.x: full refresh, incremental, CDC from the binlog",
    .kinds = NB_SOURCE,
    .source_caps = NB_CAP_FULL_REFRESH | NB_CAP_INCREMENTAL | NB_CAP_CDC | NB_CAP_RESUME | NB_CAP_SCHEMA_EVOLUTION,
    .source = &mysql_source,
};
