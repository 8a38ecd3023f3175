/* SigV4 against the worked examples in AWS's S3 documentation ("Signature Calculations for the
 * Authorization Header: Transferring Payload in a Single Chunk" and "Authenticating Requests: Using
 * Query Parameters"), which all use the example key pair below and 20130524T000000Z. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "net/http.h"
#include "net/sigv4.h"

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static struct nb_aws_creds example_creds(void)
{
    struct nb_aws_creds c = {(char *)"AKIAIOSFODNN7EXAMPLE", (char *)"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL};
    return c;
}

static void sign_expect(const struct nb_sigv4_request *r, const char *want_sig, const char *want_signed)
{
    struct nb_aws_creds c = example_creds();
    struct nb_buf auth;
    nb_buf_init(&auth);
    char sig[65];
    assert_int_equal(nb_sigv4_sign(r, &c, &auth, sig, NULL), NB_OK);
    assert_string_equal(sig, want_sig);
    char want[512];
    snprintf(want, sizeof want,
             "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=%s, Signature=%s",
             want_signed, want_sig);
    assert_string_equal(auth.data, want);
    nb_buf_cleanup(&auth);
}

static void test_get_object(void **state)
{
    (void)state;
    struct nb_sigv4_header h[] = {
        {"Host", "examplebucket.s3.amazonaws.com"},
        {"Range", "bytes=0-9"},
        {"x-amz-content-sha256", EMPTY_SHA},
        {"x-amz-date", "20130524T000000Z"},
    };
    struct nb_sigv4_request r = {"GET", "/test.txt", NULL, h, 4, EMPTY_SHA, "us-east-1", "s3", "20130524T000000Z"};
    struct nb_buf canon;
    nb_buf_init(&canon);
    assert_int_equal(nb_sigv4_canonical(&r, &canon, NULL), NB_OK);
    assert_string_equal(canon.data, "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
                                    "x-amz-content-sha256:" EMPTY_SHA "\nx-amz-date:20130524T000000Z\n\n"
                                    "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA);
    nb_buf_cleanup(&canon);
    sign_expect(&r, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
                "host;range;x-amz-content-sha256;x-amz-date");
}

static void test_put_object(void **state)
{
    (void)state;
    const char *body = "Welcome to Amazon S3.";
    char hash[65];
    nb_sha256_hex(body, strlen(body), hash);
    assert_string_equal(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    struct nb_sigv4_header h[] = {
        {"Host", "examplebucket.s3.amazonaws.com"},
        {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
        {"x-amz-date", "20130524T000000Z"},
        {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
        {"x-amz-content-sha256", hash},
    };
    struct nb_sigv4_request r = {"PUT", "/test%24file.text", NULL, h, 5, hash, "us-east-1", "s3", "20130524T000000Z"};
    sign_expect(&r, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
                "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
}

static void test_get_lifecycle(void **state)
{
    (void)state;
    struct nb_sigv4_header h[] = {
        {"x-amz-date", "20130524T000000Z"},
        {"Host", "examplebucket.s3.amazonaws.com"},
        {"x-amz-content-sha256", EMPTY_SHA},
    };
    struct nb_sigv4_request r = {"GET", "/", "lifecycle", h, 3, EMPTY_SHA, "us-east-1", "s3", "20130524T000000Z"};
    sign_expect(&r, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
                "host;x-amz-content-sha256;x-amz-date");
}

static void test_list_objects_sorted_query(void **state)
{
    (void)state;
    struct nb_sigv4_header h[] = {
        {"Host", "examplebucket.s3.amazonaws.com"},
        {"x-amz-content-sha256", EMPTY_SHA},
        {"x-amz-date", "20130524T000000Z"},
    };
    /* Given unsorted: the canonical query sorts it (max-keys before prefix). */
    struct nb_sigv4_request r = {"GET", "/", "prefix=J&max-keys=2", h, 3, EMPTY_SHA, "us-east-1", "s3", "20130524T000000Z"};
    sign_expect(&r, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
                "host;x-amz-content-sha256;x-amz-date");
}

