/* Placeholder until the json connector lands; delete this file when it does. */
#include "connectors/connector.h"
const struct nb_connector_ops nb_connector_json = {.name = "json", .description = "(not built yet)"};
