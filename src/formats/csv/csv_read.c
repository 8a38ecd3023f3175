/* The CSV reader: dialect options, record scanning (boundaries for the file source), the chunk
 * decoder (records -> TEXT columns, one copy per field, no allocation per value or row), header
 * parsing and type inference. Quote state comes from the prefix XOR of quote bits per 64 bytes. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/value.h"
#include "core/buf.h"
#include "core/str.h"
#include "formats/csv/csv.h"

/* ---- dialect --------------------------------------------------------------------------------- */

void nb_csv_dialect_init(struct nb_csv_dialect *d)
{
    memset(d, 0, sizeof *d);
    d->delimiter = ',';
    d->quote = '"';
    d->escape = '"';
    d->header = true;
    d->max_record_size = NB_CSV_DEFAULT_MAX_RECORD;
}

void nb_csv_dialect_cleanup(struct nb_csv_dialect *d)
{
    for (size_t i = 0; i < d->n_null_values; i++) free(d->null_values[i]);
    d->n_null_values = 0;
}

/* ---- the block walker ------------------------------------------------------------------------ */

#define RUN_BLOCKS 16   /* full blocks the decoder classifies per call (1 KiB) */

struct walker {
    const struct nb_csv_dialect *d;
    enum nb_csv_isa isa;
    bool esc_mode;       /* escape char differs from quote: scalar classification */
    bool pending_esc;    /* an escape char ended the previous block inside quotes */
    uint64_t carry;      /* all ones when the previous block ended inside quotes */
};

/* An escape character other than the quote: classification goes byte by byte. */
static bool dialect_escapes(const struct nb_csv_dialect *d) { return d->quote && d->escape && d->escape != d->quote; }

static void walker_init(struct walker *w, const struct nb_csv_dialect *d)
{
    w->d = d;
    w->isa = nb_csv_isa_active();
    w->esc_mode = dialect_escapes(d);
    w->pending_esc = false;
    w->carry = 0;
}

static inline void walker_reset(struct walker *w)
{
    w->pending_esc = false;
    w->carry = 0;
}

/* Escape mode: inside quotes, the escape char takes the next byte out of every mask. */
static void classify_escape(struct walker *w, const char *p, struct nb_csv_masks *m)
{
    const struct nb_csv_dialect *d = w->d;
    bool in_q = w->carry != 0, pend = w->pending_esc;
    uint64_t q = 0, dl = 0, lf = 0, cr = 0;
    for (unsigned i = 0; i < 64; i++) {
        char c = p[i];
        uint64_t bit = 1ull << i;
        if (pend) { pend = false; continue; }
        if (in_q && c == d->escape) { pend = true; continue; }
        if (c == d->quote) { q |= bit; in_q = !in_q; continue; }
        if (c == d->delimiter) dl |= bit;
        else if (c == '\n') lf |= bit;
        else if (c == '\r') cr |= bit;
    }
    w->pending_esc = pend;
    m->quote = q;
    m->delim = dl;
    m->lf = lf;
    m->cr = cr;
}

/* Classify 64 bytes from p (avail of them valid); returns the in-quotes mask. */
static inline uint64_t walker_block(struct walker *w, const char *p, size_t avail, struct nb_csv_masks *m)
{
    if (avail == 64 && !w->esc_mode) return nb_csv_block(w->isa, p, w->d->quote, w->d->delimiter, m, &w->carry);
    char tmp[64];
    uint64_t valid = ~0ull;
    if (avail < 64) {
        memcpy(tmp, p, avail);
        memset(tmp + avail, 0, 64 - avail);
        p = tmp;
        valid = (1ull << avail) - 1;
    }
    if (w->esc_mode) classify_escape(w, p, m);
    else nb_csv_classify(w->isa, p, w->d->quote, w->d->delimiter, m);
    m->quote &= valid;
    m->delim &= valid;
    m->lf &= valid;
    m->cr &= valid;
    uint64_t inq = nb_csv_prefix_xor(w->isa, m->quote) ^ w->carry;
    w->carry = 0 - (inq >> 63);
    return inq;
}

static inline bool is_comment(const struct nb_csv_dialect *d, const char *p, size_t avail)
{
    if (!d->comment[0] || avail == 0 || p[0] != d->comment[0]) return false;
    size_t cl = strlen(d->comment);
    return avail >= cl && memcmp(p, d->comment, cl) == 0;
}

/* Bit counts. The build targets baseline x86-64, which has no POPCNT instruction; the two loops
 * that count bits per 64-byte block (record scan and field index) are compiled twice, and the
 * loader picks the POPCNT copy on every CPU made since 2008 (the other calls libgcc's routine). */
static inline uint64_t pop64(uint64_t x) { return (uint64_t)__builtin_popcountll(x); }
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define NB_POPCNT_CLONES __attribute__((target_clones("popcnt", "default")))
#else
#define NB_POPCNT_CLONES
#endif

static uint64_t count_lf(const char *p, size_t n)
{
    uint64_t lines = 0;
    const char *end = p + n;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) { lines++; p++; }
    return lines;
}

/* Where the unterminated quoted field that runs to the end of buf[from..n) opened. */
static size_t find_open_quote(const struct nb_csv_dialect *d, const char *buf, size_t from, size_t n)
{
    bool in_q = false, pend = false;
    size_t open = from;
    for (size_t i = from; i < n; i++) {
        char c = buf[i];
        if (pend) { pend = false; continue; }
        if (in_q && d->escape != d->quote && c == d->escape) { pend = true; continue; }
        if (c == d->quote) {
            if (!in_q) open = i;
            in_q = !in_q;
        } else if (!in_q && c == '\n' && i + 1 < n && is_comment(d, buf + i + 1, n - i - 1)) {
            const char *lf = memchr(buf + i + 1, '\n', n - i - 1);
            if (!lf) break;
            i = (size_t)(lf - buf);
        }
    }
    return open;
}

static void line_col_of(const char *buf, size_t pos, uint64_t first_line, uint64_t *line, uint64_t *col)
{
    uint64_t l = first_line;
    size_t line_start = 0;
    for (size_t i = 0; i < pos; i++)
        if (buf[i] == '\n') { l++; line_start = i + 1; }
    *line = l;
    *col = pos - line_start + 1;
}

