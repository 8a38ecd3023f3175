/* Logging to stderr, text or JSON lines. Secrets registered with nb_log_add_secret are replaced by
 * "***" in every line (and by nb_redact in any string, e.g. an error message about to be printed). */
#ifndef NB_CORE_LOG_H
#define NB_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum nb_log_level { NB_LOG_DEBUG = 0, NB_LOG_INFO, NB_LOG_WARN, NB_LOG_ERROR, NB_LOG_OFF };
enum nb_log_format { NB_LOG_TEXT = 0, NB_LOG_JSON };

void nb_log_configure(enum nb_log_level level, enum nb_log_format format);
enum nb_log_level nb_log_get_level(void);
bool nb_log_enabled(enum nb_log_level level);
/* Parse "debug|info|warn|error"; returns false if unknown. */
bool nb_log_level_parse(const char *s, enum nb_log_level *out);
/* The text of a secret; it never appears in log output or redacted strings. Copies it. Thread-safe. */
void nb_log_add_secret(const char *secret);
/* Replace every registered secret in s (in place, NUL-terminated, capacity cap) by "***". */
void nb_redact(char *s, size_t cap);

void nb_log(enum nb_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define NB_DEBUG(comp, ...) do { if (nb_log_enabled(NB_LOG_DEBUG)) nb_log(NB_LOG_DEBUG, comp, __VA_ARGS__); } while (0)
#define NB_INFO(comp, ...)  nb_log(NB_LOG_INFO, comp, __VA_ARGS__)
#define NB_WARN(comp, ...)  nb_log(NB_LOG_WARN, comp, __VA_ARGS__)
#define NB_ERROR(comp, ...) nb_log(NB_LOG_ERROR, comp, __VA_ARGS__)

#endif
