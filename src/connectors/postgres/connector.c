/* The PostgreSQL connector: a source (full_refresh, incremental, cdc via pgoutput) and a
 * destination (append, overwrite, merge). See docs/connectors/postgres.md. */
#include "connectors/postgres/pg.h"

const struct nb_connector_ops nb_connector_postgres = {
    .name = "postgres",
    .description = "PostgreSQL: COPY snapshots in key chunks, incremental by cursor, CDC via pgoutput; COPY-based writes with merge",
    .kinds = NB_SOURCE | NB_DESTINATION,
    .source_caps = NB_CAP_FULL_REFRESH | NB_CAP_INCREMENTAL | NB_CAP_CDC | NB_CAP_RESUME | NB_CAP_SCHEMA_EVOLUTION,
    .destination_caps = NB_CAP_SCHEMA_EVOLUTION,
    .source = &pg_source_ops,
    .destination = &pg_destination_ops,
};
