/* Values as text <-> native, by the type rules of DESIGN.md §5. One grammar for every source:
 * type inference (classify) and typed writers (parse) agree by construction. */
#ifndef NB_BATCH_VALUE_H
#define NB_BATCH_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch/schema.h"
#include "core/error.h"

/* Bit per type a text could be; nb_value_classify returns the set that fits. */
#define NB_FITS_BOOL      (1u << NB_TYPE_BOOL)
#define NB_FITS_INT64     (1u << NB_TYPE_INT64)
#define NB_FITS_FLOAT64   (1u << NB_TYPE_FLOAT64)
#define NB_FITS_DATE      (1u << NB_TYPE_DATE)
#define NB_FITS_TIMESTAMP (1u << NB_TYPE_TIMESTAMP)
#define NB_FITS_STRING    (1u << NB_TYPE_STRING)
/* Not a type: set with NB_FITS_TIMESTAMP when the timestamp carried a zone (Z or an offset).
 * Callers OR it into their any_zoned flag; nb_infer_result ignores it in state. */
#define NB_FITS_ZONED     (1u << 30)

/* Which inferable types the text fits (STRING always). int64: optional sign, no leading zeros
 * ("0" ok, "007" not), within int64 range; float64: [-+]?digits[.digits][e[-+]?digits], not NaN/Inf
 * (an int64 also fits float64) whose exact decimal value survives text -> double -> shortest text
 * ("0.1" fits; a 20-digit integer or 0.10000000000000001 does not: never silently rounded);
 * bool: true/false any case; date: YYYY-MM-DD (valid calendar date); timestamp: RFC 3339 /
 * ISO 8601 "YYYY-MM-DD[T ]hh:mm:ss[.frac][Z|±hh:mm|±hhmm]", at most 6 significant fraction digits,
 * no leap second. Fast: one pass, no allocation (a 16-17 digit float takes the slow exact check). */
unsigned nb_value_classify(const char *s, size_t n);

/* Inference over a column sample: fold one more value's fit set into the running state.
 * Start with state = 0 (nothing seen); nulls are not folded. */
static inline unsigned nb_infer_fold(unsigned state, unsigned fits, bool first)
{
    return first ? fits : (state & fits);
}
/* The type an inference state settles on: bool > int64 > float64 > date > timestamp > string
 * (a state that never saw a value is STRING). Timestamps with a zone give utc = true. */
struct nb_type nb_infer_result(unsigned state, bool any_value, bool any_zoned);

/* Does text fit type t (decimal: digits within precision/scale; string: valid UTF-8; json and
 * binary: anything)? Agrees with nb_value_classify. Cheap check for the hot path. */
bool nb_value_fits(struct nb_type t, const char *s, size_t n);

/* Parse text to native. Return false when it does not fit. */
bool nb_value_parse_bool(const char *s, size_t n, bool *out);
bool nb_value_parse_i64(const char *s, size_t n, int64_t *out);
bool nb_value_parse_i32(const char *s, size_t n, int32_t *out);
/* Correctly rounded (strtod); false for text that would not survive (the classify rule). */
bool nb_value_parse_f64(const char *s, size_t n, double *out);
bool nb_value_parse_date(const char *s, size_t n, int32_t *days);
bool nb_value_parse_time(const char *s, size_t n, int64_t *micros);  /* hh:mm:ss[.ffffff] */
/* Timestamp to microseconds since the epoch. A zone offset is applied (result is UTC); *zoned
 * tells whether the text had one. More than 6 fractional digits must be zeros, else false
 * (never silently rounded). */
bool nb_value_parse_timestamp(const char *s, size_t n, int64_t *micros, bool *zoned);
/* Decimal text to an unscaled 128-bit integer at `scale` (more fractional digits than scale, or
 * more digits than precision: false; trailing fractional zeros beyond scale are fine, they change
 * nothing; a value beyond 128 bits, possible above precision 38, is false). Accepts
 * [-+]?digits[.digits] and exponent-free only. */
bool nb_value_parse_decimal(const char *s, size_t n, uint8_t precision, uint8_t scale, __int128 *unscaled);

/* Native to text (for text destinations fed by native columns). Return bytes written (<= cap). */
size_t nb_value_format_i64(int64_t v, char *out);                 /* out >= 21 bytes */
size_t nb_value_format_f64(double v, char *out, size_t cap);      /* shortest round-trip form */
size_t nb_value_format_date(int32_t days, char *out);             /* out >= 16 */
size_t nb_value_format_time(int64_t micros, char *out);           /* out >= 20 */
size_t nb_value_format_timestamp(int64_t micros, bool utc, char *out);  /* out >= 40; RFC 3339 */
size_t nb_value_format_decimal(__int128 unscaled, uint8_t scale, char *out);  /* out >= 48 */

/* Days from civil date and back (proleptic Gregorian). */
int32_t nb_days_from_civil(int64_t y, unsigned m, unsigned d);
void nb_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif
