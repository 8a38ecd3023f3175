/* The value grammar of DESIGN.md §5: classify text for inference, check and parse it for typed
 * writers, format natives back to text. classify and parse share the scanners below, so a column
 * inferred as T always parses as T. Nothing here rounds silently: text that a type cannot hold
 * exactly (a 20-digit integer as float64, a nanosecond timestamp) does not fit that type. */
#include "batch/value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"

static inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
static inline unsigned dval(char c) { return (unsigned)(c - '0'); }

/* --- numbers ------------------------------------------------------------------------------- */

/* What one scan of a number text found. The grammar is JSON's (no leading zeros, digits on both
 * sides of '.', exponent with at least one digit) plus an optional leading '+'. */
struct numscan {
    bool integer;        /* no fraction, no exponent */
    bool neg;
    bool i64_ok;         /* integer within int64 range; value in i64 */
    int64_t i64;
    bool zero;           /* every mantissa digit is 0 */
    int sig;             /* significant digits: first non-zero to last non-zero */
    int64_t sci_exp;     /* value = d.ddd x 10^sci_exp (meaningless when zero) */
    const char *first_sig; /* first significant digit in the text (may be followed by a '.') */
};

#define EXP_CAP 100000   /* exponents beyond this are out of any double's range anyway */

static bool scan_number(const char *s, size_t n, struct numscan *ns)
{
    size_t i = 0;
    ns->neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+')) { ns->neg = s[i] == '-'; i++; }
    if (i >= n) return false;

    int64_t digits_before_point = 0; /* mantissa digits in the integer part */
    int64_t pos = 0;                 /* index of the current mantissa digit */
    int64_t first_nz = -1, last_nz = -1;
    uint64_t acc = 0;
    bool acc_over = false;
    ns->first_sig = NULL;

    if (s[i] == '0') {
        i++;
        pos = 1;
        if (i < n && is_digit(s[i])) return false;   /* leading zero */
    } else if (is_digit(s[i])) {
        for (; i < n && is_digit(s[i]); i++, pos++) {
            unsigned d = dval(s[i]);
            if (d) {
                if (first_nz < 0) { first_nz = pos; ns->first_sig = s + i; }
                last_nz = pos;
            }
            if (!acc_over) {
                if (acc > (UINT64_MAX - d) / 10) acc_over = true;
                else acc = acc * 10 + d;
            }
        }
    } else {
        return false;
    }
    digits_before_point = pos;
    ns->integer = true;

    if (i < n && s[i] == '.') {
        ns->integer = false;
        i++;
        if (i >= n || !is_digit(s[i])) return false;
        for (; i < n && is_digit(s[i]); i++, pos++) {
            if (s[i] != '0') {
                if (first_nz < 0) { first_nz = pos; ns->first_sig = s + i; }
                last_nz = pos;
            }
        }
    }
    int64_t exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        ns->integer = false;
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '-' || s[i] == '+')) { eneg = s[i] == '-'; i++; }
        if (i >= n || !is_digit(s[i])) return false;
        for (; i < n && is_digit(s[i]); i++)
            if (exp < EXP_CAP) exp = exp * 10 + dval(s[i]);
        if (eneg) exp = -exp;
    }
    if (i != n) return false;

    ns->zero = first_nz < 0;
    ns->sig = ns->zero ? 0 : (int)(last_nz - first_nz + 1 > 1000000 ? 1000000 : last_nz - first_nz + 1);
    ns->sci_exp = ns->zero ? 0 : (digits_before_point - 1 - first_nz) + exp;

    ns->i64_ok = false;
    if (ns->integer && !acc_over) {
        if (ns->neg) {
            if (acc <= (uint64_t)INT64_MAX + 1) { ns->i64_ok = true; ns->i64 = (int64_t)(0 - acc); }
        } else if (acc <= (uint64_t)INT64_MAX) {
            ns->i64_ok = true;
            ns->i64 = (int64_t)acc;
        }
    }
    return true;
}

/* The significant digits of a scanned number, without the '.', into out (sig bytes). */
static void sig_digits(const struct numscan *ns, char *out)
{
    const char *p = ns->first_sig;
    for (int k = 0; k < ns->sig; p++) {
        if (*p == '.') continue;
        out[k++] = *p;
    }
}

