/* libsnappy is opened at first use (io/snappy_lib.c, core/dynlib.h): only snappy-compressed files,
 * Parquet pages and Avro blocks need it, so other runs never map it nor the C++ runtime it pulls in. */
#ifndef NB_IO_SNAPPY_LIB_H
#define NB_IO_SNAPPY_LIB_H

#include "core/error.h"

/* Loads libsnappy.so.1 before a first use: NB_OK, or NB_ERR_UNSUPPORTED with "snappy: cannot load
 * libsnappy.so.1 (...); install the Debian package libsnappy1v5". One atomic load once loaded. */
nb_status nb_snappy_require(struct nb_error *err);

#endif
