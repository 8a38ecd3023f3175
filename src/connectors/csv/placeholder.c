/* Placeholder until the csv connector lands; delete this file when it does. */
#include "connectors/connector.h"
const struct nb_connector_ops nb_connector_csv = {.name = "csv", .description = "(not built yet)"};
