/* The connector registry: a new connector is one folder and one line here. */
#include <string.h>

#include "connectors/connector.h"

extern const struct nb_connector_ops nb_connector_csv, nb_connector_json;
extern const struct nb_connector_ops nb_connector_mysql;
extern const struct nb_connector_ops nb_connector_parquet;
extern const struct nb_connector_ops nb_connector_avro;
extern const struct nb_connector_ops nb_connector_postgres;
extern const struct nb_connector_ops nb_connector_s3;
extern const struct nb_connector_ops nb_connector_gcs;

static const struct nb_connector_ops *const registry[] = {
    &nb_connector_csv,
    &nb_connector_json,
    &nb_connector_parquet,
    &nb_connector_avro,
    &nb_connector_postgres,
    &nb_connector_mysql,
    &nb_connector_s3,
    &nb_connector_gcs,
    NULL,
};

const struct nb_connector_ops *const *nb_connectors(void) { return registry; }

const struct nb_connector_ops *nb_connector_find(const char *name)
{
    for (size_t i = 0; registry[i]; i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    return NULL;
}