NB_POPCNT_CLONES nb_status nb_csv_scan_records(const struct nb_csv_dialect *d, const char *buf, size_t n, bool eof,
                              size_t max_records, struct nb_csv_scan *out, const char *where,
                              uint64_t first_line, struct nb_error *err)
{
    struct walker w;
    walker_init(&w, d);
    size_t pos = 0, last_end = 0, records = 0;
    uint64_t lines_before = 0, lines_at_end = 0;   /* LFs before pos / before last_end */
    bool comments = d->comment[0] != '\0';
    uint64_t run_lf[RUN_BLOCKS], run_inq[RUN_BLOCKS];
    size_t run_len = 0, run_next = 0;
    out->consumed = out->records = 0;
    out->lines = 0;
    if (max_records == 0) return NB_OK;

    while (pos < n && records < max_records) {
        if (comments && pos == last_end && w.carry == 0) {
            size_t cl = strlen(d->comment);
            if (n - pos < cl && !eof && memcmp(buf + pos, d->comment, n - pos) == 0) break;  /* can't tell yet */
            if (is_comment(d, buf + pos, n - pos)) {
                const char *lf = memchr(buf + pos, '\n', n - pos);
                if (!lf) {
                    if (eof) { records++; last_end = n; lines_at_end = lines_before; }
                    pos = n;
                    break;
                }
                pos = (size_t)(lf - buf) + 1;
                records++;
                lines_before++;
                last_end = pos;
                lines_at_end = lines_before;
                walker_reset(&w);
                continue;
            }
        }
        size_t avail = n - pos < 64 ? n - pos : 64;
        struct nb_csv_masks m;
        uint64_t inq;
        if (!comments && !w.esc_mode && avail == 64) {
            /* A run of full blocks per call, as in the decoder; a run cut short by max_records
             * leaves w.carry past the stop, which nothing reads (the next scan starts afresh). */
            if (run_next == run_len) {
                run_len = (n - pos) / 64 < RUN_BLOCKS ? (n - pos) / 64 : RUN_BLOCKS;
                run_next = 0;
                nb_csv_blocks_lf(w.isa, buf + pos, run_len, d->quote, run_lf, run_inq, &w.carry);
            }
            m.lf = run_lf[run_next];
            inq = run_inq[run_next++];
        } else {
            inq = walker_block(&w, buf + pos, avail, &m);
        }
        uint64_t rec = m.lf & ~inq;
        /* Most blocks end no batch and hold no comment: count their records at once. */
        uint64_t nrec = pop64(rec);
        if (!comments && records + nrec < max_records) {
            /* LFs inside quotes are rare: then every LF ends a record and one count does. */
            uint64_t nlf = m.lf == rec ? nrec : pop64(m.lf);
            if (rec) {
                unsigned last = 63 - (unsigned)__builtin_clzll(rec);
                records += nrec;
                last_end = pos + last + 1;
                /* the LFs up to and including the last record's: all but those after it */
                lines_at_end = lines_before + nlf - (m.lf == rec ? 0 : pop64(m.lf >> last >> 1));
            }
            lines_before += nlf;
            pos += avail;
            continue;
        }
        bool restart = false;
        while (rec) {
            unsigned i = (unsigned)__builtin_ctzll(rec);
            rec &= rec - 1;
            records++;
            uint64_t upto = i == 63 ? ~0ull : ((1ull << (i + 1)) - 1);
            last_end = pos + i + 1;
            lines_at_end = lines_before + pop64(m.lf & upto);
            if (records >= max_records) break;
            if (comments && last_end < n && (buf[last_end] == d->comment[0])) { restart = true; break; }
        }
        if (records >= max_records || restart) {
            pos = last_end;
            lines_before = lines_at_end;
            walker_reset(&w);
            run_len = run_next = 0;
            continue;
        }
        lines_before += pop64(m.lf);
        pos += avail;
    }
    if (records < max_records && eof && last_end < n) {
        if (pos >= n && w.carry != 0) {
            size_t open = find_open_quote(d, buf, last_end, n);
            uint64_t line, col;
            line_col_of(buf, open, first_line, &line, &col);
            return nb_error_set(err, NB_ERR_INVALID,
                                "%s:%llu:%llu: unterminated quoted field: the quote opened here is never closed "
                                "before the end of the file (check for a stray %c)",
                                where ? where : "csv", (unsigned long long)line, (unsigned long long)col, d->quote);
        }
        records++;
        lines_at_end += count_lf(buf + last_end, n - last_end);
        last_end = n;
    }
    out->consumed = last_end;
    out->records = records;
    out->lines = lines_at_end;
    return NB_OK;
}

/* Step pos past the line it is on. false: the line has no end in buf yet (pos moves to n when eof). */
static bool skip_line(const char *buf, size_t n, bool eof, size_t *pos, uint64_t *lines)
{
    const char *lf = memchr(buf + *pos, '\n', n - *pos);
    if (!lf) {
        if (eof) *pos = n;
        return false;
    }
    *pos = (size_t)(lf - buf) + 1;
    (*lines)++;
    return true;
}

nb_status nb_csv_preamble(const struct nb_csv_dialect *d, const char *buf, size_t n, bool eof, size_t *skip,
                          uint64_t *lines, size_t *header_at, struct nb_error *err)
{
    size_t pos = 0;
    uint64_t l = 0;
    *skip = 0;
    *lines = 0;
    *header_at = SIZE_MAX;
    if (n < 3 && !eof && memcmp(buf, "\xEF\xBB\xBF", n) == 0) return NB_AGAIN;
    if (n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) pos = 3;
    for (size_t r = 0; r < d->skip_rows; r++) {
        if (skip_line(buf, n, eof, &pos, &l)) continue;
        if (!eof) return NB_AGAIN;
        break;
    }
    if (d->header) {
        /* Comment lines before the header, then the header record itself. */
        for (;;) {
            size_t cl = strlen(d->comment);
            if (cl && n - pos < cl && !eof && memcmp(buf + pos, d->comment, n - pos) == 0) return NB_AGAIN;
            if (!is_comment(d, buf + pos, n - pos)) break;
            if (skip_line(buf, n, eof, &pos, &l)) continue;
            if (!eof) return NB_AGAIN;
            break;
        }
        if (pos < n) {
            struct nb_csv_scan sc;
            nb_status st = nb_csv_scan_records(d, buf + pos, n - pos, eof, 1, &sc, "header", l + 1, err);
            if (st != NB_OK) return st;
            if (sc.records == 0) return eof ? NB_OK : NB_AGAIN;
            *header_at = pos;
            pos += sc.consumed;
            l += sc.lines;
        } else if (!eof) {
            return NB_AGAIN;
        }
    }
    *skip = pos;
    *lines = l;
    return NB_OK;
}

/* ---- decoding -------------------------------------------------------------------------------- */

enum bad_kind { BAD_NONE = 0, BAD_QUOTE_AFTER, BAD_QUOTE_INNER, BAD_UTF8, BAD_FIELDS };

struct dec {
    const struct nb_csv_dialect *d;
    const struct nb_csv_chunk *c;
    struct nb_batch *b;
    struct nb_bad_record_sink *sink;
    size_t ncols;
    bool typed;                 /* some column is not STRING: check fits */
    bool *check;                /* per column: check type fit */
    /* current record */
    size_t col;
    size_t rec_start;
    enum bad_kind bad;
    size_t bad_pos;             /* byte where the problem is */
    bool last_empty;            /* the last field ended was empty and unquoted */
    /* lazily counted lines */
    size_t counted_upto;
    uint64_t counted_lines;
    size_t bad_utf8;            /* next invalid UTF-8 byte at or after rec_start, or len */
    size_t locs_cap;            /* rows b->locs has room for (0: no locations kept) */
    size_t expected_rows;       /* the chunk's record count hint (0: unknown) */
    /* copies of the above for the per-field path (one load instead of a pointer chase) */
    struct nb_column *cols;
    const char *data;
    size_t len;
    char quote;                 /* '\0' = quoting off (a NUL byte then takes the slow path, which knows) */
    bool null_values;
};

static bool null_match(const struct nb_csv_dialect *d, const char *p, size_t n)
{
    for (size_t i = 0; i < d->n_null_values; i++) {
        const char *nv = d->null_values[i];
        if (strlen(nv) == n && memcmp(nv, p, n) == 0) return true;
    }
    return false;
}

