/* Small string helpers shared by the config, CLI and connectors. */
#ifndef NB_CORE_STR_H
#define NB_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* "250ms", "10s", "5m", "1h", "2d", "1h30m", or a bare number of seconds. */
nb_status nb_parse_duration_ms(const char *s, uint64_t *out_ms, struct nb_error *err);
/* "256MiB", "64KiB", "1GiB", "10MB" (powers of 10), "1024" (bytes). */
nb_status nb_parse_size(const char *s, uint64_t *out_bytes, struct nb_error *err);
/* Whole signed decimal integer, no trailing garbage. */
bool nb_parse_i64(const char *s, size_t n, int64_t *out);
/* Levenshtein distance, used to suggest the nearest valid key ("did you mean ...?"). */
size_t nb_edit_distance(const char *a, const char *b);
/* Of candidates[0..n), the one nearest to word, or NULL when none is close (distance > 1/2 length + 1). */
const char *nb_nearest(const char *word, const char *const *candidates, size_t n);
/* Length of the valid UTF-8 prefix of s[0..n): equals n when all of it is valid UTF-8
 * (no overlongs, no surrogates, nothing above U+10FFFF). */
size_t nb_utf8_valid_prefix(const char *s, size_t n);
/* The value of one hex digit (either case), or -1. */
static inline int nb_hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
static inline bool nb_utf8_valid(const char *s, size_t n) { return nb_utf8_valid_prefix(s, n) == n; }
/* Glob match with * ? and [..] (fnmatch semantics, '*' does not cross '/' when pathname is true). */
bool nb_glob_match(const char *pattern, const char *s, bool pathname);
/* Format a byte count for humans ("12.3 MiB") and a count of rows ("1.2M"). */
void nb_format_bytes(uint64_t bytes, char *out, size_t cap);
/* Wipe a secret (key, token, password) before its memory is freed or reused: unlike memset, the
 * compiler may not drop it as a dead store. glibc's explicit_bzero, so wiping never loads OpenSSL. */
void nb_secure_zero(void *p, size_t n);

#endif
