/* The one error type. Every fallible function returns an nb_status and fills an optional
 * struct nb_error with a message that says what, where and what to do. The library never prints
 * or exits; only the CLI turns a status into a message and an exit code. */
#ifndef NB_CORE_ERROR_H
#define NB_CORE_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

typedef enum nb_status {
    NB_OK = 0,
    NB_DONE,            /* not an error: end of stream / nothing more to read */
    NB_AGAIN,           /* not an error: need more input (incremental parsers) */
    NB_ERR_INVALID,     /* bad input data (parse error, bad record, type mismatch) */
    NB_ERR_CONFIG,      /* usage or configuration error (exit 2) */
    NB_ERR_IO,          /* file system / stream error */
    NB_ERR_NOMEM,
    NB_ERR_NET,         /* network / connection failure */
    NB_ERR_AUTH,        /* authentication or permission refused */
    NB_ERR_NOT_FOUND,
    NB_ERR_UNSUPPORTED,
    NB_ERR_PROTOCOL,    /* peer spoke something we do not understand */
    NB_ERR_TIMEOUT,
    NB_ERR_CANCELLED,   /* SIGINT/SIGTERM or an explicit stop */
    NB_ERR_LIMIT,       /* a configured limit was exceeded (max_bad_records, max_record_size) */
    NB_ERR_INTERNAL,
} nb_status;

#define NB_ERROR_MESSAGE_MAX 1024

struct nb_error {
    nb_status code;
    bool retryable;         /* the OK/RETRY/ERROR distinction: a retry may succeed */
    char message[NB_ERROR_MESSAGE_MAX];
};

/* Fill err (which may be NULL) and return code. The message is formatted printf-style. */
nb_status nb_error_set(struct nb_error *err, nb_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
nb_status nb_error_setv(struct nb_error *err, nb_status code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Like nb_error_set, and marks the error retryable. */
nb_status nb_error_retryable(struct nb_error *err, nb_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepend context ("users.csv:12:5: ") to an existing message; returns err->code (or NB_OK if err NULL). */
nb_status nb_error_prefix(struct nb_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nb_error_clear(struct nb_error *err);
const char *nb_status_name(nb_status code);
/* True for NB_OK, NB_DONE and NB_AGAIN. */
static inline bool nb_status_ok(nb_status s) { return s == NB_OK || s == NB_DONE || s == NB_AGAIN; }

#endif