/* Append a quoted field's content, collapsing escapes. False when a quote inside is not doubled. */
static bool append_unescaped(struct dec *x, struct nb_column *col, const char *p, size_t n)
{
    if (col->len >= col->cap && !nb_column_grow(col, col->len + 1)) return true;
    if (col->data_cap - col->data_len < n && !nb_column_grow_data(col, n)) return true;
    char *o = col->data + col->data_len;
    char q = x->d->quote, e = x->d->escape;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (e != q && ch == e && i + 1 < n) { o[k++] = p[++i]; continue; }
        if (ch == q) {
            if (i + 1 < n && p[i + 1] == q) { o[k++] = q; i++; continue; }
            return false;
        }
        o[k++] = ch;
    }
    col->data_len += k;
    nb_bit_set(col->validity, col->len);
    col->offsets[col->len + 1] = (uint32_t)col->data_len;
    col->len++;
    return true;
}

static inline bool two_digits_le(const char *s, unsigned max)
{
    unsigned a = (unsigned)(unsigned char)s[0] - '0', b = (unsigned)(unsigned char)s[1] - '0';
    return a < 10 && b < 10 && a * 10 + b <= max;
}

/* "YYYY-MM-DD" with a month 01..12 and a day 01..28, which every month has: valid without the
 * calendar. Days 29..31 take the exact path. */
static inline bool date_fast(const char *s)
{
    return two_digits_le(s, 99) && two_digits_le(s + 2, 99) && s[4] == '-' && two_digits_le(s + 5, 12) &&
           s[7] == '-' && two_digits_le(s + 8, 28) && !(s[5] == '0' && s[6] == '0') && !(s[8] == '0' && s[9] == '0');
}

/* "YYYY-MM-DD[Tt ]hh:mm:ss" with an optional Z: the common timestamp shape (no fraction, no offset). */
static inline bool timestamp_fast(const char *s, size_t n)
{
    if (n != 19 && !(n == 20 && (s[19] == 'Z' || s[19] == 'z'))) return false;
    return date_fast(s) && (s[10] == 'T' || s[10] == 't' || s[10] == ' ') && two_digits_le(s + 11, 23) &&
           s[13] == ':' && two_digits_le(s + 14, 59) && s[16] == ':' && two_digits_le(s + 17, 59);
}

/* Fast answers for the common shapes, exactly as nb_value_fits would give them: a plain integer
 * of at most 18 digits without leading zeros fits int64 (and float64); a plain decimal with at
 * most 15 digits fits float64; dates and timestamps of the usual shape (above). Anything else
 * asks nb_value_fits. */
enum fit { FIT_NO, FIT_YES, FIT_PLAIN_NUMBER };

static __attribute__((noinline)) enum fit fit_kind_ref(struct nb_type t, const char *s, size_t n)
{
    if (t.id == NB_TYPE_INT64 || t.id == NB_TYPE_FLOAT64) {
        size_t i = (n && s[0] == '-') ? 1 : 0, digits = 0, int_digits = 0;
        bool point = false;
        if (i < n && s[i] >= '0' && s[i] <= '9' && !(s[i] == '0' && i + 1 < n && s[i + 1] != '.')) {
            for (; i < n; i++) {
                char c = s[i];
                if (c >= '0' && c <= '9') { digits++; if (!point) int_digits++; continue; }
                if (c == '.' && !point && i + 1 < n) { point = true; continue; }
                break;
            }
            if (i == n) {
                if (t.id == NB_TYPE_INT64 && !point && digits <= 18 && !(n == 2 && s[0] == '-' && s[1] == '0'))
                    return FIT_PLAIN_NUMBER;
                if (t.id == NB_TYPE_FLOAT64 && digits <= 15 && int_digits >= 1) return FIT_PLAIN_NUMBER;
            }
        }
    } else if (t.id == NB_TYPE_TIMESTAMP) {
        if (timestamp_fast(s, n)) return FIT_YES;
    } else if (t.id == NB_TYPE_DATE) {
        if (n == 10 && date_fast(s)) return FIT_YES;
    } else if (t.id == NB_TYPE_BOOL) {
        if (n == 4 && (s[0] | 0x20) == 't' && (s[1] | 0x20) == 'r' && (s[2] | 0x20) == 'u' && (s[3] | 0x20) == 'e') return FIT_YES;
        if (n == 5 && (s[0] | 0x20) == 'f' && (s[1] | 0x20) == 'a' && (s[2] | 0x20) == 'l' && (s[3] | 0x20) == 's' &&
            (s[4] | 0x20) == 'e')
            return FIT_YES;
    }
    return nb_value_fits(t, s, n) ? FIT_YES : FIT_NO;
}

#if defined(__SSE2__)
#include <emmintrin.h>

/* Bit i set where byte i of v is an ASCII digit. */
static inline unsigned digit_bits(__m128i v)
{
    __m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d));
}

/* fit_kind_ref's plain-number answer from one 16-byte load (16 bytes at s must be readable,
 * n <= 16): digits and at most one inner '.', an optional leading '-', no leading zero. false
 * means "ask fit_kind_ref", never "does not fit". */
static inline bool plain_number_simd(enum nb_type_id id, const char *s, size_t n)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
    unsigned valid = (1u << n) - 1, lead = n && s[0] == '-';
    unsigned dig = digit_bits(v) & valid;
    unsigned dot = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.'))) & valid;
    if (n <= lead || (dig | dot) != (valid & ~lead) || !((dig >> lead) & 1)) return false;
    bool zero = s[lead] == '0';
    if (!dot) {
        size_t digits = n - lead;
        if (zero && digits > 1) return false;
        if (id == NB_TYPE_INT64) return digits <= 18 && !(lead && zero);
        return digits <= 15;
    }
    unsigned at = (unsigned)__builtin_ctz(dot);
    if (id != NB_TYPE_FLOAT64 || (dot & (dot - 1)) || at == n - 1 || (zero && at != lead + 1)) return false;
    return n - lead - 1 <= 15;
}

/* timestamp_fast from one load: the 12 digit positions of "YYYY-MM-DDThh:mm" at once. */
static inline bool timestamp_simd(const char *s, size_t n)
{
    if (n != 19 && !(n == 20 && (s[19] | 0x20) == 'z')) return false;
    const unsigned digits_at = 0xDB6Fu;   /* bytes 0-3, 5-6, 8-9, 11-12, 14-15 */
    unsigned dig = digit_bits(_mm_loadu_si128((const __m128i *)(const void *)s));
    if ((dig & digits_at) != digits_at || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' ||
        !(s[10] == 'T' || s[10] == 't' || s[10] == ' ') || (unsigned)(s[17] - '0') > 5 || (unsigned)(s[18] - '0') > 9)
        return false;
#define NB_D2(i) ((unsigned)(s[i] - '0') * 10 + (unsigned)(s[(i) + 1] - '0'))
    unsigned mon = NB_D2(5), day = NB_D2(8);
    return mon - 1 < 12 && day - 1 < 28 && NB_D2(11) <= 23 && NB_D2(14) <= 59;
#undef NB_D2
}
#endif

/* The decoder's check: the vector shortcuts first when the bytes allow a whole load
 * (`readable16`: 16 bytes from s are inside the buffer), else (and for every other case) the
 * reference. Both give the same answers: test_vector_fits_agree and fuzz_scanner hold them to it. */
