/* The libcrypto (OpenSSL 3) entry points nebula uses, loaded from libcrypto.so.3 on first use
 * (core/dynlib.h): SHA-256 and HMAC for SigV4 (net/sigv4.c), PEM keys and RS256 signatures for
 * Google JWTs (net/google_auth.c), and what the unit tests use to make and check keys. Callers ask
 * nb_crypto_require first, so a missing library is one clear error; the stubs' failure values
 * (NULL, 0, -1) only keep a caller that did not ask from crashing. Secrets are wiped with
 * nb_secure_zero (core/str.h), not OPENSSL_cleanse, so wiping never loads libcrypto. */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <strings.h>

#include "core/dynlib.h"
#include "net/crypto_lib.h"

#define CRYPTO_FUNCS(F, V)                                                                            \
    F(unsigned char *, SHA256, (const unsigned char *d, size_t n, unsigned char *md), (d, n, md), NULL) \
    F(unsigned char *, HMAC, (const EVP_MD *evp_md, const void *key, int key_len, const unsigned char *data, \
                              size_t data_len, unsigned char *md, unsigned int *md_len),              \
      (evp_md, key, key_len, data, data_len, md, md_len), NULL)                                       \
    F(const EVP_MD *, EVP_sha256, (void), (), NULL)                                                   \
    F(EVP_MD_CTX *, EVP_MD_CTX_new, (void), (), NULL)                                                 \
    V(EVP_MD_CTX_free, (EVP_MD_CTX *ctx), (ctx))                                                      \
    F(int, EVP_DigestSignInit, (EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e, EVP_PKEY *pkey), \
      (ctx, pctx, type, e, pkey), 0)                                                                  \
    F(int, EVP_DigestSign, (EVP_MD_CTX *ctx, unsigned char *sigret, size_t *siglen, const unsigned char *tbs, \
                            size_t tbslen), (ctx, sigret, siglen, tbs, tbslen), 0)                    \
    F(int, EVP_DigestVerifyInit, (EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e, \
                                  EVP_PKEY *pkey), (ctx, pctx, type, e, pkey), 0)                     \
    F(int, EVP_DigestVerify, (EVP_MD_CTX *ctx, const unsigned char *sigret, size_t siglen,            \
                              const unsigned char *tbs, size_t tbslen), (ctx, sigret, siglen, tbs, tbslen), -1) \
    V(EVP_PKEY_free, (EVP_PKEY *pkey), (pkey))                                                        \
    F(BIO *, BIO_new, (const BIO_METHOD *type), (type), NULL)                                         \
    F(const BIO_METHOD *, BIO_s_mem, (void), (), NULL)                                                \
    F(BIO *, BIO_new_mem_buf, (const void *buf, int len), (buf, len), NULL)                           \
    F(long, BIO_ctrl, (BIO *bp, int cmd, long larg, void *parg), (bp, cmd, larg, parg), 0)            \
    F(int, BIO_free, (BIO *a), (a), 0)                                                                \
    F(EVP_PKEY *, PEM_read_bio_PrivateKey, (BIO *out, EVP_PKEY **x, pem_password_cb *cb, void *u),    \
      (out, x, cb, u), NULL)                                                                          \
    F(int, PEM_write_bio_PrivateKey, (BIO *out, const EVP_PKEY *x, const EVP_CIPHER *enc,             \
                                      const unsigned char *kstr, int klen, pem_password_cb *cb, void *u), \
      (out, x, enc, kstr, klen, cb, u), 0)

/* Variadic (EVP_RSA_gen and EVP_EC_gen are macros over it): the stub below reads the argument. */
#define CRYPTO_VARIADIC(F, V)                                                                         \
    F(EVP_PKEY *, EVP_PKEY_Q_keygen, (OSSL_LIB_CTX *libctx, const char *propq, const char *type, ...), , )

NB_DYNLIB_DEFINE("libcrypto.so.3", "libssl3", CRYPTO_FUNCS, CRYPTO_VARIADIC)

nb_status nb_crypto_require(const char *who, struct nb_error *err)
{
    return nb_dynlib_require(&nb_dynlib_this, who, err);
}

/* As OpenSSL's evp_pkey_q_keygen reads it: "RSA" takes the size in bits (size_t), "EC" the curve
 * name; the other types (X25519, ED25519, ...) take nothing more. */
NB_DYNLIB_HIDDEN EVP_PKEY *EVP_PKEY_Q_keygen(OSSL_LIB_CTX *libctx, const char *propq, const char *type, ...)
{
    if (!nb_dynlib_ready(&nb_dynlib_this) || !type) return NULL;
    va_list ap;
    va_start(ap, type);
    EVP_PKEY *k;
    if (strcasecmp(type, "RSA") == 0)
        k = nb_dynlib_api.EVP_PKEY_Q_keygen(libctx, propq, type, va_arg(ap, size_t));
    else if (strcasecmp(type, "EC") == 0)
        k = nb_dynlib_api.EVP_PKEY_Q_keygen(libctx, propq, type, va_arg(ap, char *));
    else
        k = nb_dynlib_api.EVP_PKEY_Q_keygen(libctx, propq, type);
    va_end(ap);
    return k;
}