/* Shortest "%.Ne" form of v (15..17 significant digits) that reads back as v. */
static int shortest_e(double v, char *buf, size_t cap)
{
    int len = 0;
    for (int prec = 14; prec <= 16; prec++) {
        len = snprintf(buf, cap, "%.*e", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return len;
}

/* Does the number's exact decimal value survive text -> double -> shortest text? Fast path for
 * at most 15 significant digits in the normal range (DBL_DIG guarantees it); else compare digits. */
static bool number_fits_double(const struct numscan *ns, const char *s, size_t n, double *out)
{
    if (ns->zero) {
        if (out) *out = ns->neg ? -0.0 : 0.0;
        return true;
    }
    if (ns->sig > 17) return false;   /* a double's shortest form never has more than 17 digits */
    bool safe = ns->sig <= 15 && ns->sci_exp >= -307 && ns->sci_exp <= 307;
    if (safe && !out) return true;    /* classify's common case: no conversion at all */
    char digits[17];
    sig_digits(ns, digits);
    char canon[72];
    if (n < sizeof canon) {
        /* The grammar is a subset of strtod's; copy for the terminator. */
        memcpy(canon, s, n);
        canon[n] = '\0';
    } else {
        /* Rebuild the value in canonical scientific form: bounded length whatever the input was. */
        int cl = snprintf(canon, sizeof canon, "%s%c%s%.*se%lld", ns->neg ? "-" : "", digits[0],
                          ns->sig > 1 ? "." : "", ns->sig - 1, digits + 1, (long long)ns->sci_exp);
        if (cl <= 0 || (size_t)cl >= sizeof canon) return false;
    }
    double v = strtod(canon, NULL);
    if (!isfinite(v) || v == 0.0) return false;
    if (out) *out = v;
    if (safe) return true;

    char back[40];
    shortest_e(v, back, sizeof back);
    /* back is "[-]d.ddd…e±xx": compare its digits (trailing zeros trimmed) and exponent. */
    const char *p = back + (back[0] == '-');
    char bd[20];
    int nb = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') bd[nb++] = *p;
    while (nb > 1 && bd[nb - 1] == '0') nb--;
    long long bexp = strtoll(p + 1, NULL, 10);
    return nb == ns->sig && memcmp(bd, digits, (size_t)nb) == 0 && bexp == ns->sci_exp;
}

/* --- dates and times ----------------------------------------------------------------------- */

static inline bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Howard Hinnant's civil-days algorithm (public domain description), proleptic Gregorian. */
int32_t nb_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

void nb_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    unsigned dd = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    unsigned mm = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (mm <= 2);
    *m = mm;
    *d = dd;
}

static inline bool two_digits(const char *s, unsigned *out)
{
    if (!is_digit(s[0]) || !is_digit(s[1])) return false;
    *out = dval(s[0]) * 10 + dval(s[1]);
    return true;
}

/* "YYYY-MM-DD" at s (10 bytes available), a valid calendar date. */
static bool scan_date(const char *s, int64_t *y, unsigned *m, unsigned *d)
{
    if (!is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]) || !is_digit(s[3]) || s[4] != '-' || s[7] != '-')
        return false;
    unsigned mm, dd;
    if (!two_digits(s + 5, &mm) || !two_digits(s + 8, &dd)) return false;
    int64_t yy = (int64_t)(dval(s[0]) * 1000 + dval(s[1]) * 100 + dval(s[2]) * 10 + dval(s[3]));
    if (mm < 1 || mm > 12 || dd < 1 || dd > days_in_month(yy, mm)) return false;
    *y = yy;
    *m = mm;
    *d = dd;
    return true;
}

/* "hh:mm:ss[.f…]" starting at s[0..n); returns bytes used (0: no match). More than 6 fractional
 * digits are accepted only when the extra ones are zeros. */
static size_t scan_clock(const char *s, size_t n, int64_t *micros)
{
    unsigned hh, mi, ss;
    if (n < 8 || !two_digits(s, &hh) || s[2] != ':' || !two_digits(s + 3, &mi) || s[5] != ':' ||
        !two_digits(s + 6, &ss))
        return 0;
    if (hh > 23 || mi > 59 || ss > 59) return 0;   /* leap second 60 has no exact micros value */
    size_t i = 8;
    int64_t frac = 0;
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !is_digit(s[i])) return 0;
        int k = 0;
        for (; i < n && is_digit(s[i]); i++, k++) {
            if (k < 6) frac = frac * 10 + dval(s[i]);
            else if (s[i] != '0') return 0;
        }
        for (; k < 6; k++) frac *= 10;
    }
    *micros = ((int64_t)hh * 3600 + mi * 60 + ss) * 1000000 + frac;
    return i;
}