static inline __attribute__((always_inline)) enum fit fit_kind(struct nb_type t, const char *s, size_t n, bool readable16)
{
#if defined(__SSE2__)
    if ((t.id == NB_TYPE_INT64 || t.id == NB_TYPE_FLOAT64) && readable16 && n <= 16 && plain_number_simd(t.id, s, n))
        return FIT_PLAIN_NUMBER;
    if (t.id == NB_TYPE_TIMESTAMP && timestamp_simd(s, n)) return FIT_YES;
    if (t.id == NB_TYPE_BOOL && readable16 && (n == 4 || n == 5)) {
        uint64_t w, want;   /* the value's bytes as one word, ASCII letters folded to lower case */
        memcpy(&w, s, 8);
        memcpy(&want, n == 4 ? "true\0\0\0\0" : "false\0\0\0", 8);
        uint64_t keep = n == 4 ? 0xFFFFFFFFull : 0xFFFFFFFFFFull;
        if (((w | 0x2020202020ull) & keep) == want) return FIT_YES;
    }
#else
    (void)readable16;
#endif
    return fit_kind_ref(t, s, n);
}

int nb_csv_fit_kind(struct nb_type t, const char *s, size_t n, bool vector)
{
    return (int)(vector ? fit_kind(t, s, n, true) : fit_kind_ref(t, s, n));
}

/* Type checks run a column at a time once the chunk is decoded: one loop per column type (the
 * type is a constant in it), over text that is still in cache. A numeric column stays "plain"
 * only while every value took the plain-number path. Values appended by append_field have 32
 * spare bytes behind them in the column, so the vector shortcuts can load them whole. */
/* Check value r (text s, n bytes; readable16 as for fit_kind) of col against type t: a value that
 * does not fit is marked a mismatch. False when it is not a plain number. The column-at-a-time
 * loop keeps col->len behind its values until the end, so a mark moves it past r first. */
static inline __attribute__((always_inline)) bool check_value(struct nb_column *col, size_t r, struct nb_type t,
                                                              const char *s, size_t n, bool readable16)
{
    enum fit f = fit_kind(t, s, n, readable16);
    if (f == FIT_NO) {
        if (col->len <= r) col->len = r + 1;
        nb_column_mark_mismatch_at(col, r);
    }
    return f == FIT_PLAIN_NUMBER;
}

static inline __attribute__((always_inline)) void check_column_as(struct nb_column *col, size_t from, struct nb_type t)
{
    for (size_t r = from; r < col->len; r++) {
        if (col->null_count && !nb_bit_get(col->validity, r)) continue;
        uint32_t a = col->offsets[r];
        if (!check_value(col, r, t, col->data + a, col->offsets[r + 1] - a, a + 16 <= col->data_cap))
            col->plain_numbers = false;
    }
}

static void check_column(struct nb_column *col, size_t from)
{
    struct nb_type t = col->type;
    switch (t.id) {
    case NB_TYPE_INT64: t.id = NB_TYPE_INT64; check_column_as(col, from, t); break;
    case NB_TYPE_FLOAT64: t.id = NB_TYPE_FLOAT64; check_column_as(col, from, t); break;
    case NB_TYPE_TIMESTAMP: t.id = NB_TYPE_TIMESTAMP; check_column_as(col, from, t); break;
    case NB_TYPE_BOOL: t.id = NB_TYPE_BOOL; check_column_as(col, from, t); break;
    default: check_column_as(col, from, t); break;
    }
}

bool nb_csv_value_fits(struct nb_type t, const char *s, size_t n) { return fit_kind_ref(t, s, n) != FIT_NO; }

/* A quoted field, or one that may be a null string: the rarer cases, kept out of the loop. */
static __attribute__((noinline)) void dec_field_slow(struct dec *x, struct nb_column *col, size_t start, size_t end)
{
    const char *p = x->c->data + start;
    size_t n = end - start;
    const struct nb_csv_dialect *d = x->d;
    if (d->quote && p[0] == d->quote) {
        if (n < 2 || p[n - 1] != d->quote) {
            if (!x->bad) { x->bad = BAD_QUOTE_AFTER; x->bad_pos = start; }
            nb_column_append_null(col);
            return;
        }
        const char *in = p + 1;
        size_t inn = n - 2;
        /* "" is the empty string: make sure the column has a data buffer to point into. */
        if (inn == 0 && !col->data && !nb_column_grow_data(col, 16)) return;
        bool special = memchr(in, d->quote, inn) != NULL || (d->escape != d->quote && memchr(in, d->escape, inn));
        if (!special) nb_column_append_text(col, in, inn);
        else if (!append_unescaped(x, col, in, inn)) {
            if (!x->bad) { x->bad = BAD_QUOTE_INNER; x->bad_pos = start; }
            nb_column_append_null(col);
            return;
        }
        return;
    }
    if (d->n_null_values && null_match(d, p, n)) { nb_column_append_null(col); return; }
    nb_column_append_text(col, p, n);
}

/* Append an unquoted field. `wide`: 32 bytes at p are inside the chunk, so a value of up to 32
 * bytes is copied with two fixed 16-byte moves (the column keeps 32 spare bytes for that)
 * instead of a length-dependent copy. */
static inline void append_field(struct nb_column *col, const char *p, size_t n, bool wide)
{
    if (col->len >= col->cap && !nb_column_grow(col, col->len + 1)) return;
    if (col->data_cap - col->data_len < n + 32 && !nb_column_grow_data(col, n + 32)) return;
    /* Locals: the byte stores below may alias anything, so fields read after them would be
     * loaded again. */
    size_t len = col->len, end = col->data_len + n;
    char *o = col->data + col->data_len;
    uint8_t *valid = col->validity;
    uint32_t *offsets = col->offsets;
    if (wide && n <= 32) {
        memcpy(o, p, 16);
        memcpy(o + 16, p + 16, 16);
    } else {
        nb_copy_short(o, p, n);
    }
    nb_bit_set(valid, len);
    offsets[len + 1] = (uint32_t)end;
    col->data_len = end;
    col->len = len + 1;
}

static inline __attribute__((always_inline)) void dec_field(struct dec *x, size_t start, size_t end)
{
    size_t ci = x->col++;
    size_t n = end - start;
    x->last_empty = (n == 0);
    if (ci >= x->ncols) {
        if (!x->bad) x->bad = BAD_FIELDS;
        return;
    }
    struct nb_column *col = &x->cols[ci];
    if (n == 0) { nb_column_append_null(col); return; }
    const char *p = x->data + start;
    if (p[0] == x->quote || x->null_values) {
        dec_field_slow(x, col, start, end);
        x->last_empty = false;
        return;
    }
    append_field(col, p, n, start + 32 <= x->len);
}

static uint64_t dec_line_at(struct dec *x, size_t pos)
{
    if (pos < x->counted_upto) {   /* not expected: restart */
        x->counted_upto = 0;
        x->counted_lines = 0;
    }
    x->counted_lines += count_lf(x->c->data + x->counted_upto, pos - x->counted_upto);
    x->counted_upto = pos;
    return x->c->first_line + x->counted_lines;
}

/* After the first rows of a batch: give each column room for its own share of the chunk, as
 * those rows show it (an email column holds more than a flag column), plus a quarter, so most
 * batches decode without moving a column's text. */
