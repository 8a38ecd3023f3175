/* The `parquet` source ops (parquet_source.c), joined with the destination in parquet_dest.c. */
#ifndef NB_CONNECTORS_PARQUET_SOURCE_H
#define NB_CONNECTORS_PARQUET_SOURCE_H

#include "connectors/connector.h"

extern const struct nb_source_ops nb_parquet_source_ops;

#endif