static void test_presign(void **state)
{
    (void)state;
    struct nb_sigv4_header h[] = {{"Host", "examplebucket.s3.amazonaws.com"}};
    struct nb_sigv4_request r = {"GET", "/test.txt", NULL, h, 1, "UNSIGNED-PAYLOAD", "us-east-1", "s3", "20130524T000000Z"};
    struct nb_aws_creds c = example_creds();
    struct nb_buf q;
    nb_buf_init(&q);
    assert_int_equal(nb_sigv4_presign(&r, &c, 86400, &q, NULL), NB_OK);
    assert_string_equal(q.data, "X-Amz-Algorithm=AWS4-HMAC-SHA256"
                                "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                                "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                                "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    nb_buf_cleanup(&q);
}

static void test_session_token_is_signed(void **state)
{
    (void)state;
    /* With temporary credentials x-amz-security-token is one of the signed headers: a different
     * token must give a different signature. */
    struct nb_sigv4_header h[] = {
        {"host", "b.s3.amazonaws.com"}, {"x-amz-date", "20130524T000000Z"},
        {"x-amz-content-sha256", EMPTY_SHA}, {"x-amz-security-token", "TOKEN1"},
    };
    struct nb_sigv4_request r = {"GET", "/k", NULL, h, 4, EMPTY_SHA, "us-east-1", "s3", "20130524T000000Z"};
    struct nb_aws_creds c = example_creds();
    c.session_token = (char *)"TOKEN1";
    struct nb_buf a1, a2;
    nb_buf_init(&a1);
    nb_buf_init(&a2);
    char s1[65], s2[65];
    assert_int_equal(nb_sigv4_sign(&r, &c, &a1, s1, NULL), NB_OK);
    h[3].value = "TOKEN2";
    assert_int_equal(nb_sigv4_sign(&r, &c, &a2, s2, NULL), NB_OK);
    assert_string_not_equal(s1, s2);
    assert_non_null(strstr(a1.data, "x-amz-security-token"));
    /* The secret never appears in what we produce. */
    assert_null(strstr(a1.data, "wJalrXUtnFEMI"));
    nb_buf_cleanup(&a1);
    nb_buf_cleanup(&a2);
}

static void test_header_value_trimming(void **state)
{
    (void)state;
    struct nb_sigv4_header h[] = {{"My-Header1", "  a   b   c  "}, {"host", "x"}};
    struct nb_sigv4_request r = {"GET", "", NULL, h, 2, "UNSIGNED-PAYLOAD", "r", "s3", "20130524T000000Z"};
    struct nb_buf canon;
    nb_buf_init(&canon);
    assert_int_equal(nb_sigv4_canonical(&r, &canon, NULL), NB_OK);
    assert_string_equal(canon.data, "GET\n/\n\nhost:x\nmy-header1:a b c\n\nhost;my-header1\nUNSIGNED-PAYLOAD");
    nb_buf_cleanup(&canon);
}

static void test_missing_credentials(void **state)
{
    (void)state;
    struct nb_sigv4_request r = {"GET", "/", NULL, NULL, 0, EMPTY_SHA, "us-east-1", "s3", "20130524T000000Z"};
    struct nb_aws_creds c = {0};
    struct nb_buf a;
    nb_buf_init(&a);
    struct nb_error e;
    assert_int_equal(nb_sigv4_sign(&r, &c, &a, NULL, &e), NB_ERR_AUTH);
    nb_buf_cleanup(&a);
}

static void test_uri_encode_and_redact(void **state)
{
    (void)state;
    struct nb_buf b;
    nb_buf_init(&b);
    nb_uri_encode(&b, "a b/c$d~e", 9, true);
    assert_string_equal(b.data, "a%20b/c%24d~e");
    nb_buf_reset(&b);
    nb_uri_encode(&b, "a/b", 3, false);
    assert_string_equal(b.data, "a%2Fb");
    nb_buf_cleanup(&b);
    char out[256];
    nb_http_redact_url("http://h/k?X-Amz-Credential=AK%2F1&partNumber=2&X-Amz-Signature=abc&X-Amz-Security-Token=t",
                       out, sizeof out);
    assert_string_equal(out, "http://h/k?X-Amz-Credential=***&partNumber=2&X-Amz-Signature=***&X-Amz-Security-Token=***");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_object),          cmocka_unit_test(test_put_object),
        cmocka_unit_test(test_get_lifecycle),       cmocka_unit_test(test_list_objects_sorted_query),
        cmocka_unit_test(test_presign),             cmocka_unit_test(test_session_token_is_signed),
        cmocka_unit_test(test_header_value_trimming), cmocka_unit_test(test_missing_credentials),
        cmocka_unit_test(test_uri_encode_and_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
