/* OpenSSL's libcrypto is opened at first use (net/crypto_lib.c, core/dynlib.h): only S3 signing and
 * Google service-account JWTs need it, so local runs never map it (nor run its exit handlers). */
#ifndef NB_NET_CRYPTO_LIB_H
#define NB_NET_CRYPTO_LIB_H

#include "core/error.h"

/* Loads libcrypto.so.3 before a first use: NB_OK, or NB_ERR_UNSUPPORTED with "<who>: cannot load
 * libcrypto.so.3 (...); install the Debian package libssl3". */
nb_status nb_crypto_require(const char *who, struct nb_error *err);

#endif
