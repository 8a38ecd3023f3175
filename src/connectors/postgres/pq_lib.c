/* The libpq entry points the postgres connector uses, loaded from libpq.so.5 on first use
 * (core/dynlib.h), so runs that do not touch PostgreSQL never map libpq, Kerberos and LDAP. If it
 * cannot be loaded, PQconnectdbParams (the first call) returns NULL and nb_pq_load_error says why. */
#include <libpq-fe.h>

#include "connectors/postgres/pg.h"
#include "core/dynlib.h"

static char *not_loaded(void);

#define PQ_FUNCS(F, V)                                                                                \
    F(PGconn *, PQconnectdbParams, (const char *const *keywords, const char *const *values, int expand_dbname), \
      (keywords, values, expand_dbname), NULL)                                                        \
    V(PQfinish, (PGconn *conn), (conn))                                                               \
    F(ConnStatusType, PQstatus, (const PGconn *conn), (conn), CONNECTION_BAD)                         \
    F(char *, PQerrorMessage, (const PGconn *conn), (conn), not_loaded())                             \
    F(char *, PQdb, (const PGconn *conn), (conn), NULL)                                               \
    F(char *, PQuser, (const PGconn *conn), (conn), NULL)                                             \
    F(char *, PQhost, (const PGconn *conn), (conn), NULL)                                             \
    F(char *, PQport, (const PGconn *conn), (conn), NULL)                                             \
    F(int, PQsocket, (const PGconn *conn), (conn), -1)                                                \
    F(int, PQserverVersion, (const PGconn *conn), (conn), 0)                                          \
    F(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn *conn, PQnoticeProcessor proc, void *arg),     \
      (conn, proc, arg), NULL)                                                                        \
    F(PGresult *, PQexec, (PGconn *conn, const char *query), (conn, query), NULL)                     \
    F(PGresult *, PQexecParams, (PGconn *conn, const char *command, int nParams, const Oid *paramTypes, \
                                 const char *const *paramValues, const int *paramLengths,             \
                                 const int *paramFormats, int resultFormat),                          \
      (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat), NULL) \
    F(PGresult *, PQgetResult, (PGconn *conn), (conn), NULL)                                          \
    F(int, PQconsumeInput, (PGconn *conn), (conn), 0)                                                 \
    F(int, PQflush, (PGconn *conn), (conn), -1)                                                       \
    F(int, PQputCopyData, (PGconn *conn, const char *buffer, int nbytes), (conn, buffer, nbytes), -1) \
    F(int, PQputCopyEnd, (PGconn *conn, const char *errormsg), (conn, errormsg), -1)                  \
    F(int, PQgetCopyData, (PGconn *conn, char **buffer, int async), (conn, buffer, async), -2)        \
    F(ExecStatusType, PQresultStatus, (const PGresult *res), (res), PGRES_FATAL_ERROR)                \
    F(char *, PQresultErrorMessage, (const PGresult *res), (res), not_loaded())                       \
    F(char *, PQresultErrorField, (const PGresult *res, int fieldcode), (res, fieldcode), NULL)       \
    F(int, PQntuples, (const PGresult *res), (res), 0)                                                \
    F(int, PQnfields, (const PGresult *res), (res), 0)                                                \
    F(char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num), \
      (char *)"")                                                                                     \
    V(PQclear, (PGresult *res), (res))                                                                \
    V(PQfreemem, (void *ptr), (ptr))

NB_DYNLIB_DEFINE("libpq.so.5", "libpq5", PQ_FUNCS, NB_DYNLIB_NONE)

const char *nb_pq_load_error(void) { return nb_dynlib_error(&nb_dynlib_this); }

/* What libpq's message functions say when libpq is not there (never NULL: callers print it). */
static char *not_loaded(void)
{
    const char *why = nb_dynlib_error(&nb_dynlib_this);
    return (char *)(why ? why : "libpq is not loaded");
}
