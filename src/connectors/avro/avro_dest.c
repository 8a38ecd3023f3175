/* The `avro` destination: the shared file destination with the Avro Object Container format.
 * Compression is the format's (`codec`, per block inside the file). */
#include "connectors/common/file_dest.h"
#include "formats/avro/avro.h"

NB_FORMAT_FILE_DESTINATION(avro, nb_format_avro, nb_avro_format_keys);

const struct nb_connector_ops nb_connector_avro = {
    .name = "avro",
    .description = "Avro object container files (null/deflate/snappy/zstd blocks, logical types for dates, times, "
                   "timestamps, decimals)",
    .kinds = NB_DESTINATION,
    .destination_caps = NB_CAP_FULL_REFRESH,
    .destination = &avro_destination,
};
