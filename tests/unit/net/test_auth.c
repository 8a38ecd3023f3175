/* Auth helpers: the Google service-account JWT (RS256, verified here with the public half of a key
 * generated for the test), base64url (RFC 4648 §10 vectors), and the AWS credential chain
 * (config, environment, shared credentials file with profiles). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "net/aws_creds.h"
#include "net/google_auth.h"

static void test_base64url(void **state)
{
    (void)state;
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *want[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        struct nb_buf b;
        nb_buf_init(&b);
        nb_base64url(&b, in[i], strlen(in[i]));
        assert_string_equal(b.data ? b.data : "", want[i]);
        nb_buf_cleanup(&b);
    }
    struct nb_buf b;
    nb_buf_init(&b);
    unsigned char x[3] = {0xfb, 0xff, 0xfe};
    nb_base64url(&b, x, 3);
    assert_string_equal(b.data, "-__-");   /* url-safe alphabet */
    nb_buf_cleanup(&b);
}

static size_t unb64url(const char *s, size_t n, unsigned char *out)
{
    static const char tb[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = strchr(tb, s[i]);
        assert_non_null(p);
        acc = acc << 6 | (uint32_t)(p - tb);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return o;
}

static void test_jwt_rs256(void **state)
{
    (void)state;
    EVP_PKEY *key = EVP_RSA_gen(2048);
    assert_non_null(key);
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
    char *pem = NULL;
    long len = BIO_get_mem_data(bio, &pem);
    /* BIO memory is not NUL-terminated: copy exactly len bytes (strndup may read past them). */
    char *pemz = malloc((size_t)len + 1);
    assert_non_null(pemz);
    memcpy(pemz, pem, (size_t)len);
    pemz[len] = '\0';
    struct nb_buf jwt;
    nb_buf_init(&jwt);
    assert_int_equal(nb_google_jwt(pemz, "kid1", "sa@p.iam.gserviceaccount.com", "scope1", "https://oauth2.example/token",
                                   1700000000, &jwt, NULL), NB_OK);
    char *d1 = strchr(jwt.data, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    assert_non_null(d2);
    unsigned char hdr[256], claims[512], sig[512];
    size_t hl = unb64url(jwt.data, (size_t)(d1 - jwt.data), hdr);
    hdr[hl] = 0;
    assert_string_equal((char *)hdr, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"kid1\"}");
    size_t cl = unb64url(d1 + 1, (size_t)(d2 - d1 - 1), claims);
    claims[cl] = 0;
    assert_string_equal((char *)claims, "{\"iss\":\"sa@p.iam.gserviceaccount.com\",\"scope\":\"scope1\","
                                        "\"aud\":\"https://oauth2.example/token\",\"iat\":1700000000,\"exp\":1700003600}");
    size_t sl = unb64url(d2 + 1, strlen(d2 + 1), sig);
    assert_int_equal(sl, 256);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestVerify(md, sig, sl, (unsigned char *)jwt.data, (size_t)(d2 - jwt.data)), 1);
    /* A changed claim no longer verifies. */
    jwt.data[(d1 - jwt.data) + 3] ^= 1;
    assert_int_not_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 0);
    assert_int_not_equal(EVP_DigestVerify(md, sig, sl, (unsigned char *)jwt.data, (size_t)(d2 - jwt.data)), 1);
    EVP_MD_CTX_free(md);
    /* A bad key is an error, not a crash. */
    struct nb_error e;
    struct nb_buf j2;
    nb_buf_init(&j2);
    assert_int_equal(nb_google_jwt("not a key", NULL, "a", "s", "u", 1, &j2, &e), NB_ERR_AUTH);
    assert_null(strstr(e.message, "not a key"));
    nb_buf_cleanup(&j2);
    nb_buf_cleanup(&jwt);
    free(pemz);
    BIO_free(bio);
    EVP_PKEY_free(key);
}

static void test_aws_chain(void **state)
{
    (void)state;
    char dir[] = "/tmp/nb-aws-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/credentials", dir);
    FILE *f = fopen(path, "w");
    fputs("# comment\n[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = secretdefault\n\n"
          "[prod]\naws_access_key_id=AKPROD\n aws_secret_access_key = secretprod \naws_session_token = tok\n", f);
    fclose(f);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_ROLE_ARN");
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    struct nb_aws_creds c;
    char src[512];
    /* Explicit config wins. */
    assert_int_equal(nb_aws_creds_resolve("AKCFG", "secretcfg", NULL, NULL, &c, src, sizeof src, NULL), NB_OK);
    assert_string_equal(c.access_key_id, "AKCFG");
    assert_null(c.session_token);
    assert_string_equal(src, "config");
    nb_aws_creds_cleanup(&c);
    /* Then the file's default profile. */
    assert_int_equal(nb_aws_creds_resolve(NULL, NULL, NULL, NULL, &c, src, sizeof src, NULL), NB_OK);
    assert_string_equal(c.access_key_id, "AKDEFAULT");
    assert_string_equal(c.secret_access_key, "secretdefault");
    nb_aws_creds_cleanup(&c);
    /* A named profile, with a session token. */
    setenv("AWS_PROFILE", "prod", 1);
    assert_int_equal(nb_aws_creds_resolve("", NULL, NULL, NULL, &c, src, sizeof src, NULL), NB_OK);
    assert_string_equal(c.access_key_id, "AKPROD");
    assert_string_equal(c.secret_access_key, "secretprod");
    assert_string_equal(c.session_token, "tok");
    assert_non_null(strstr(src, "[prod]"));
    nb_aws_creds_cleanup(&c);
    /* The environment comes before the file. */
    setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
    assert_int_equal(nb_aws_creds_resolve(NULL, NULL, NULL, NULL, &c, src, sizeof src, NULL), NB_OK);
    assert_string_equal(c.access_key_id, "AKENV");
    nb_aws_creds_cleanup(&c);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    /* Nothing found: the message says what was tried, without any secret. */
    setenv("AWS_PROFILE", "missing", 1);
    struct nb_error e;
    assert_int_equal(nb_aws_creds_resolve(NULL, NULL, NULL, NULL, &c, src, sizeof src, &e), NB_ERR_AUTH);
    assert_non_null(strstr(e.message, "AWS_ACCESS_KEY_ID"));
    assert_non_null(strstr(e.message, "'missing'"));
    assert_null(strstr(e.message, "secret"));
    /* Half a pair in the config is a config error. */
    assert_int_equal(nb_aws_creds_resolve("AK", NULL, NULL, NULL, &c, src, sizeof src, &e), NB_ERR_CONFIG);
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64url),
        cmocka_unit_test(test_jwt_rs256),
        cmocka_unit_test(test_aws_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
