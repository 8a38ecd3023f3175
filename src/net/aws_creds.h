/* The AWS credential chain, in the standard order: explicit keys (config) -> environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) -> shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE or "default") -> web
 * identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, STS AssumeRoleWithWebIdentity at
 * AWS_ENDPOINT_URL_STS or sts.amazonaws.com) -> ECS container credentials
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN) -> EC2
 * instance metadata (IMDSv2; AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_DISABLED=true skips
 * it). A chain that finds nothing says which sources it tried. Secrets found are registered with
 * nb_log_add_secret. Temporary credentials are fetched once per run (no refresh before expiry yet). */
#ifndef NB_NET_AWS_CREDS_H
#define NB_NET_AWS_CREDS_H

#include "core/error.h"
#include "net/sigv4.h"

/* access_key_id/secret_access_key/session_token may be NULL or "" (then the chain is walked);
 * profile NULL = AWS_PROFILE or "default". *source says where they came from ("config", "env",
 * "shared credentials file ~/.aws/credentials [profile]"), for messages (never the values). */
nb_status nb_aws_creds_resolve(const char *access_key_id, const char *secret_access_key, const char *session_token,
                               const char *profile, struct nb_aws_creds *out, char *source, size_t source_cap,
                               struct nb_error *err);

#endif