struct tsscan {
    int64_t days;
    int64_t clock_us;
    int offset_min;   /* minutes east of UTC */
    bool zoned;
};

static bool scan_timestamp(const char *s, size_t n, struct tsscan *ts)
{
    int64_t y;
    unsigned m, d;
    if (n < 19 || !scan_date(s, &y, &m, &d)) return false;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return false;
    size_t used = scan_clock(s + 11, n - 11, &ts->clock_us);
    if (!used) return false;
    size_t i = 11 + used;
    ts->days = nb_days_from_civil(y, m, d);
    ts->offset_min = 0;
    ts->zoned = false;
    if (i == n) return true;
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
        ts->zoned = true;
        return true;
    }
    if (s[i] != '+' && s[i] != '-') return false;
    int sign = s[i] == '-' ? -1 : 1;
    i++;
    unsigned oh, om;
    if (n - i == 5 && s[i + 2] == ':') {
        if (!two_digits(s + i, &oh) || !two_digits(s + i + 3, &om)) return false;
    } else if (n - i == 4) {
        if (!two_digits(s + i, &oh) || !two_digits(s + i + 2, &om)) return false;
    } else {
        return false;
    }
    if (oh > 23 || om > 59) return false;
    ts->offset_min = sign * (int)(oh * 60 + om);
    ts->zoned = true;
    return true;
}

/* --- classify and infer -------------------------------------------------------------------- */

static bool ieq(const char *s, const char *lower, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != lower[i]) return false;
    return true;
}

static bool text_bool(const char *s, size_t n, bool *out)
{
    if (n == 4 && ieq(s, "true", 4)) { *out = true; return true; }
    if (n == 5 && ieq(s, "false", 5)) { *out = false; return true; }
    return false;
}

unsigned nb_value_classify(const char *s, size_t n)
{
    unsigned fits = NB_FITS_STRING;
    if (n == 0) return fits;
    char c = s[0];
    if (c == 't' || c == 'T' || c == 'f' || c == 'F') {
        bool b;
        if (text_bool(s, n, &b)) fits |= NB_FITS_BOOL;
        return fits;
    }
    if (n >= 10 && s[4] == '-' && s[7] == '-' && is_digit(c)) {
        int64_t y;
        unsigned m, d;
        if (n == 10) {
            if (scan_date(s, &y, &m, &d)) return fits | NB_FITS_DATE;
        } else {
            struct tsscan ts;
            if (scan_timestamp(s, n, &ts)) return fits | NB_FITS_TIMESTAMP | (ts.zoned ? NB_FITS_ZONED : 0);
        }
        /* not a date after all: "4.1e-0000000004" also has a '-' at index 4 */
    }
    struct numscan ns;
    if (!scan_number(s, n, &ns)) return fits;
    if (ns.i64_ok) fits |= NB_FITS_INT64;
    if (number_fits_double(&ns, s, n, NULL)) fits |= NB_FITS_FLOAT64;
    return fits;
}

struct nb_type nb_infer_result(unsigned state, bool any_value, bool any_zoned)
{
    if (!any_value) return nb_type_make(NB_TYPE_STRING);
    if (state & NB_FITS_BOOL) return nb_type_make(NB_TYPE_BOOL);
    if (state & NB_FITS_INT64) return nb_type_make(NB_TYPE_INT64);
    if (state & NB_FITS_FLOAT64) return nb_type_make(NB_TYPE_FLOAT64);
    if (state & NB_FITS_DATE) return nb_type_make(NB_TYPE_DATE);
    if (state & NB_FITS_TIMESTAMP) {
        struct nb_type t = nb_type_make(NB_TYPE_TIMESTAMP);
        t.utc = any_zoned;
        return t;
    }
    return nb_type_make(NB_TYPE_STRING);
}

/* --- parsers ------------------------------------------------------------------------------- */

bool nb_value_parse_bool(const char *s, size_t n, bool *out)
{
    return text_bool(s, n, out);
}

bool nb_value_parse_i64(const char *s, size_t n, int64_t *out)
{
    struct numscan ns;
    if (!scan_number(s, n, &ns) || !ns.i64_ok) return false;
    *out = ns.i64;
    return true;
}

bool nb_value_parse_i32(const char *s, size_t n, int32_t *out)
{
    int64_t v;
    if (!nb_value_parse_i64(s, n, &v) || v < INT32_MIN || v > INT32_MAX) return false;
    *out = (int32_t)v;
    return true;
}

bool nb_value_parse_f64(const char *s, size_t n, double *out)
{
    struct numscan ns;
    return scan_number(s, n, &ns) && number_fits_double(&ns, s, n, out);
}