#define SIZE_SAMPLE_ROWS 32
static void reserve_from_sample(struct dec *x)
{
    for (size_t i = 0; i < x->ncols; i++) {
        struct nb_column *col = &x->cols[i];
        size_t want = col->data_len / SIZE_SAMPLE_ROWS * (x->expected_rows - SIZE_SAMPLE_ROWS) * 5 / 4 + 64;
        if (want > x->len) want = x->len + 64;
        nb_column_grow_data(col, want);
    }
}

/* The record [rec_start, end) (end excludes the LF) is finished; returns an error only when the
 * bad-record policy says stop. */
static nb_status dec_record(struct dec *x, size_t end, size_t next, struct nb_error *err)
{
    struct nb_batch *b = x->b;
    size_t nfields = x->col;
    if (!x->bad && x->bad_utf8 < next) { x->bad = BAD_UTF8; x->bad_pos = x->bad_utf8; }
    if (!x->bad && nfields == 1 && x->last_empty && x->ncols != 1) {
        nb_batch_truncate(b, b->n_rows);   /* a blank line: not a record */
        goto done;
    }
    if (!x->bad && nfields != x->ncols) x->bad = BAD_FIELDS;
    if (!x->bad) {
        if (b->n_rows < x->locs_cap) b->locs[b->n_rows].offset = x->rec_start;
        b->n_rows++;
        if (b->n_rows == SIZE_SAMPLE_ROWS && x->expected_rows > 2 * SIZE_SAMPLE_ROWS) reserve_from_sample(x);
        goto done;
    }
    nb_batch_truncate(b, b->n_rows);
    {
        size_t at = x->bad == BAD_FIELDS ? x->rec_start : x->bad_pos;
        uint64_t line = dec_line_at(x, x->rec_start);
        size_t ls = x->rec_start;
        uint64_t l = line;
        for (size_t i = x->rec_start; i < at; i++)
            if (x->c->data[i] == '\n') { l++; ls = i + 1; }
        char loc[600], reason[300];
        snprintf(loc, sizeof loc, "%s:%llu:%llu", x->c->where ? x->c->where : "csv", (unsigned long long)l,
                 (unsigned long long)(at - ls + 1));
        switch (x->bad) {
        case BAD_FIELDS:
            snprintf(reason, sizeof reason, "record has %zu field%s, expected %zu (more or fewer fields than the header)",
                     nfields, nfields == 1 ? "" : "s", x->ncols);
            break;
        case BAD_QUOTE_AFTER:
            snprintf(reason, sizeof reason, "quoted field is not closed properly (text after the closing quote)");
            break;
        case BAD_QUOTE_INNER:
            snprintf(reason, sizeof reason, "a quote inside a quoted field must be doubled");
            break;
        default:
            snprintf(reason, sizeof reason, "invalid UTF-8 in the record");
            break;
        }
        struct nb_bad_record rec = {x->c->stream, loc, reason, x->c->data + x->rec_start, end - x->rec_start};
        b->bad_records++;
        nb_status st = nb_bad_record_report(x->sink, &rec, err);
        if (st != NB_OK) return st;
    }
done:
    if (x->bad_utf8 < next) {
        size_t rest = x->c->len - next;
        x->bad_utf8 = next + nb_utf8_valid_prefix(x->c->data + next, rest);
    }
    x->col = 0;
    x->bad = BAD_NONE;
    x->rec_start = next;
    return NB_OK;
}

/* Offsets (relative to the chunk) -> file offsets and lines; or drop the locations when no value
 * needs them. */
static void finish_locs(struct dec *x)
{
    struct nb_batch *b = x->b;
    bool needed = false;
    for (size_t i = 0; i < x->ncols; i++)
        if (b->cols[i].mismatch_count) needed = true;
    if (!needed || b->n_rows > x->locs_cap) {
        b->locs = NULL;
        return;
    }
    const char *data = x->c->data;
    size_t at = 0;
    uint64_t lines = 0;
    for (size_t r = 0; r < b->n_rows; r++) {
        size_t off = (size_t)b->locs[r].offset;
        lines += count_lf(data + at, off - at);
        at = off;
        b->locs[r].line = x->c->first_line + lines;
        b->locs[r].offset = x->c->first_offset + off;
    }
}

/* Where a column's plain_numbers starts before decoding: only a batch decoded here from its first
 * row can vouch for all of its values, and only numbers can be plain. */
static bool plain_numbers_start(const struct nb_batch *b, size_t col)
{
    enum nb_type_id t = b->cols[col].type.id;
    return b->n_rows == 0 && (t == NB_TYPE_INT64 || t == NB_TYPE_FLOAT64);
}

/* ---- the column-at-a-time path ------------------------------------------------------------- */

/* Most chunks are regular: every record has exactly the header's number of fields, no blank or
 * comment line, valid UTF-8, no broken quoting. Those are decoded in two passes instead of the
 * record walk below:
 *   1. one pass over the blocks writes the position of every structural delimiter and LF
 *      (outside quotes) to an index; record r's field c then ends at index[r * ncols + c];
 *   2. one loop per column copies that column's fields, so the column, its buffers and its kind
 *      of value stay the same through the loop, and nothing is decided per field but the field.
 * Anything irregular (a field count off, a bad quote, a blank line) sends the chunk back to the
 * record walk, which knows how to report it; the two give the same batch (the fuzz target
 * fuzz_csv and test_columnar_matches_record_walk hold them to it). */
#define COLUMNAR_MAX_LEN ((size_t)UINT32_MAX - 64)

static atomic_bool columnar_on = true;

bool nb_csv_columnar(bool on) { return atomic_exchange(&columnar_on, on); }

/* Positions of the structural bytes (delimiters and LFs outside quotes) of the chunk into idx
 * (room for max + 64); how many, or SIZE_MAX when there are more than max or the chunk ends inside
 * quotes. `lfs`: how many of them are LFs (the caller checks they end the records). */
NB_POPCNT_CLONES static size_t index_structurals(struct dec *x, uint32_t *idx, size_t max, size_t *lfs)
{
    const struct nb_csv_dialect *d = x->d;
    const char *buf = x->data;
    size_t n = x->len, k = 0, nlf = 0, pos = 0;
    struct walker w;
    walker_init(&w, d);
    struct nb_csv_masks run_m[RUN_BLOCKS];
    uint64_t run_inq[RUN_BLOCKS];
    while (pos < n) {
        size_t blocks = (n - pos) / 64;
        if (blocks) {
            if (blocks > RUN_BLOCKS) blocks = RUN_BLOCKS;
            nb_csv_blocks(w.isa, buf + pos, blocks, d->quote, d->delimiter, run_m, run_inq, &w.carry);
        } else {
            blocks = 1;
            run_inq[0] = walker_block(&w, buf + pos, n - pos, &run_m[0]);
        }
        for (size_t i = 0; i < blocks; i++, pos += 64) {
            uint64_t lf = run_m[i].lf & ~run_inq[i];
            uint64_t s = (run_m[i].delim & ~run_inq[i]) | lf;
            nlf += pop64(lf);
            while (s) {
                idx[k++] = (uint32_t)(pos + (unsigned)__builtin_ctzll(s));
                s &= s - 1;
            }
            if (k > max) return SIZE_MAX;
        }
    }
    if (w.carry) return SIZE_MAX;
    *lfs = nlf;
    return k;
}

