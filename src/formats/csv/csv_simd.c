/* The CSV block classifier: for 64 bytes, bitmasks of quote, delimiter, LF and CR positions, plus
 * the prefix XOR that turns quote bits into "inside quotes" bits. A plain C path (the reference the
 * tests compare against) and SSE2/AVX2 paths picked once at run time. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "formats/csv/csv.h"

#if defined(__x86_64__) || defined(__i386__)
#define NB_CSV_X86 1
#include <immintrin.h>
#endif

static void classify_plain(const char *p, char quote, char delim, struct nb_csv_masks *m)
{
    uint64_t q = 0, d = 0, lf = 0, cr = 0;
    for (unsigned i = 0; i < 64; i++) {
        char c = p[i];
        uint64_t bit = 1ull << i;
        if (c == quote && quote) q |= bit;
        if (c == delim) d |= bit;
        if (c == '\n') lf |= bit;
        if (c == '\r') cr |= bit;
    }
    m->quote = q;
    m->delim = d;
    m->lf = lf;
    m->cr = cr;
}

static uint64_t prefix_xor_plain(uint64_t x)
{
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

#ifdef NB_CSV_X86
static inline uint64_t mask16x4(__m128i a, __m128i b, __m128i c, __m128i d)
{
    return (uint64_t)(uint16_t)_mm_movemask_epi8(a) | ((uint64_t)(uint16_t)_mm_movemask_epi8(b) << 16) |
           ((uint64_t)(uint16_t)_mm_movemask_epi8(c) << 32) | ((uint64_t)(uint16_t)_mm_movemask_epi8(d) << 48);
}

static void classify_sse2(const char *p, char quote, char delim, struct nb_csv_masks *m)
{
    __m128i v0 = _mm_loadu_si128((const __m128i *)p), v1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i v2 = _mm_loadu_si128((const __m128i *)(p + 32)), v3 = _mm_loadu_si128((const __m128i *)(p + 48));
    __m128i cq = _mm_set1_epi8(quote), cd = _mm_set1_epi8(delim);
    __m128i cl = _mm_set1_epi8('\n'), cc = _mm_set1_epi8('\r');
    m->quote = quote ? mask16x4(_mm_cmpeq_epi8(v0, cq), _mm_cmpeq_epi8(v1, cq), _mm_cmpeq_epi8(v2, cq),
                                _mm_cmpeq_epi8(v3, cq))
                     : 0;
    m->delim = mask16x4(_mm_cmpeq_epi8(v0, cd), _mm_cmpeq_epi8(v1, cd), _mm_cmpeq_epi8(v2, cd), _mm_cmpeq_epi8(v3, cd));
    m->lf = mask16x4(_mm_cmpeq_epi8(v0, cl), _mm_cmpeq_epi8(v1, cl), _mm_cmpeq_epi8(v2, cl), _mm_cmpeq_epi8(v3, cl));
    m->cr = mask16x4(_mm_cmpeq_epi8(v0, cc), _mm_cmpeq_epi8(v1, cc), _mm_cmpeq_epi8(v2, cc), _mm_cmpeq_epi8(v3, cc));
}

__attribute__((target("avx2"))) static inline void classify_avx2(const char *p, char quote, char delim,
                                                                  struct nb_csv_masks *m)
{
    __m256i lo = _mm256_loadu_si256((const __m256i *)p), hi = _mm256_loadu_si256((const __m256i *)(p + 32));
    __m256i cq = _mm256_set1_epi8(quote), cd = _mm256_set1_epi8(delim);
    __m256i cl = _mm256_set1_epi8('\n'), cc = _mm256_set1_epi8('\r');
#define NB_M64(c)                                                                       \
    ((uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, c)) |              \
     ((uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, c)) << 32))
    m->quote = quote ? NB_M64(cq) : 0;
    m->delim = NB_M64(cd);
    m->lf = NB_M64(cl);
    m->cr = NB_M64(cc);
#undef NB_M64
}

__attribute__((target("pclmul,sse2"))) static uint64_t prefix_xor_clmul(uint64_t bits)
{
    __m128i all = _mm_set1_epi8((char)0xFF);
    __m128i r = _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)bits), all, 0);
    return (uint64_t)_mm_cvtsi128_si64(r);
}

/* classify_avx2 and the prefix XOR in one call, for the walkers' full blocks. */
__attribute__((target("avx2,pclmul"))) static inline uint64_t block_avx2(const char *p, char quote, char delim,
                                                                         struct nb_csv_masks *m, uint64_t *carry)
{
    classify_avx2(p, quote, delim, m);
    __m128i r = _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)m->quote), _mm_set1_epi8((char)0xFF), 0);
    uint64_t inq = (uint64_t)_mm_cvtsi128_si64(r) ^ *carry;
    *carry = 0 - (inq >> 63);
    return inq;
}

