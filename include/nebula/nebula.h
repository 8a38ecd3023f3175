/* libnebula's public API: what a program embedding Nebula without the CLI uses.
 *
 *   struct nb_cfg *root;                       load the pipeline file (or build it with nb_cfg_set)
 *   nb_cfg_load_file("pipeline.yaml", &root, &err);
 *   struct nb_run_options opts;                validate it and take the run options
 *   nb_pipeline_options(root, &opts, NULL, &err);
 *   nb_pipeline_validate_connectors(root, &err);
 *   atomic_bool cancel = false;                set it from another thread to stop cleanly
 *   struct nb_run_request req = {root, &opts, &cancel};
 *   struct nb_run_stats stats;
 *   nb_pipeline_run(&req, &stats, &err);       NB_OK, or a status with err.message
 *   nb_cfg_destroy(root);
 *
 * A program may also bring its own connector: fill a struct nb_connector_ops (connectors/connector.h)
 * and pass it as req.source_ops / req.destination_ops. The library never prints or exits; logging
 * goes through core/log.h (nb_log_configure). Link with the nb_* static libraries (see CMakeLists.txt). */
#ifndef NEBULA_NEBULA_H
#define NEBULA_NEBULA_H

#include "connectors/connector.h"
#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"
#include "pipeline/engine.h"
#include "pipeline/options.h"

#endif