bool nb_value_parse_date(const char *s, size_t n, int32_t *days)
{
    int64_t y;
    unsigned m, d;
    if (n != 10 || !scan_date(s, &y, &m, &d)) return false;
    *days = nb_days_from_civil(y, m, d);
    return true;
}

bool nb_value_parse_time(const char *s, size_t n, int64_t *micros)
{
    int64_t us;
    if (scan_clock(s, n, &us) != n || n == 0) return false;
    *micros = us;
    return true;
}

bool nb_value_parse_timestamp(const char *s, size_t n, int64_t *micros, bool *zoned)
{
    struct tsscan ts;
    if (!scan_timestamp(s, n, &ts)) return false;
    *micros = ts.days * 86400000000LL + ts.clock_us - (int64_t)ts.offset_min * 60000000LL;
    if (zoned) *zoned = ts.zoned;
    return true;
}

/* Decimal grammar: [-+]?digits[.digits]; leading zeros allowed (the value is unchanged). Counts
 * integer digits without leading zeros and fractional digits without trailing zeros. */
static bool scan_decimal(const char *s, size_t n, uint8_t precision, uint8_t scale, bool *neg,
                         size_t *int_start, size_t *int_end, size_t *frac_start, size_t *frac_sig_end)
{
    size_t i = 0;
    *neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+')) { *neg = s[i] == '-'; i++; }
    if (i >= n || !is_digit(s[i])) return false;
    while (i + 1 < n && s[i] == '0' && is_digit(s[i + 1])) i++;   /* leading zeros */
    size_t is = i;
    while (i < n && is_digit(s[i])) i++;
    size_t ie = i;
    if (ie - is == 1 && s[is] == '0') is = ie;                     /* "0" has no integer digits */
    size_t fs = i, fe = i;
    if (i < n && s[i] == '.') {
        i++;
        fs = i;
        if (i >= n || !is_digit(s[i])) return false;
        while (i < n && is_digit(s[i])) {
            if (s[i] != '0') fe = i + 1;
            i++;
        }
        if (fe < fs) fe = fs;
    }
    if (i != n) return false;
    size_t int_digits = ie - is, frac_digits = fe - fs;
    if (frac_digits > scale || int_digits > (size_t)(precision - scale)) return false;
    *int_start = is;
    *int_end = ie;
    *frac_start = fs;
    *frac_sig_end = fe;
    return true;
}

bool nb_value_parse_decimal(const char *s, size_t n, uint8_t precision, uint8_t scale, __int128 *unscaled)
{
    bool neg;
    size_t is, ie, fs, fe;
    if (precision < 1 || scale > precision) return false;
    if (!scan_decimal(s, n, precision, scale, &neg, &is, &ie, &fs, &fe)) return false;
    const unsigned __int128 limit = ~(unsigned __int128)0 >> 1;   /* INT128_MAX */
    unsigned __int128 v = 0;
    for (size_t i = is; i < ie; i++) {
        if (v > (limit - dval(s[i])) / 10) return false;   /* precision > 38 can exceed 128 bits */
        v = v * 10 + dval(s[i]);
    }
    size_t k = 0;
    for (size_t i = fs; i < fe; i++, k++) {
        if (v > (limit - dval(s[i])) / 10) return false;
        v = v * 10 + dval(s[i]);
    }
    for (; k < scale; k++) {
        if (v > limit / 10) return false;
        v *= 10;
    }
    *unscaled = neg ? -(__int128)v : (__int128)v;
    return true;
}

bool nb_value_fits(struct nb_type t, const char *s, size_t n)
{
    switch (t.id) {
    case NB_TYPE_BOOL: { bool b; return text_bool(s, n, &b); }
    case NB_TYPE_INT32: { int32_t v; return nb_value_parse_i32(s, n, &v); }
    case NB_TYPE_INT64: { int64_t v; return nb_value_parse_i64(s, n, &v); }
    case NB_TYPE_FLOAT64: {
        struct numscan ns;
        return scan_number(s, n, &ns) && number_fits_double(&ns, s, n, NULL);
    }
    case NB_TYPE_DECIMAL: {
        bool neg;
        size_t is, ie, fs, fe;
        if (t.precision < 1 || t.scale > t.precision) return false;
        return scan_decimal(s, n, t.precision, t.scale, &neg, &is, &ie, &fs, &fe);
    }
    case NB_TYPE_DATE: { int32_t d; return nb_value_parse_date(s, n, &d); }
    case NB_TYPE_TIME: { int64_t us; return nb_value_parse_time(s, n, &us); }
    case NB_TYPE_TIMESTAMP: { struct tsscan ts; return scan_timestamp(s, n, &ts); }
    case NB_TYPE_STRING: return nb_utf8_valid(s, n);
    case NB_TYPE_JSON: case NB_TYPE_BINARY: return true;   /* JSON text is checked by its parser */
    case NB_TYPE_NULL: case NB_TYPE_COUNT_: break;
    }
    return false;
}

