/* Small string helpers: durations, sizes, integers, edit distance, UTF-8, globs. */
#include "core/str.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

nb_status nb_parse_duration_ms(const char *s, uint64_t *out_ms, struct nb_error *err)
{
    const char *p = s;
    uint64_t total = 0;
    bool any = false;
    while (*p == ' ') p++;
    while (*p) {
        if (!isdigit((unsigned char)*p)) goto bad;
        double v = 0;
        char *end;
        v = strtod(p, &end);
        if (end == p || v < 0) goto bad;
        p = end;
        double mult;
        if (strncmp(p, "ms", 2) == 0) { mult = 1; p += 2; }
        else if (*p == 's') { mult = 1000; p++; }
        else if (*p == 'm') { mult = 60000; p++; }
        else if (*p == 'h') { mult = 3600000; p++; }
        else if (*p == 'd') { mult = 86400000; p++; }
        else if (*p == '\0' && !any) { mult = 1000; }
        else goto bad;
        double ms = v * mult;
        if (ms > 1e15) goto bad;
        total += (uint64_t)(ms + 0.5);
        any = true;
        while (*p == ' ') p++;
    }
    if (!any) goto bad;
    *out_ms = total;
    return NB_OK;
bad:
    return nb_error_set(err, NB_ERR_CONFIG,
                        "'%s' is not a duration: use a number with a unit, e.g. 500ms, 10s, 5m, 1h", s);
}

nb_status nb_parse_size(const char *s, uint64_t *out, struct nb_error *err)
{
    char *end;
    while (*s == ' ') s++;
    if (!isdigit((unsigned char)*s)) goto bad;
    double v = strtod(s, &end);
    while (*end == ' ') end++;
    static const struct { const char *unit; double mult; } units[] = {
        {"", 1}, {"B", 1}, {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0},
        {"TiB", 1099511627776.0}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
        {"K", 1024.0}, {"M", 1048576.0}, {"G", 1073741824.0}, {"k", 1e3},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            double bytes = v * units[i].mult;
            if (bytes < 0 || bytes > 1.8e19) goto bad;
            *out = (uint64_t)bytes;
            return NB_OK;
        }
    }
bad:
    return nb_error_set(err, NB_ERR_CONFIG, "'%s' is not a size: use e.g. 4096, 64KiB, 256MiB, 1GiB", s);
}

bool nb_parse_i64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+')) { neg = s[i] == '-'; i++; }
    if (i == n) return false;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1) return false;
        *out = (int64_t)(0 - v);
    } else {
        if (v > (uint64_t)INT64_MAX) return false;
        *out = (int64_t)v;
    }
    return true;
}

size_t nb_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return la > lb ? la : lb;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev + cost;
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb];
}

const char *nb_nearest(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t d = nb_edit_distance(word, candidates[i]);
        if (d < best_d) { best_d = d; best = candidates[i]; }
    }
    if (best && best_d > strlen(word) / 2 + 1) return NULL;
    return best;
}

/* Scalar validation of s[i, n) until the first invalid byte, or until a sequence ends at or after
 * `upto` (the caller's vector loop takes over from there); *at gets where it stopped. False: s[*at]
 * starts an invalid sequence. */
static bool utf8_scalar(const unsigned char *s, size_t n, size_t i, size_t upto, size_t *at)
{
    while (i < n && i < upto) {
        /* ASCII fast path, 8 bytes at a time; in a word with a high bit, the ASCII bytes before
         * it are skipped at once (text in most languages mixes ASCII and multi-byte letters). */
        while (i + 8 <= n && i < upto) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            uint64_t high = w & 0x8080808080808080ull;
            if (!high) { i += 8; continue; }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            i += (size_t)__builtin_ctzll(high) >> 3;
#endif
            break;
        }
        if (i >= n || i >= upto) break;
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        /* One multi-byte sequence, by the table of well-formed sequences (Unicode 15, table 3-7):
         * the second byte's range depends on the lead (no overlong form, no surrogate, nothing
         * above U+10FFFF); the others are plain continuation bytes. */
        unsigned char lo = 0x80, hi = 0xBF;
        size_t len;
        if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; if (c == 0xE0) lo = 0xA0; else if (c == 0xED) hi = 0x9F; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; if (c == 0xF0) lo = 0x90; else if (c == 0xF4) hi = 0x8F; }
        else break;
        if (len > n - i || s[i + 1] < lo || s[i + 1] > hi) break;
        if (len >= 3 && (s[i + 2] & 0xC0) != 0x80) break;
        if (len == 4 && (s[i + 3] & 0xC0) != 0x80) break;
        i += len;
    }
    *at = i < n ? i : n;
    return i >= n || i >= upto;
}

size_t nb_utf8_valid_prefix(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
#if defined(__SSE2__)
    /* 16 bytes at a time while they hold only ASCII and two-byte sequences (Latin, Greek,
     * Cyrillic, Hebrew, Arabic text): there every continuation byte (80-BF) follows a lead byte
     * C2-DF and every such lead is followed by one, which two masks compare at once. `carry`: the
     * previous 16 bytes ended with a lead. Three- and four-byte leads, C0/C1/F5-FF, or a mismatch
     * take the scalar path over those bytes (from the sequence boundary), which finds the error
     * exactly or hands back at the next boundary past them. */
    unsigned carry = 0;
    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned high = (unsigned)_mm_movemask_epi8(v);
        if (!(high | carry)) { i += 16; continue; }
        /* As signed bytes: 80-BF are -128..-65, C0-DF -64..-33, E0-FF -32..-1. */
        unsigned cont = (unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(v, _mm_set1_epi8(-64)));
        unsigned above = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(v, _mm_set1_epi8(-33))) & high;
        unsigned c0c1 = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(v, _mm_set1_epi8((char)0xFE)),
                                                                   _mm_set1_epi8((char)0xC0)));
        unsigned lead = high & ~cont & ~above;
        if (!(above | c0c1) && cont == (((lead << 1) | carry) & 0xFFFF)) {
            carry = lead >> 15;
            i += 16;
            continue;
        }
        size_t from = carry ? i - 1 : i, at;
        if (!utf8_scalar(s, n, from, i + 16, &at)) return at;
        i = at;
        carry = 0;
    }
    if (carry) i--;
#endif
    size_t at;
    utf8_scalar(s, n, i, n, &at);
    return at;
}

bool nb_glob_match(const char *pattern, const char *s, bool pathname)
{
    return fnmatch(pattern, s, pathname ? FNM_PATHNAME : 0) == 0;
}

void nb_format_bytes(uint64_t bytes, char *out, size_t cap)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 4) { v /= 1024; u++; }
    if (u == 0) snprintf(out, cap, "%llu B", (unsigned long long)bytes);
    else snprintf(out, cap, "%.1f %s", v, units[u]);
}

void nb_secure_zero(void *p, size_t n)
{
    if (p && n) explicit_bzero(p, n);
}
