/* GET /metrics in the Prometheus text format, served by libmicrohttpd on observability.metrics_addr
 * for as long as the run lasts. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/metrics.h"

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)cls; (void)version; (void)upload_data; (void)upload_size; (void)con_cls;
    struct MHD_Response *resp;
    unsigned status = MHD_HTTP_OK;
    if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0) {
        static const char nf[] = "not found: try GET /metrics\n";
        resp = MHD_create_response_from_buffer(sizeof nf - 1, (void *)nf, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_NOT_FOUND;
    } else {
        struct nb_buf b;
        nb_buf_init(&b);
        nb_metrics_render(&b);
        size_t len = 0;
        char *text = nb_buf_detach(&b, &len);
        resp = MHD_create_response_from_buffer(len, text ? text : (char *)"", text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
    }
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

void *nb_cli_metrics_start(const char *addr, struct nb_error *err)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    long port = colon ? strtol(colon + 1, NULL, 10) : 0;
    if (!colon || port <= 0 || port > 65535 || (size_t)(colon - addr) >= sizeof host) {
        nb_error_set(err, NB_ERR_CONFIG, "observability.metrics_addr '%s' is not host:port", addr);
        return NULL;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, &sa.sin_addr) != 1) {
        nb_error_set(err, NB_ERR_CONFIG, "observability.metrics_addr: '%s' is not an IPv4 address", host);
        return NULL;
    }
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, answer, NULL,
                                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
    if (!d && nb_mhd_load_error()) nb_error_set(err, NB_ERR_UNSUPPORTED, "metrics: %s", nb_mhd_load_error());
    else if (!d) nb_error_set(err, NB_ERR_CONFIG, "cannot serve metrics on %s (port in use?)", addr);
    return d;
}

void nb_cli_metrics_stop(void *server)
{
    if (server) MHD_stop_daemon(server);
}
