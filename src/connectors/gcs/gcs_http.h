/* What the GCS destination and source share on the wire: the bearer-token header, the refresh of
 * the token on a 401, and the reading of GCS JSON error bodies into one error message. */
#ifndef NB_CONNECTORS_GCS_HTTP_H
#define NB_CONNECTORS_GCS_HTTP_H

#include "net/google_auth.h"
#include "net/http.h"

/* nb_http_request.sign callback; ctx is the struct nb_google_auth *. */
nb_status nb_gcs_add_auth(void *auth, const struct nb_http_request *req, struct nb_buf *headers, struct nb_error *err);

/* nb_http_send, and on a 401 (a token revoked or expired early) one new token and one more try. */
nb_status nb_gcs_send(struct nb_http_client *http, struct nb_google_auth *auth, const struct nb_http_request *req,
                      struct nb_http_response *r, struct nb_error *err);

/* "gcs <what> gs://bucket/key: HTTP <status>: <GCS message><hint>". 401/403 add auth_hint, 412 adds
 * precondition_hint (either may be NULL); 5xx and 429 are marked retryable. Returns the status. */
nb_status nb_gcs_error(const char *what, const char *bucket, const char *key, const struct nb_http_response *r,
                       const char *auth_hint, const char *precondition_hint, struct nb_error *err);

#endif
