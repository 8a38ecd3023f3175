/* GCS request helpers shared by the destination and the source. */
#include "connectors/gcs/gcs_http.h"

#include "core/arena.h"
#include "core/json.h"
#include "core/log.h"

nb_status nb_gcs_add_auth(void *auth, const struct nb_http_request *req, struct nb_buf *headers, struct nb_error *err)
{
    (void)req;
    nb_status st = nb_google_auth_header(auth, headers, err);
    if (st == NB_OK) nb_buf_putc(headers, '\n');
    return st;
}

nb_status nb_gcs_send(struct nb_http_client *http, struct nb_google_auth *auth, const struct nb_http_request *req,
                      struct nb_http_response *r, struct nb_error *err)
{
    size_t sink_len = req->sink ? req->sink->len : 0;
    nb_status st = nb_http_send(http, req, r, err);
    if (st == NB_OK && r->status == 401) {
        NB_DEBUG("gcs", "HTTP 401: refreshing the access token and trying once more");
        nb_google_auth_invalidate(auth);
        if (req->sink) req->sink->len = sink_len;   /* drop the error body the 401 left there */
        nb_http_response_cleanup(r);
        nb_http_response_init(r);
        st = nb_http_send(http, req, r, err);
    }
    return st;
}

nb_status nb_gcs_error(const char *what, const char *bucket, const char *key, const struct nb_http_response *r,
                       const char *auth_hint, const char *precondition_hint, struct nb_error *err)
{
    struct nb_arena ar;
    nb_arena_init(&ar, 4096);
    struct nb_json *j = NULL;
    const char *msg = NULL;
    if (r->body.data && nb_json_parse(r->body.data, r->body.len, &ar, &j, NULL) == NB_OK) {
        const struct nb_json *e = nb_json_get(j, "error");
        msg = e ? nb_json_get_string(e, "message") : NULL;
    }
    bool auth = r->status == 401 || r->status == 403, transient = r->status >= 500 || r->status == 429;
    nb_status st = auth                 ? NB_ERR_AUTH
                   : r->status == 404   ? NB_ERR_NOT_FOUND
                   : r->status == 412   ? NB_ERR_INVALID
                   : transient          ? NB_ERR_NET
                                        : NB_ERR_PROTOCOL;
    const char *hint = auth && auth_hint ? auth_hint : r->status == 412 && precondition_hint ? precondition_hint : "";
    nb_error_set(err, st, "gcs %s gs://%s/%s: HTTP %ld%s%s%s", what, bucket, key, r->status, msg ? ": " : "",
                 msg ? msg : "", hint);
    if (err && transient) err->retryable = true;
    nb_arena_cleanup(&ar);
    return st;
}