/* A run of full blocks in one call: the per-block call and dispatch disappear and the
 * broadcast constants are made once. */
__attribute__((target("avx2,pclmul"))) static void blocks_avx2(const char *p, size_t nblocks, char quote, char delim,
                                                               struct nb_csv_masks *m, uint64_t *inq, uint64_t *carry)
{
    for (size_t i = 0; i < nblocks; i++) inq[i] = block_avx2(p + 64 * i, quote, delim, &m[i], carry);
}

/* Quotes and LFs only: what finding record boundaries needs (half the compares). */
__attribute__((target("avx2,pclmul"))) static inline uint64_t block_lf_avx2(const char *p, char quote,
                                                                            uint64_t *lf, uint64_t *carry)
{
    __m256i lo = _mm256_loadu_si256((const __m256i *)p), hi = _mm256_loadu_si256((const __m256i *)(p + 32));
    __m256i cq = _mm256_set1_epi8(quote), cl = _mm256_set1_epi8('\n');
    uint64_t q = quote ? ((uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, cq)) |
                          ((uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, cq)) << 32))
                       : 0;
    *lf = (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, cl)) |
          ((uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, cl)) << 32);
    __m128i r = _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)q), _mm_set1_epi8((char)0xFF), 0);
    uint64_t inq = (uint64_t)_mm_cvtsi128_si64(r) ^ *carry;
    *carry = 0 - (inq >> 63);
    return inq;
}
#endif

static atomic_int isa_cached = -1;
static atomic_int have_clmul = -1;

static enum nb_csv_isa detect(void)
{
#ifdef NB_CSV_X86
    __builtin_cpu_init();
    atomic_store(&have_clmul, __builtin_cpu_supports("pclmul") ? 1 : 0);
    const char *force = getenv("NB_CSV_FORCE_PLAIN");
    if (force && *force && strcmp(force, "0") != 0) return NB_CSV_ISA_PLAIN;
    if (__builtin_cpu_supports("avx2")) return NB_CSV_ISA_AVX2;
    return NB_CSV_ISA_SSE2;
#else
    atomic_store(&have_clmul, 0);
    return NB_CSV_ISA_PLAIN;
#endif
}

enum nb_csv_isa nb_csv_isa_active(void)
{
    int v = atomic_load_explicit(&isa_cached, memory_order_relaxed);
    if (v < 0) {
        v = (int)detect();
        atomic_store(&isa_cached, v);
    }
    return (enum nb_csv_isa)v;
}

enum nb_csv_isa nb_csv_isa_force(enum nb_csv_isa isa)
{
    (void)nb_csv_isa_active();
#ifdef NB_CSV_X86
    if (isa == NB_CSV_ISA_AVX2 && !__builtin_cpu_supports("avx2")) isa = NB_CSV_ISA_SSE2;
#else
    isa = NB_CSV_ISA_PLAIN;
#endif
    atomic_store(&isa_cached, (int)isa);
    return isa;
}

