/* The format table. A new format is one line here. */
#include <string.h>

#include "formats/format.h"
#include "io/stream.h"

static const struct nb_format_ops *const formats[] = {
    &nb_format_csv,
    &nb_format_json,
    &nb_format_parquet,
    &nb_format_avro,
};

const struct nb_format_ops *nb_format_find(const char *name)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(formats[i]->name, name) == 0) return formats[i];
    if (strcmp(name, "ndjson") == 0 || strcmp(name, "jsonl") == 0) return &nb_format_json;
    return NULL;
}

const struct nb_format_ops *nb_format_for_path(const char *path)
{
    char stripped[4096];
    nb_path_strip_codec(path, stripped, sizeof stripped);
    const char *dot = strrchr(stripped, '.');
    if (!dot) return NULL;
    if (strcmp(dot, ".ndjson") == 0 || strcmp(dot, ".jsonl") == 0) return &nb_format_json;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(formats[i]->extension, dot) == 0) return formats[i];
    return NULL;
}
