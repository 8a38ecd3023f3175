/* The libmicrohttpd entry points nebula uses (cli/metrics_http.c, and the HTTP fakes of the net unit
 * tests), loaded from libmicrohttpd.so.12 on first use (core/dynlib.h), so runs without a metrics
 * endpoint never map it and GnuTLS. If it cannot be loaded, MHD_start_daemon (the first call)
 * returns NULL and nb_mhd_load_error says why. */
#include <microhttpd.h>
#include <stdarg.h>

#include "cli/cli.h"
#include "core/dynlib.h"

#define MHD_FUNCS(F, V)                                                                               \
    V(MHD_stop_daemon, (struct MHD_Daemon *daemon), (daemon))                                         \
    F(const char *, MHD_lookup_connection_value, (struct MHD_Connection *connection, enum MHD_ValueKind kind, \
                                                  const char *key), (connection, kind, key), NULL)    \
    F(struct MHD_Response *, MHD_create_response_from_buffer, (size_t size, void *buffer,            \
                                                               enum MHD_ResponseMemoryMode mode),     \
      (size, buffer, mode), NULL)                                                                     \
    F(enum MHD_Result, MHD_add_response_header, (struct MHD_Response *response, const char *header,   \
                                                 const char *content), (response, header, content), MHD_NO) \
    F(enum MHD_Result, MHD_queue_response, (struct MHD_Connection *connection, unsigned int status_code, \
                                            struct MHD_Response *response), (connection, status_code, response), MHD_NO) \
    V(MHD_destroy_response, (struct MHD_Response *response), (response))

/* MHD_start_daemon's options go through its va_list twin; MHD_get_daemon_info reads no extra
 * argument for any info type (the "..." is kept for compatibility), so none is passed on. */
#define MHD_HANDWRITTEN(F, V)                                                                         \
    F(struct MHD_Daemon *, MHD_start_daemon_va, (unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc, \
                                                 void *apc_cls, MHD_AccessHandlerCallback dh, void *dh_cls, \
                                                 va_list ap), , )                                     \
    F(const union MHD_DaemonInfo *, MHD_get_daemon_info, (struct MHD_Daemon *daemon,                 \
                                                          enum MHD_DaemonInfoType info_type, ...), , )

NB_DYNLIB_DEFINE("libmicrohttpd.so.12", "libmicrohttpd12", MHD_FUNCS, MHD_HANDWRITTEN)

const char *nb_mhd_load_error(void) { return nb_dynlib_error(&nb_dynlib_this); }

NB_DYNLIB_HIDDEN struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc,
                                                     void *apc_cls, MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
    if (!nb_dynlib_ready(&nb_dynlib_this)) return NULL;
    va_list ap;
    va_start(ap, dh_cls);
    struct MHD_Daemon *d = nb_dynlib_api.MHD_start_daemon_va(flags, port, apc, apc_cls, dh, dh_cls, ap);
    va_end(ap);
    return d;
}

NB_DYNLIB_HIDDEN const union MHD_DaemonInfo *MHD_get_daemon_info(struct MHD_Daemon *daemon,
                                                                 enum MHD_DaemonInfoType info_type, ...)
{
    if (!nb_dynlib_ready(&nb_dynlib_this)) return NULL;
    return nb_dynlib_api.MHD_get_daemon_info(daemon, info_type);
}
