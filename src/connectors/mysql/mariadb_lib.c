/* The libmariadb entry points the mysql connector uses, loaded from libmariadb.so.3 on first use
 * (core/dynlib.h), so runs that do not touch MySQL/MariaDB never map it. If it cannot be loaded,
 * mysql_init (the first call) returns NULL and nb_mariadb_load_error says why. */
#include <errmsg.h>
#include <mysql.h>
#include <mariadb_rpl.h>
#include <stdarg.h>

#include "connectors/mysql/source.h"
#include "core/dynlib.h"

static const char *not_loaded(void);

#define MARIADB_FUNCS(F, V)                                                                           \
    F(MYSQL *, mysql_init, (MYSQL *mysql), (mysql), NULL)                                             \
    F(int, mysql_ssl_set, (MYSQL *mysql, const char *key, const char *cert, const char *ca,           \
                           const char *capath, const char *cipher), (mysql, key, cert, ca, capath, cipher), 1) \
    F(MYSQL *, mysql_real_connect, (MYSQL *mysql, const char *host, const char *user, const char *passwd, \
                                    const char *db, unsigned int port, const char *unix_socket,       \
                                    unsigned long clientflag),                                        \
      (mysql, host, user, passwd, db, port, unix_socket, clientflag), NULL)                           \
    V(mysql_close, (MYSQL *sock), (sock))                                                             \
    F(my_bool, mysql_thread_init, (void), (), 1)                                                      \
    V(mysql_thread_end, (void), ())                                                                   \
    F(unsigned int, mysql_errno, (MYSQL *mysql), (mysql), CR_UNKNOWN_ERROR)                           \
    F(const char *, mysql_error, (MYSQL *mysql), (mysql), not_loaded())                               \
    F(const char *, mysql_sqlstate, (MYSQL *mysql), (mysql), "HY000")                                 \
    F(char *, mysql_get_server_info, (MYSQL *mysql), (mysql), (char *)"")                             \
    F(unsigned long, mysql_real_escape_string, (MYSQL *mysql, char *to, const char *from, unsigned long length), \
      (mysql, to, from, length), (unsigned long)-1)                                                   \
    F(int, mysql_query, (MYSQL *mysql, const char *q), (mysql, q), 1)                                 \
    F(int, mysql_real_query, (MYSQL *mysql, const char *q, unsigned long length), (mysql, q, length), 1) \
    F(MYSQL_RES *, mysql_store_result, (MYSQL *mysql), (mysql), NULL)                                 \
    F(MYSQL_RES *, mysql_use_result, (MYSQL *mysql), (mysql), NULL)                                   \
    F(MYSQL_ROW, mysql_fetch_row, (MYSQL_RES *result), (result), NULL)                                \
    F(unsigned long *, mysql_fetch_lengths, (MYSQL_RES *result), (result), NULL)                      \
    F(my_ulonglong, mysql_num_rows, (MYSQL_RES *res), (res), 0)                                       \
    F(unsigned int, mysql_num_fields, (MYSQL_RES *res), (res), 0)                                     \
    V(mysql_free_result, (MYSQL_RES *result), (result))                                               \
    F(unsigned long, mysql_net_read_packet, (MYSQL *mysql), (mysql), packet_error)                    \
    F(MARIADB_RPL *, mariadb_rpl_init_ex, (MYSQL *mysql, unsigned int version), (mysql, version), NULL) \
    F(int, mariadb_rpl_open, (MARIADB_RPL *rpl), (rpl), 1)                                            \
    F(MARIADB_RPL_EVENT *, mariadb_rpl_fetch, (MARIADB_RPL *rpl, MARIADB_RPL_EVENT *event), (rpl, event), NULL) \
    V(mariadb_free_rpl_event, (MARIADB_RPL_EVENT *event), (event))                                    \
    V(mariadb_rpl_close, (MARIADB_RPL *rpl), (rpl))

/* Variadic: the stubs below read the arguments as Connector/C reads them and pass them on. */
#define MARIADB_VARIADIC(F, V)                                                                        \
    F(int, mysql_optionsv, (MYSQL *mysql, enum mysql_option option, ...), , )                         \
    F(int, mariadb_rpl_optionsv, (MARIADB_RPL *rpl, enum mariadb_rpl_option option, ...), , )

NB_DYNLIB_DEFINE("libmariadb.so.3", "libmariadb3", MARIADB_FUNCS, MARIADB_VARIADIC)

const char *nb_mariadb_load_error(void) { return nb_dynlib_error(&nb_dynlib_this); }

static const char *not_loaded(void)
{
    const char *why = nb_dynlib_error(&nb_dynlib_this);
    return why ? why : "libmariadb is not loaded";
}

/* Connector/C reads one pointer for every option, and a second one for the two key/value options. */
NB_DYNLIB_HIDDEN int mysql_optionsv(MYSQL *mysql, enum mysql_option option, ...)
{
    if (!nb_dynlib_ready(&nb_dynlib_this)) return 1;
    va_list ap;
    va_start(ap, option);
    void *arg1 = va_arg(ap, void *);
    int rc;
    if (option == MYSQL_OPT_CONNECT_ATTR_ADD || option == MARIADB_OPT_USERDATA)
        rc = nb_dynlib_api.mysql_optionsv(mysql, option, arg1, va_arg(ap, void *));
    else
        rc = nb_dynlib_api.mysql_optionsv(mysql, option, arg1);
    va_end(ap);
    return rc;
}

/* As Connector/C's mariadb_rpl_optionsv reads them; options nebula does not use are refused (-1,
 * what the library itself returns for an unknown option) rather than guessed. */
NB_DYNLIB_HIDDEN int mariadb_rpl_optionsv(MARIADB_RPL *rpl, enum mariadb_rpl_option option, ...)
{
    if (!nb_dynlib_ready(&nb_dynlib_this)) return -1;
    va_list ap;
    va_start(ap, option);
    int rc;
    switch (option) {
    case MARIADB_RPL_FILENAME: {
        const char *name = va_arg(ap, const char *);
        rc = nb_dynlib_api.mariadb_rpl_optionsv(rpl, option, name, va_arg(ap, size_t));
        break;
    }
    case MARIADB_RPL_START:
        rc = nb_dynlib_api.mariadb_rpl_optionsv(rpl, option, va_arg(ap, unsigned long));
        break;
    case MARIADB_RPL_SERVER_ID:
    case MARIADB_RPL_FLAGS:
        rc = nb_dynlib_api.mariadb_rpl_optionsv(rpl, option, va_arg(ap, unsigned int));
        break;
    default:
        rc = -1;
        break;
    }
    va_end(ap);
    return rc;
}