/* --- formatters ---------------------------------------------------------------------------- */

static size_t format_u128(unsigned __int128 v, char *out)
{
    char tmp[40];
    size_t k = 0;
    do {
        tmp[k++] = (char)('0' + (unsigned)(v % 10));
        v /= 10;
    } while (v);
    for (size_t i = 0; i < k; i++) out[i] = tmp[k - 1 - i];
    out[k] = '\0';
    return k;
}

size_t nb_value_format_i64(int64_t v, char *out)
{
    size_t k = 0;
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    if (v < 0) out[k++] = '-';
    return k + format_u128(mag, out + k);
}

size_t nb_value_format_f64(double v, char *out, size_t cap)
{
    char buf[40];
    int len;
    if (isnan(v)) len = snprintf(buf, sizeof buf, "NaN");
    else if (isinf(v)) len = snprintf(buf, sizeof buf, v < 0 ? "-Infinity" : "Infinity");
    else {
        for (int prec = 15; prec <= 17; prec++) {
            len = snprintf(buf, sizeof buf, "%.*g", prec, v);
            if (strtod(buf, NULL) == v) break;
        }
    }
    if (len < 0 || (size_t)len >= cap) {
        if (cap) out[0] = '\0';
        return 0;
    }
    memcpy(out, buf, (size_t)len + 1);
    return (size_t)len;
}

size_t nb_value_format_date(int32_t days, char *out)
{
    int64_t y;
    unsigned m, d;
    nb_civil_from_days(days, &y, &m, &d);
    int len = y < 0 ? snprintf(out, 16, "-%04lld-%02u-%02u", (long long)-y, m, d)
                    : snprintf(out, 16, "%04lld-%02u-%02u", (long long)y, m, d);
    return len < 0 ? 0 : (size_t)len;
}

static size_t format_clock(int64_t us, char *out)
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    int len = snprintf(out, 20, "%02lld:%02lld:%02lld", (long long)(secs / 3600), (long long)(secs / 60 % 60),
                       (long long)(secs % 60));
    if (len < 0) return 0;
    if (frac) len += snprintf(out + len, 20 - (size_t)len, ".%06lld", (long long)frac);
    return (size_t)len;
}

size_t nb_value_format_time(int64_t micros, char *out)
{
    if (micros < 0 || micros >= 86400000000LL) {
        /* Out of a day's range: print the number rather than an invented clock. */
        return nb_value_format_i64(micros, out);
    }
    return format_clock(micros, out);
}

size_t nb_value_format_timestamp(int64_t micros, bool utc, char *out)
{
    int64_t days = micros / 86400000000LL, rem = micros % 86400000000LL;
    if (rem < 0) {   /* floor, without multiplying back (INT64_MIN would overflow) */
        rem += 86400000000LL;
        days--;
    }
    size_t len = nb_value_format_date((int32_t)days, out);
    out[len++] = 'T';
    len += format_clock(rem, out + len);
    if (utc) out[len++] = 'Z';
    out[len] = '\0';
    return len;
}

size_t nb_value_format_decimal(__int128 unscaled, uint8_t scale, char *out)
{
    size_t k = 0;
    unsigned __int128 mag = unscaled < 0 ? 0 - (unsigned __int128)unscaled : (unsigned __int128)unscaled;
    if (unscaled < 0) out[k++] = '-';
    char digits[48];
    size_t nd = format_u128(mag, digits);
    if (scale == 0) {
        memcpy(out + k, digits, nd + 1);
        return k + nd;
    }
    if (nd <= scale) {
        out[k++] = '0';
        out[k++] = '.';
        for (size_t i = nd; i < scale; i++) out[k++] = '0';
        memcpy(out + k, digits, nd);
        k += nd;
    } else {
        memcpy(out + k, digits, nd - scale);
        k += nd - scale;
        out[k++] = '.';
        memcpy(out + k, digits + nd - scale, scale);
        k += scale;
    }
    out[k] = '\0';
    return k;
}