const char *nb_csv_isa_name(enum nb_csv_isa isa)
{
    switch (isa) {
    case NB_CSV_ISA_AVX2: return "avx2";
    case NB_CSV_ISA_SSE2: return "sse2";
    default: return "plain";
    }
}

void nb_csv_classify(enum nb_csv_isa isa, const char *p, char quote, char delim, struct nb_csv_masks *m)
{
#ifdef NB_CSV_X86
    if (isa == NB_CSV_ISA_AVX2) { classify_avx2(p, quote, delim, m); return; }
    if (isa == NB_CSV_ISA_SSE2) { classify_sse2(p, quote, delim, m); return; }
#endif
    classify_plain(p, quote, delim, m);
}

uint64_t nb_csv_prefix_xor(enum nb_csv_isa isa, uint64_t bits)
{
#ifdef NB_CSV_X86
    if (isa != NB_CSV_ISA_PLAIN && atomic_load_explicit(&have_clmul, memory_order_relaxed) == 1)
        return prefix_xor_clmul(bits);
#endif
    return prefix_xor_plain(bits);
}

uint64_t nb_csv_block(enum nb_csv_isa isa, const char *p, char quote, char delim, struct nb_csv_masks *m,
                      uint64_t *carry)
{
#ifdef NB_CSV_X86
    if (isa == NB_CSV_ISA_AVX2 && atomic_load_explicit(&have_clmul, memory_order_relaxed) == 1)
        return block_avx2(p, quote, delim, m, carry);
#endif
    nb_csv_classify(isa, p, quote, delim, m);
    uint64_t inq = nb_csv_prefix_xor(isa, m->quote) ^ *carry;
    *carry = 0 - (inq >> 63);
    return inq;
}

__attribute__((target("avx2,pclmul"))) static void blocks_lf_avx2(const char *p, size_t nblocks, char quote,
                                                                  uint64_t *lf, uint64_t *inq, uint64_t *carry)
{
    for (size_t i = 0; i < nblocks; i++) inq[i] = block_lf_avx2(p + 64 * i, quote, &lf[i], carry);
}

void nb_csv_blocks_lf(enum nb_csv_isa isa, const char *p, size_t nblocks, char quote, uint64_t *lf, uint64_t *inq,
                      uint64_t *carry)
{
#ifdef NB_CSV_X86
    if (isa == NB_CSV_ISA_AVX2 && atomic_load_explicit(&have_clmul, memory_order_relaxed) == 1) {
        blocks_lf_avx2(p, nblocks, quote, lf, inq, carry);
        return;
    }
#endif
    for (size_t i = 0; i < nblocks; i++) inq[i] = nb_csv_block_lf(isa, p + 64 * i, quote, &lf[i], carry);
}

uint64_t nb_csv_block_lf(enum nb_csv_isa isa, const char *p, char quote, uint64_t *lf, uint64_t *carry)
{
#ifdef NB_CSV_X86
    if (isa == NB_CSV_ISA_AVX2 && atomic_load_explicit(&have_clmul, memory_order_relaxed) == 1)
        return block_lf_avx2(p, quote, lf, carry);
#endif
    struct nb_csv_masks m;
    uint64_t inq = nb_csv_block(isa, p, quote, ',', &m, carry);
    *lf = m.lf;
    return inq;
}

void nb_csv_blocks(enum nb_csv_isa isa, const char *p, size_t nblocks, char quote, char delim, struct nb_csv_masks *m,
                   uint64_t *inq, uint64_t *carry)
{
#ifdef NB_CSV_X86
    if (isa == NB_CSV_ISA_AVX2 && atomic_load_explicit(&have_clmul, memory_order_relaxed) == 1) {
        blocks_avx2(p, nblocks, quote, delim, m, inq, carry);
        return;
    }
#endif
    for (size_t i = 0; i < nblocks; i++) inq[i] = nb_csv_block(isa, p + 64 * i, quote, delim, &m[i], carry);
}
