/* Column-name history of one table for servers without binlog_row_metadata=FULL (history.c). */
#ifndef NB_CONNECTORS_MYSQL_HISTORY_H
#define NB_CONNECTORS_MYSQL_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

struct my_hist {
    char **names;
    size_t n;
};

enum my_ddl_result {
    MY_DDL_OTHER = 0,   /* not an ALTER TABLE of this table */
    MY_DDL_APPLIED,     /* the names now follow the statement */
    MY_DDL_UNKNOWN,     /* an ALTER of this table whose column effect was not understood */
    MY_DDL_RENAMED,     /* the table was renamed */
};

void my_hist_free(struct my_hist *h);
bool my_hist_set(struct my_hist *h, const char *const *names, size_t n);
/* Apply `sql` (a QUERY event's statement, default database default_db) to the history of
 * db.table. */
enum my_ddl_result my_hist_apply_ddl(const char *sql, size_t len, const char *default_db, const char *db,
                                     const char *table, struct my_hist *h);

#endif
