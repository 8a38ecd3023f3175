/* Retry classification and backoff (see retry.h). Pure functions of their inputs (plus the caller's
 * RNG state), so the unit tests drive them with fixed seeds and a fake clock. */
#include "net/retry.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum nb_retry_class nb_retry_classify_http(long status)
{
    if (status == 0 || status == 408 || status == 429) return NB_RETRY_YES;
    if (status >= 500 && status <= 599) return NB_RETRY_YES;
    return NB_RETRY_NO;
}

bool nb_retry_should(const struct nb_retry_policy *p, unsigned attempt_done, long status, bool idempotent,
                     bool request_sent)
{
    if (attempt_done >= p->max_attempts) return false;
    if (nb_retry_classify_http(status) != NB_RETRY_YES) return false;
    if (idempotent) return true;
    /* Not idempotent: only when the server cannot have acted on it. */
    if (status == 0) return !request_sent;
    return status == 429 || status == 503;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

uint64_t nb_retry_backoff_ms(const struct nb_retry_policy *p, unsigned attempt, uint64_t *rng)
{
    if (attempt == 0) return 0;
    uint64_t cap = p->base_ms;
    for (unsigned i = 1; i < attempt && cap < p->max_ms; i++) cap *= 2;
    if (cap > p->max_ms) cap = p->max_ms;
    return cap ? xorshift(rng) % (cap + 1) : 0;
}

static int month_index(const char *m)
{
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; i++)
        if (strncmp(m, months[i], 3) == 0) return i;
    return -1;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool nb_retry_after_parse(const char *value, int64_t now_s, uint64_t *ms)
{
    if (!value) return false;
    while (*value == ' ' || *value == '\t') value++;
    if (isdigit((unsigned char)*value)) {
        uint64_t secs = 0;
        const char *p = value;
        for (; isdigit((unsigned char)*p); p++) {
            if (secs > 1000000000ull) return false;
            secs = secs * 10 + (uint64_t)(*p - '0');
        }
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
        if (*p) return false;
        *ms = secs * 1000;
        return true;
    }
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
    char wd[4], mon[4], tz[4];
    int d, y, hh, mm, ss;
    if (sscanf(value, "%3s, %d %3s %d %d:%d:%d %3s", wd, &d, mon, &y, &hh, &mm, &ss, tz) != 8) return false;
    int mi = month_index(mon);
    if (mi < 0 || d < 1 || d > 31 || y < 1970 || y > 9999 || hh > 23 || mm > 59 || ss > 60 || strcmp(tz, "GMT") != 0)
        return false;
    int64_t t = days_from_civil(y, mi + 1, d) * 86400 + hh * 3600 + mm * 60 + ss;
    *ms = t > now_s ? (uint64_t)(t - now_s) * 1000 : 0;
    return true;
}

uint64_t nb_retry_delay_ms(const struct nb_retry_policy *p, unsigned attempt, const char *retry_after,
                           int64_t now_s, uint64_t *rng)
{
    uint64_t ms;
    if (retry_after && nb_retry_after_parse(retry_after, now_s, &ms)) {
        uint64_t lim = p->max_retry_after_ms ? p->max_retry_after_ms : 60000;
        return ms > lim ? lim : ms;
    }
    return nb_retry_backoff_ms(p, attempt, rng);
}
