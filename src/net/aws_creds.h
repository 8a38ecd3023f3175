/* The AWS credential chain, in the standard order: explicit keys (config) -> environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) -> shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE or "default") ->
 * credential_process of that profile in the config file (AWS_CONFIG_FILE or ~/.aws/config; how SSO
 * helpers hand out short-lived keys) -> web
 * identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, STS AssumeRoleWithWebIdentity at
 * AWS_ENDPOINT_URL_STS or sts.amazonaws.com) -> ECS container credentials
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN) -> EC2
 * instance metadata (IMDSv2; AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_DISABLED=true skips
 * it). A chain that finds nothing says which sources it tried. Secrets found are registered with
 * nb_log_add_secret. Temporary credentials (credential_process, web identity, ECS, EC2) carry an expiry: the provider
 * below refreshes them a few minutes before it, for long runs. */
#ifndef NB_NET_AWS_CREDS_H
#define NB_NET_AWS_CREDS_H

#include <stdint.h>

#include "core/error.h"
#include "net/sigv4.h"

/* access_key_id/secret_access_key/session_token may be NULL or "" (then the chain is walked);
 * profile NULL = AWS_PROFILE or "default". *source says where they came from ("config", "env",
 * "shared credentials file ~/.aws/credentials [profile]"), for messages (never the values). */
nb_status nb_aws_creds_resolve(const char *access_key_id, const char *secret_access_key, const char *session_token,
                               const char *profile, struct nb_aws_creds *out, char *source, size_t source_cap,
                               struct nb_error *err);

/* A thread-safe source of credentials for a whole run: resolves the chain once, and when the
 * credentials are temporary, walks it again NB_AWS_REFRESH_MARGIN_S before they expire (one thread
 * refreshes, concurrent callers wait and share the result; a failed refresh keeps the current
 * keys while they are still valid). */
#define NB_AWS_REFRESH_MARGIN_S 300
struct nb_aws_creds_provider;
nb_status nb_aws_creds_provider_create(const char *access_key_id, const char *secret_access_key,
                                       const char *session_token, const char *profile,
                                       struct nb_aws_creds_provider **out, char *source, size_t source_cap,
                                       struct nb_error *err);
void nb_aws_creds_provider_destroy(struct nb_aws_creds_provider *p);   /* accepts NULL */
/* The current credentials, copied into *out (release with nb_aws_creds_cleanup). */
nb_status nb_aws_creds_provider_get(struct nb_aws_creds_provider *p, struct nb_aws_creds *out, struct nb_error *err);
/* Tests: a fake clock (seconds since the epoch) and the refresh margin. */
void nb_aws_creds_provider_set_clock(struct nb_aws_creds_provider *p, int64_t (*now)(void *ctx), void *ctx,
                                     unsigned margin_s);
int64_t nb_aws_creds_provider_expires(const struct nb_aws_creds_provider *p);   /* 0 = static */
unsigned nb_aws_creds_provider_refreshes(const struct nb_aws_creds_provider *p);
/* "2026-11-27T01:00:00Z" -> seconds since the epoch (0 if not understood). */
int64_t nb_aws_parse_expiration(const char *s);

#endif