/* Give a column room for its rows, and for its text as its first rows suggest (as
 * reserve_from_sample does); false when out of memory (the column's oom flag is set). */
static bool columnar_reserve(struct nb_column *col, const uint32_t *ends, size_t ncols, size_t rows, size_t n)
{
    size_t sample = rows < SIZE_SAMPLE_ROWS ? rows : SIZE_SAMPLE_ROWS, bytes = 0;
    for (const uint32_t *e = ends; e < ends + sample * ncols; e += ncols) bytes += (uint32_t)(e[0] - e[-1] - 1);
    size_t want = sample ? bytes / sample * rows * 5 / 4 + 64 : 64;
    if (want > n) want = n + 64;
    return nb_column_grow(col, rows) && nb_column_grow_data(col, want);
}

/* One column's fields: ends[r * ncols] is where row r's field ends, ends[r * ncols - 1] + 1
 * where it starts. The column's state lives in locals through the loop (a store through the
 * char pointer would otherwise make the compiler reload every field of *col), and validity is
 * written a byte (8 rows) at a time. `last`: the record's last field, whose end may hold a CR.
 * False when a field is badly quoted (the record walk then reports it). */
static inline __attribute__((always_inline)) bool columnar_column(struct dec *x, struct nb_column *col,
                                                                  const uint32_t *ends, size_t ncols, size_t rows,
                                                                  bool last, struct nb_type type, bool check)
{
    if (!columnar_reserve(col, ends, ncols, rows, x->len)) return true;   /* nb_batch_check reports it */
    const char *buf = x->data;
    const char quote = x->quote;
    /* A field starting before wide_end has 32 readable bytes: a short one takes two fixed moves. */
    const ptrdiff_t wide_end = (ptrdiff_t)x->len - 32;
    char *data = col->data;
    size_t dlen = col->data_len, dcap = col->data_cap, nulls = 0;
    uint32_t *offsets = col->offsets;
    uint8_t *valid = col->validity;
    bool plain = col->plain_numbers;
    const uint32_t *e = ends;
    for (size_t r0 = 0; r0 < rows; r0 += 8) {
        size_t group = rows - r0 < 8 ? rows - r0 : 8;
        unsigned vbyte = (1u << group) - 1;   /* present unless found empty */
        for (size_t k = 0; k < group; k++, e += ncols) {
            uint32_t start = e[-1] + 1, end = e[0];
            if (last && end > start && buf[end - 1] == '\r') end--;
            size_t n = end - start;
            const char *p = buf + start;
            if (n == 0) {
                nulls++;
                vbyte &= ~(1u << k);
            } else if (p[0] != quote) {
                if (dcap - dlen < n + 32) {
                    col->data_len = dlen;
                    if (!nb_column_grow_data(col, n + 32)) return true;
                    data = col->data;
                    dcap = col->data_cap;
                }
                bool wide = (ptrdiff_t)start < wide_end;
                if (n <= 32 && wide) {
                    memcpy(data + dlen, p, 16);
                    memcpy(data + dlen + 16, p + 16, 16);
                } else {
                    nb_copy_short(data + dlen, p, n);
                }
                dlen += n;
                /* The type check while the value is at hand (check_column's job on the other path). */
                if (check && !check_value(col, r0 + k, type, p, n, wide)) plain = false;
            } else {
                /* Quoted: the record walk's own field code appends it (and sets or clears its bit). */
                size_t r = r0 + k;
                valid[r >> 3] = (uint8_t)vbyte;
                col->len = r;
                col->data_len = dlen;
                col->null_count += nulls;
                nulls = 0;
                dec_field_slow(x, col, start, end);
                if (x->bad != BAD_NONE || col->oom) return x->bad == BAD_NONE;
                uint32_t a = offsets[r];
                if (check && nb_bit_get(col->validity, r) &&
                    !check_value(col, r, type, col->data + a, col->data_len - a, a + 16 <= col->data_cap))
                    plain = false;
                data = col->data;
                dlen = col->data_len;
                dcap = col->data_cap;
                vbyte = valid[r >> 3] | (((1u << group) - 1) & ~((2u << k) - 1));
            }
            offsets[r0 + k + 1] = (uint32_t)dlen;
        }
        valid[r0 >> 3] = (uint8_t)vbyte;
    }
    col->len = rows;
    col->data_len = dlen;
    col->null_count += nulls;
    col->plain_numbers = plain;
    return true;
}

/* columnar_column with the column's type made a constant (as check_column does), and whether it is
 * the record's last (the only one that may end in a CR); the last column takes the general check. */
static bool columnar_column_of(struct dec *x, size_t c, const uint32_t *ends, size_t ncols, size_t rows)
{
    struct nb_column *col = &x->cols[c];
    struct nb_type t = col->type;
    const uint32_t *e = ends + c;
    if (c + 1 == ncols) return columnar_column(x, col, e, ncols, rows, true, t, x->check[c]);
    if (!x->check[c]) return columnar_column(x, col, e, ncols, rows, false, t, false);
    switch (t.id) {
    case NB_TYPE_INT64: t.id = NB_TYPE_INT64; return columnar_column(x, col, e, ncols, rows, false, t, true);
    case NB_TYPE_FLOAT64: t.id = NB_TYPE_FLOAT64; return columnar_column(x, col, e, ncols, rows, false, t, true);
    case NB_TYPE_TIMESTAMP: t.id = NB_TYPE_TIMESTAMP; return columnar_column(x, col, e, ncols, rows, false, t, true);
    case NB_TYPE_BOOL: t.id = NB_TYPE_BOOL; return columnar_column(x, col, e, ncols, rows, false, t, true);
    default: return columnar_column(x, col, e, ncols, rows, false, t, true);
    }
}

/* Decode the chunk column by column; false (and the batch as it was, empty) when it is not
 * regular. Called only for an empty batch with expected_rows known and valid UTF-8. */
static bool decode_columnar(struct dec *x)
{
    struct nb_batch *b = x->b;
    const char *buf = x->data;
    size_t n = x->len, ncols = x->ncols;
    size_t max = x->expected_rows * ncols;
    if (max / ncols != x->expected_rows || max > n + 1) return false;
    uint32_t *mem = malloc((max + 64 + 2) * sizeof *mem);
    if (!mem) return false;
    /* ends[-1] = UINT32_MAX, so record 0's first field starts at ends[-1] + 1 = 0 (32-bit wrap). */
    uint32_t *ends = mem + 1;
    mem[0] = UINT32_MAX;
    size_t lfs = 0, k = index_structurals(x, ends, max, &lfs);
    bool ok = k != SIZE_MAX;
    if (ok) {
        /* The last record may have no LF: it ends at n. */
        size_t field_start = k ? (size_t)ends[k - 1] + 1 : 0;
        if (field_start < n || (k && buf[ends[k - 1]] != '\n')) ends[k++] = (uint32_t)n;
        else if (k == 0) ok = false;
    }
    size_t rows = ok ? k / ncols : 0;
    ok = ok && k % ncols == 0 && rows <= x->expected_rows;
    /* Regular: every record's last field ends at an LF (or the end), and there are no other LFs. */
    if (ok) ok = lfs == rows - (ends[k - 1] == n);
    for (size_t r = 0; ok && r < rows; r++) {
        uint32_t e = ends[r * ncols + ncols - 1];
        if (e != n && buf[e] != '\n') ok = false;
    }
    for (size_t c = 0; ok && c < ncols; c++) ok = columnar_column_of(x, c, ends, ncols, rows);
    if (ok) {
        b->n_rows = rows;
        const uint32_t *e = ends;
        for (size_t r = 0; r < rows && r < x->locs_cap; r++, e += ncols) b->locs[r].offset = (uint32_t)(e[-1] + 1);
    } else {
        nb_batch_truncate(b, 0);
        for (size_t c = 0; c < ncols; c++) b->cols[c].plain_numbers = plain_numbers_start(b, c);
        x->bad = BAD_NONE;
        x->bad_pos = 0;
    }
    free(mem);
    return ok;
}

