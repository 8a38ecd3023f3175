/* The remote AWS credential providers against an in-process server playing STS
 * (AssumeRoleWithWebIdentity), the ECS container endpoint and EC2 instance metadata (IMDSv2),
 * reached through the standard environment overrides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <microhttpd.h>

#include "net/aws_creds.h"

static char base[128];
static char seen_token[256];
static bool imds_token_required = true;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls; (void)version; (void)upload;
    static int marker;
    if (!*con_cls) { *con_cls = &marker; return MHD_YES; }
    if (*upload_size) { *upload_size = 0; return MHD_YES; }
    if (strcmp(url, "/") == 0) {   /* STS */
        const char *action = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "Action");
        const char *tok = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "WebIdentityToken");
        const char *role = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "RoleArn");
        snprintf(seen_token, sizeof seen_token, "%s", tok ? tok : "");
        if (!action || strcmp(action, "AssumeRoleWithWebIdentity") != 0 || !role || strcmp(role, "arn:aws:iam::1:role/r") != 0)
            return reply(c, 400, "<ErrorResponse><Error><Code>InvalidParameterValue</Code></Error></ErrorResponse>");
        return reply(c, 200, "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
                             "<SessionToken>STS-TOKEN</SessionToken><SecretAccessKey>sts-secret</SecretAccessKey>"
                             "<Expiration>2030-01-01T00:00:00Z</Expiration><AccessKeyId>ASIASTS</AccessKeyId>"
                             "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>");
    }
    if (strcmp(url, "/ecs/creds") == 0) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        if (!auth || strcmp(auth, "ecs-auth") != 0) return reply(c, 401, "no");
        return reply(c, 200, "{\"AccessKeyId\":\"ASIAECS\",\"SecretAccessKey\":\"ecs-secret\",\"Token\":\"ECS-TOKEN\","
                             "\"Expiration\":\"2030-01-01T00:00:00Z\"}");
    }
    if (strcmp(url, "/latest/api/token") == 0 && strcmp(method, "PUT") == 0) return reply(c, 200, "IMDS-SESSION");
    const char *t = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-aws-ec2-metadata-token");
    if (imds_token_required && (!t || strcmp(t, "IMDS-SESSION") != 0)) return reply(c, 401, "");
    if (strcmp(url, "/latest/meta-data/iam/security-credentials/") == 0) return reply(c, 200, "my-role\n");
    if (strcmp(url, "/latest/meta-data/iam/security-credentials/my-role") == 0)
        return reply(c, 200, "{\"Code\":\"Success\",\"AccessKeyId\":\"ASIAEC2\",\"SecretAccessKey\":\"ec2-secret\",\"Token\":\"EC2-TOKEN\"}");
    return reply(c, 404, "");
}

static struct MHD_Daemon *d;

static int setup(void **state)
{
    (void)state;
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, NULL, MHD_OPTION_END);
    if (!d) return -1;
    snprintf(base, sizeof base, "http://127.0.0.1:%u", (unsigned)MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
    const char *vars[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ROLE_ARN",
                          "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) unsetenv(vars[i]);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(d);
    return 0;
}

static void test_web_identity(void **state)
{
    (void)state;
    char tf[] = "/tmp/nb-wit-XXXXXX";
    int fd = mkstemp(tf);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "eyJ.tok.en\n", 11), 11);
    close(fd);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/r", 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tf, 1);
    setenv("AWS_ENDPOINT_URL_STS", base, 1);
    struct nb_aws_creds c;
    char src[256];
    assert_int_equal(nb_aws_creds_resolve(NULL, NULL, NULL, NULL, &c, src, sizeof src, NULL), NB_OK);
    assert_string_equal(c.access_key_id, "ASIASTS");
    assert_string_equal(c.secret_access_key, "sts-secret");
    assert_string_equal(c.session_token, "STS-TOKEN");
    assert_string_equal(seen_token, "eyJ.tok.en");   /* trailing newline stripped */
    assert_non_null(strstr(src, "web identity"));
    nb_aws_creds_cleanup(&c);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/other", 1);
    struct nb_error e;
    assert_int_equal(nb_aws_creds_resolve(NULL, NULL, NULL, NULL, &c, src, sizeof src, &e), NB_ERR_AUTH);
    assert_non_null(strstr(e.message, "InvalidParameterValue"));
    unsetenv("AWS_ROLE_ARN");
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    unlink(tf);
}

static void test_ecs(void **state)
{
    (void)state;
    char url[256];
    snprintf(url, sizeof url, "%s/ecs/creds", base);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-auth", 1);
    struct nb_aws_creds c;
    char src[256];
    assert_int_equal(nb_aws_creds_resolve(NULL, NULL, NULL, NULL, &c, src, sizeof src, NULL), NB_OK);
    assert_string_equal(c.access_key_id, "ASIAECS");
    assert_string_equal(c.session_token, "ECS-TOKEN");
    nb_aws_creds_cleanup(&c);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
    struct nb_error e;
    assert_int_equal(nb_aws_creds_resolve(NULL, NULL, NULL, NULL, &c, src, sizeof src, &e), NB_ERR_AUTH);
    assert_non_null(strstr(e.message, "HTTP 401"));
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
}

static void test_ec2_imdsv2(void **state)
{
    (void)state;
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", base, 1);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    struct nb_aws_creds c;
    char src[256];
    assert_int_equal(nb_aws_creds_resolve(NULL, NULL, NULL, NULL, &c, src, sizeof src, NULL), NB_OK);
    assert_string_equal(c.access_key_id, "ASIAEC2");
    assert_string_equal(c.secret_access_key, "ec2-secret");
    assert_string_equal(c.session_token, "EC2-TOKEN");
    assert_string_equal(src, "EC2 instance metadata");
    nb_aws_creds_cleanup(&c);
    /* Disabled: the chain ends with a message listing what it tried. */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    struct nb_error e;
    assert_int_equal(nb_aws_creds_resolve(NULL, NULL, NULL, NULL, &c, src, sizeof src, &e), NB_ERR_AUTH);
    assert_non_null(strstr(e.message, "EC2 instance metadata"));
    unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_web_identity),
        cmocka_unit_test(test_ecs),
        cmocka_unit_test(test_ec2_imdsv2),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
