/* Google OAuth2 access tokens for GCS/BigQuery/Ads: a service-account JSON key (an RS256 JWT signed
 * with OpenSSL, exchanged at the key's token_uri with the jwt-bearer grant), an authorized-user
 * file (refresh-token grant), or the metadata server (GCE/GKE). Tokens are cached and refreshed
 * a minute before they expire. Thread-safe. Keys and tokens never reach logs or errors. */
#ifndef NB_NET_GOOGLE_AUTH_H
#define NB_NET_GOOGLE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "net/http.h"

struct nb_google_auth;
/* credentials_file NULL/"": GOOGLE_APPLICATION_CREDENTIALS, else the metadata server
 * (GCE_METADATA_HOST or metadata.google.internal). scope e.g.
 * "https://www.googleapis.com/auth/devstorage.read_write". http is borrowed. */
nb_status nb_google_auth_create(const char *credentials_file, const char *scope, struct nb_http_client *http,
                                struct nb_google_auth **out, struct nb_error *err);
void nb_google_auth_destroy(struct nb_google_auth *a);
/* "Authorization: Bearer <token>" into out (a cached token while it has more than 60 s left). */
nb_status nb_google_auth_header(struct nb_google_auth *a, struct nb_buf *out, struct nb_error *err);
/* Drop the cached token (after a 401). */
void nb_google_auth_invalidate(struct nb_google_auth *a);

/* The signed JWT for a service account (exposed for tests): header.claims.signature, base64url. */
nb_status nb_google_jwt(const char *private_key_pem, const char *key_id, const char *client_email, const char *scope,
                        const char *audience, int64_t now_s, struct nb_buf *out, struct nb_error *err);
void nb_base64url(struct nb_buf *out, const void *p, size_t n);

#endif
