/* The pipeline file's sections other than source/destination (DESIGN.md §1): their spec tables and
 * their conversion to struct nb_run_options. Flags are applied to the tree before validation. */
#ifndef NB_PIPELINE_OPTIONS_H
#define NB_PIPELINE_OPTIONS_H

#include "connectors/connector.h"
#include "core/config.h"
#include "core/log.h"

extern const struct nb_config_key nb_pipeline_spec[];

struct nb_observability {
    enum nb_log_level log_level;
    enum nb_log_format log_format;
    const char *progress;        /* auto|always|never */
    const char *metrics_addr;    /* host:port or NULL */
};

/* Validate the root map (name, source, destination, performance, ...) and fill opts/obs. Connector
 * sections are only checked for a `type` here; their keys are validated by nb_pipeline_validate_connectors. */
nb_status nb_pipeline_options(struct nb_cfg *root, struct nb_run_options *opts, struct nb_observability *obs,
                              struct nb_error *err);
/* Validate source and destination sections against their connectors' specs. */
nb_status nb_pipeline_validate_connectors(struct nb_cfg *root, struct nb_error *err);

#endif
