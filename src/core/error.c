/* The one error type: formatting, prefixing and names of statuses. */
#include "core/error.h"

#include <stdio.h>
#include <string.h>

nb_status nb_error_setv(struct nb_error *err, nb_status code, const char *fmt, va_list ap)
{
    if (!err) return code;
    err->code = code;
    err->retryable = false;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    return code;
}

nb_status nb_error_set(struct nb_error *err, nb_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nb_error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

nb_status nb_error_retryable(struct nb_error *err, nb_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nb_error_setv(err, code, fmt, ap);
    va_end(ap);
    if (err) err->retryable = true;
    return code;
}

nb_status nb_error_prefix(struct nb_error *err, const char *fmt, ...)
{
    if (!err) return NB_OK;
    char prefix[NB_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (n < 0) return err->code;
    char joined[NB_ERROR_MESSAGE_MAX];
    snprintf(joined, sizeof joined, "%s%s", prefix, err->message);
    memcpy(err->message, joined, sizeof joined);
    return err->code;
}

void nb_error_clear(struct nb_error *err)
{
    if (!err) return;
    err->code = NB_OK;
    err->retryable = false;
    err->message[0] = '\0';
}

const char *nb_status_name(nb_status code)
{
    switch (code) {
    case NB_OK: return "ok";
    case NB_DONE: return "done";
    case NB_AGAIN: return "again";
    case NB_ERR_INVALID: return "invalid data";
    case NB_ERR_CONFIG: return "configuration error";
    case NB_ERR_IO: return "I/O error";
    case NB_ERR_NOMEM: return "out of memory";
    case NB_ERR_NET: return "network error";
    case NB_ERR_AUTH: return "authentication error";
    case NB_ERR_NOT_FOUND: return "not found";
    case NB_ERR_UNSUPPORTED: return "unsupported";
    case NB_ERR_PROTOCOL: return "protocol error";
    case NB_ERR_TIMEOUT: return "timeout";
    case NB_ERR_CANCELLED: return "cancelled";
    case NB_ERR_LIMIT: return "limit exceeded";
    case NB_ERR_INTERNAL: return "internal error";
    }
    return "unknown";
}
