/* The Avro format's public face beyond nb_format_avro (formats/format.h): its option keys, for
 * connectors that put them in their spec tables (the avro destination, object stores). */
#ifndef NB_FORMATS_AVRO_AVRO_H
#define NB_FORMATS_AVRO_AVRO_H

#include "core/config.h"
#include "formats/format.h"

/* codec, compression_level, block_size, sync_interval. */
extern const struct nb_config_key nb_avro_format_keys[];

#endif
