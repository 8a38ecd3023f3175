/* The `parquet` destination: the shared file destination with the Parquet format. Compression is
 * the format's (per page, inside the file), so its `compression` key is the format's own. */
#include "connectors/common/file_dest.h"
#include "formats/parquet/parquet.h"

NB_FORMAT_FILE_DESTINATION(parquet, nb_format_parquet, nb_parquet_format_keys);

const struct nb_connector_ops nb_connector_parquet = {
    .name = "parquet",
    .description = "Parquet files (snappy/gzip/zstd/lz4_raw pages, dictionary encoding, statistics, page index)",
    .kinds = NB_DESTINATION,
    .destination_caps = NB_CAP_FULL_REFRESH,
    .destination = &parquet_destination,
};
