/* net/crypto_lib.c: libcrypto is mapped only at its first use (not at start, not by wiping a
 * secret), its stubs then give real digests, and a libcrypto.so.3 that cannot be loaded gives
 * nebula's own message naming it and the Debian package (from SigV4 signing and from the Google JWT)
 * instead of a crash. That last part runs in a child started with an empty libcrypto.so.3 first on
 * LD_LIBRARY_PATH: the dynamic loader reads the variable only when a process starts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/crypto_lib.h"
#include "net/google_auth.h"
#include "net/sigv4.h"
#include "broken_lib.h"

static const char *broken_dir;   /* set in the child */

static bool libcrypto_mapped(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) found = strstr(line, "/libcrypto.so") != NULL;
    fclose(f);
    return found;
}

static struct nb_sigv4_request example_request(void)
{
    static const struct nb_sigv4_header h[] = {{"host", "examplebucket.s3.amazonaws.com"}, {"x-amz-date", "20130524T000000Z"}};
    struct nb_sigv4_request r = {"GET", "/test.txt", NULL, h, 2, "UNSIGNED-PAYLOAD", "us-east-1", "s3", "20130524T000000Z"};
    return r;
}

/* First in the run: nothing has used libcrypto yet. */
static void loaded_at_first_use_only(void **state)
{
    (void)state;
    assert_false(libcrypto_mapped());
    struct nb_aws_creds c = {strdup("AKIDEXAMPLE"), strdup("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), NULL};
    assert_non_null(c.secret_access_key);
    nb_aws_creds_cleanup(&c);   /* wipes the secret: nb_secure_zero, not OPENSSL_cleanse */
    assert_null(c.secret_access_key);
    assert_false(libcrypto_mapped());

    char hex[65];
    nb_sha256_hex("abc", 3, hex);   /* FIPS 180-2's example */
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_true(libcrypto_mapped());
    assert_int_equal(nb_crypto_require("sigv4", NULL), NB_OK);
    assert_non_null(EVP_sha256());
}

static void broken_library_is_a_clear_error(void **state)
{
    (void)state;
    run_child_with_broken_lib("libcrypto.so.3", "test_crypto_lib", "--broken-crypto");
}

/* ---- in the child, where libcrypto.so.3 cannot be loaded ---- */

static void child_require_names_library_and_package(void **state)
{
    (void)state;
    struct nb_error err = {0};
    assert_int_equal(nb_crypto_require("sigv4", &err), NB_ERR_UNSUPPORTED);
    char want[512];
    snprintf(want, sizeof want,
             "sigv4: cannot load libcrypto.so.3 (%s/libcrypto.so.3: file too short); install the Debian package libssl3",
             broken_dir);
    assert_string_equal(err.message, want);
}

static void child_signing_fails_cleanly(void **state)
{
    (void)state;
    struct nb_sigv4_request r = example_request();
    struct nb_aws_creds c = {(char *)"AKIDEXAMPLE", (char *)"secret", NULL};
    struct nb_buf auth;
    nb_buf_init(&auth);
    struct nb_error err = {0};
    assert_int_equal(nb_sigv4_sign(&r, &c, &auth, NULL, &err), NB_ERR_UNSUPPORTED);
    assert_true(strncmp(err.message, "sigv4: cannot load libcrypto.so.3 (", 35) == 0);
    assert_int_equal(auth.len, 0);
    struct nb_buf url;
    nb_buf_init(&url);
    assert_int_equal(nb_sigv4_presign(&r, &c, 60, &url, &err), NB_ERR_UNSUPPORTED);
    nb_buf_cleanup(&auth);
    nb_buf_cleanup(&url);

    char hex[65] = "x";
    nb_sha256_hex("abc", 3, hex);   /* no digest to give: empty, never uninitialised bytes */
    assert_string_equal(hex, "");

    struct nb_buf jwt;
    nb_buf_init(&jwt);
    assert_int_equal(nb_google_jwt("-----BEGIN PRIVATE KEY-----\n", NULL, "a@b", "scope", "aud", 0, &jwt, &err),
                     NB_ERR_UNSUPPORTED);
    assert_true(strncmp(err.message, "google oauth2: cannot load libcrypto.so.3 (", 43) == 0);
    nb_buf_cleanup(&jwt);

    /* Stubs called without asking first return their failure values. */
    unsigned char md[32];
    assert_null(SHA256((const unsigned char *)"abc", 3, md));
    assert_null(EVP_sha256());
    assert_null(EVP_MD_CTX_new());
    assert_null(EVP_RSA_gen(2048));
    assert_false(libcrypto_mapped());
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--broken-crypto") == 0) {
        broken_dir = argv[2];
        const struct CMUnitTest child[] = {
            cmocka_unit_test(child_require_names_library_and_package),
            cmocka_unit_test(child_signing_fails_cleanly),
        };
        return cmocka_run_group_tests_name("crypto_lib_broken", child, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loaded_at_first_use_only),
        cmocka_unit_test(broken_library_is_a_clear_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