nb_status nb_csv_decode(const struct nb_csv_dialect *d, const struct nb_csv_chunk *c, struct nb_batch *b,
                        struct nb_bad_record_sink *sink, struct nb_error *err)
{
    struct dec x;
    memset(&x, 0, sizeof x);
    x.d = d;
    x.c = c;
    x.b = b;
    x.sink = sink;
    x.ncols = b->schema ? b->schema->n_fields : 0;
    size_t first_row = b->n_rows;
    x.cols = b->cols;
    x.data = c->data;
    x.len = c->len;
    x.quote = d->quote;
    x.null_values = d->n_null_values > 0;
    x.expected_rows = c->expected_rows;
    bool check_stack[64];
    x.check = x.ncols <= 64 ? check_stack : calloc(x.ncols, sizeof *x.check);
    if (!x.check) return nb_error_set(err, NB_ERR_NOMEM, "out of memory decoding %s", c->where ? c->where : "csv");
    for (size_t i = 0; i < x.ncols; i++) {
        enum nb_type_id t = b->cols[i].type.id;
        x.check[i] = t != NB_TYPE_STRING && t != NB_TYPE_NULL && t != NB_TYPE_BINARY && t != NB_TYPE_JSON;
        b->cols[i].plain_numbers = plain_numbers_start(b, i);
    }
    nb_status st = NB_OK;
    if (c->expected_rows && (st = nb_batch_reserve(b, b->n_rows + c->expected_rows, err)) != NB_OK) goto out;
    /* Row offsets are kept (cheap); lines are worked out at the end only if some value does not
     * fit its type, for the typed writers' bad-record messages. */
    if (c->expected_rows && b->n_rows == 0 && !b->locs) {
        b->locs = nb_arena_alloc(&b->arena, c->expected_rows * sizeof *b->locs);
        if (b->locs) x.locs_cap = c->expected_rows;
    }
    /* Text of a column: a first guess for the sample rows; reserve_from_sample sizes it. */
    if (c->expected_rows && x.ncols)
        for (size_t i = 0; i < x.ncols; i++) nb_column_grow_data(&b->cols[i], 4096);
    x.bad_utf8 = nb_utf8_valid_prefix(c->data, c->len);
    if (first_row == 0 && x.expected_rows && x.ncols && x.bad_utf8 == c->len && c->len <= COLUMNAR_MAX_LEN &&
        !d->comment[0] && !d->n_null_values && !dialect_escapes(d) && d->delimiter != '\n' && d->delimiter != '\r' &&
        atomic_load_explicit(&columnar_on, memory_order_relaxed) &&
        decode_columnar(&x))
        goto checked;   /* the columns were type-checked on the way */

    const char *buf = c->data;
    size_t n = c->len, pos = 0, field_start = 0;
    struct walker w;
    walker_init(&w, d);
    bool comments = d->comment[0] != '\0';
    /* Without comments (which restart the walk mid-block), full blocks are classified a run at a
     * time; w.carry is then the state after the run, which only the next run and the tail read. */
    bool runs = !comments && !w.esc_mode;
    struct nb_csv_masks run_m[RUN_BLOCKS];
    uint64_t run_inq[RUN_BLOCKS];
    size_t run_len = 0, run_next = 0;
    while (pos < n) {
        if (comments && pos == x.rec_start && w.carry == 0 && is_comment(d, buf + pos, n - pos)) {
            const char *lf = memchr(buf + pos, '\n', n - pos);
            pos = lf ? (size_t)(lf - buf) + 1 : n;
            x.rec_start = field_start = pos;
            if (x.bad_utf8 < pos) x.bad_utf8 = pos + nb_utf8_valid_prefix(buf + pos, n - pos);
            walker_reset(&w);
            continue;
        }
        size_t avail = n - pos < 64 ? n - pos : 64;
        struct nb_csv_masks m;
        uint64_t inq;
        if (runs && avail == 64) {
            if (run_next == run_len) {
                run_len = (n - pos) / 64 < RUN_BLOCKS ? (n - pos) / 64 : RUN_BLOCKS;
                run_next = 0;
                nb_csv_blocks(w.isa, buf + pos, run_len, d->quote, d->delimiter, run_m, run_inq, &w.carry);
            }
            m = run_m[run_next];
            inq = run_inq[run_next++];
        } else {
            inq = walker_block(&w, buf + pos, avail, &m);
        }
        uint64_t structural = (m.delim | m.lf) & ~inq;
        bool restart = false;
        while (structural) {
            unsigned i = (unsigned)__builtin_ctzll(structural);
            structural &= structural - 1;
            size_t e = pos + i;
            if (!((m.lf >> i) & 1)) {
                dec_field(&x, field_start, e);
                field_start = e + 1;
                continue;
            }
            size_t end = e;
            if (end > field_start && buf[end - 1] == '\r') end--;
            dec_field(&x, field_start, end);
            field_start = e + 1;
            if ((st = dec_record(&x, end, e + 1, err)) != NB_OK) goto out;
            if (comments && e + 1 < n && buf[e + 1] == d->comment[0]) {
                pos = e + 1;
                walker_reset(&w);
                restart = true;
                break;
            }
        }
        if (!restart) pos += avail;
    }
    if (field_start < n || x.col > 0) {
        /* The last record of the input has no newline (or the chunk ended inside quotes). */
        size_t end = n;
        if (w.carry != 0) {
            if (!x.bad) { x.bad = BAD_QUOTE_AFTER; x.bad_pos = find_open_quote(d, buf, x.rec_start, n); }
        }
        if (end > field_start && buf[end - 1] == '\r') end--;
        dec_field(&x, field_start, end);
        if ((st = dec_record(&x, end, n, err)) != NB_OK) goto out;
    }
    for (size_t i = 0; i < x.ncols; i++)
        if (x.check[i]) check_column(&b->cols[i], first_row);
checked:
    st = nb_batch_check(b, err);
    if (st == NB_OK && x.locs_cap) finish_locs(&x);
out:
    if (x.check != check_stack) free(x.check);
    return st;
}

/* ---- header ------------------------------------------------------------------------------- */

static nb_status add_unique(struct nb_schema *s, const char *name, struct nb_error *err)
{
    char buf[1100];
    const char *use = name;
    for (int k = 2; nb_schema_find(s, use) >= 0; k++) {
        snprintf(buf, sizeof buf, "%s_%d", name, k);
        use = buf;
    }
    if (nb_schema_add(s, use, nb_type_make(NB_TYPE_STRING), true) < 0)
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory building a schema");
    return NB_OK;
}

