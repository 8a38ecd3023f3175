/* Placeholder until the json format lands; delete this file when it does. */
#include "formats/format.h"
const struct nb_format_ops nb_format_json = {.name = "json", .extension = ".json"};