struct null_sink {
    struct nb_bad_record_sink base;
};
static nb_status ignore_bad(struct nb_bad_record_sink *s, const struct nb_bad_record *r, struct nb_error *e)
{
    (void)s; (void)r; (void)e;
    return NB_OK;
}

nb_status nb_csv_header(const struct nb_csv_dialect *d, const char *buf, size_t n, const char *where,
                        uint64_t line, struct nb_schema **out, struct nb_error *err)
{
    *out = NULL;
    nb_status st;
    struct nb_csv_scan sc;
    /* Skip leading comment lines, then take one record. */
    size_t pos = 0;
    while (pos < n && is_comment(d, buf + pos, n - pos)) {
        const char *lf = memchr(buf + pos, '\n', n - pos);
        pos = lf ? (size_t)(lf - buf) + 1 : n;
    }
    if ((st = nb_csv_scan_records(d, buf + pos, n - pos, true, 1, &sc, where, line, err)) != NB_OK) return st;
    /* Decode that record with a wide all-string schema, then take the names. */
    struct nb_schema *wide = nb_schema_create();
    struct nb_schema *s = nb_schema_create();
    struct nb_batch *b = NULL;
    if (!wide || !s) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); goto fail; }
    size_t nf = 1;
    {
        /* Count fields: structural delimiters in the record + 1. */
        struct walker w;
        walker_init(&w, d);
        for (size_t p = pos; p < pos + sc.consumed; p += 64) {
            size_t avail = pos + sc.consumed - p < 64 ? pos + sc.consumed - p : 64;
            struct nb_csv_masks m;
            uint64_t inq = walker_block(&w, buf + p, avail, &m);
            nf += (size_t)pop64(m.delim & ~inq);
        }
    }
    if (sc.consumed == 0) nf = 0;
    for (size_t i = 0; i < nf; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "column%zu", i + 1);
        if (nb_schema_add(wide, nm, nb_type_make(NB_TYPE_STRING), true) < 0) {
            st = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    if (!d->header) {
        nb_schema_release(s);
        *out = wide;
        return NB_OK;
    }
    b = nb_batch_create(wide, 1);
    if (!b) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); goto fail; }
    struct nb_csv_chunk ch = {buf + pos, sc.consumed, where, NULL, line, 0, 1};
    if (nf) {
        struct nb_csv_dialect hd = *d;
        hd.n_null_values = 0;   /* a header named like a null string is still a name */
        if ((st = nb_csv_decode(&hd, &ch, b, NULL, err)) != NB_OK) {
            nb_error_prefix(err, "in the header: ");
            goto fail;
        }
    }
    for (size_t i = 0; i < nf; i++) {
        char name[1024];
        size_t len = 0;
        const char *t = "";
        if (b->n_rows && !nb_column_is_null(&b->cols[i], 0)) t = nb_column_text(&b->cols[i], 0, &len);
        if (len == 0) snprintf(name, sizeof name, "column%zu", i + 1);
        else snprintf(name, sizeof name, "%.*s", (int)(len < 1000 ? len : 1000), t);
        if ((st = add_unique(s, name, err)) != NB_OK) goto fail;
    }
    nb_batch_destroy(b);
    nb_schema_release(wide);
    *out = s;
    return NB_OK;
fail:
    nb_batch_destroy(b);
    nb_schema_release(wide);
    nb_schema_release(s);
    return st;
}

/* ---- inference ------------------------------------------------------------------------------ */

/* Does a value fit every type an inference state still allows? Then folding it in changes
 * nothing, and the decoder's fast checks answer that for most values at a fraction of
 * nb_value_classify's cost. A timestamp tells whether it has a zone only on the fast path (19
 * characters: none; 20 ending in Z: UTC); any other answer asks nb_value_classify. */
static bool fits_every_state_type(unsigned state, const char *v, size_t len, bool readable16, bool *zoned)
{
    static const enum nb_type_id ids[] = {NB_TYPE_BOOL, NB_TYPE_INT64, NB_TYPE_FLOAT64, NB_TYPE_DATE, NB_TYPE_TIMESTAMP};
    for (size_t k = 0; k < sizeof ids / sizeof *ids; k++) {
        if (!(state & (1u << ids[k]))) continue;
        if (ids[k] == NB_TYPE_TIMESTAMP) {
#if defined(__SSE2__)
            if (readable16 && timestamp_simd(v, len)) {
                if (len == 20) *zoned = true;
                continue;
            }
#endif
            return false;
        }
        if (fit_kind(nb_type_make(ids[k]), v, len, readable16) == FIT_NO) return false;
    }
    return true;
}

nb_status nb_csv_infer(const struct nb_csv_dialect *d, const struct nb_schema *names, const char *buf, size_t n,
                       bool infer, const struct nb_csv_type_override *explicit_types, size_t n_explicit,
                       struct nb_schema **out, struct nb_error *err)
{
    *out = NULL;
    nb_status st = NB_OK;
    struct nb_schema *strs = nb_schema_create(), *res = nb_schema_create();
    struct nb_batch *b = NULL;
    if (!strs || !res) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); goto fail; }
    for (size_t i = 0; i < names->n_fields; i++)
        if (nb_schema_add(strs, names->fields[i].name, nb_type_make(NB_TYPE_STRING), true) < 0) {
            st = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
            goto fail;
        }
    if (infer && n && names->n_fields) {
        b = nb_batch_create(strs, 0);
        if (!b) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); goto fail; }
        struct null_sink ns = {{ignore_bad}};
        /* Records are at most the LFs + 1: with that hint the sample takes the column-at-a-time path. */
        struct nb_csv_chunk ch = {buf, n, "sample", NULL, 1, 0, count_lf(buf, n) + 1};
        if ((st = nb_csv_decode(d, &ch, b, &ns.base, err)) != NB_OK) goto fail;
    }
    for (size_t i = 0; i < names->n_fields; i++) {
        struct nb_type t = nb_type_make(NB_TYPE_STRING);
        bool given = false;
        for (size_t k = 0; k < n_explicit; k++)
            if (strcmp(explicit_types[k].name, names->fields[i].name) == 0) { t = explicit_types[k].type; given = true; }
        if (!given && b) {
            const struct nb_column *c = &b->cols[i];
            unsigned state = 0;
            bool any = false, zoned = false;
            for (size_t r = 0; r < b->n_rows; r++) {
                if (nb_column_is_null(c, r)) continue;
                size_t len;
                const char *v = nb_column_text(c, r, &len);
                if (any && fits_every_state_type(state, v, len, c->offsets[r] + 16 <= c->data_cap, &zoned)) continue;
                unsigned fits = nb_value_classify(v, len);
                state = nb_infer_fold(state, fits, !any);
                any = true;
                if (fits & NB_FITS_ZONED) zoned = true;
                if (state == NB_FITS_STRING) break;   /* no later value can make it anything else */
            }
            t = nb_infer_result(state, any, zoned);
        }
        if (nb_schema_add(res, names->fields[i].name, t, true) < 0) {
            st = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    nb_batch_destroy(b);
    nb_schema_release(strs);
    *out = res;
    return NB_OK;
fail:
    nb_batch_destroy(b);
    nb_schema_release(strs);
    nb_schema_release(res);
    return st;
}
