/* The RLE / bit-packed hybrid of the Parquet spec (Encodings.md): runs of 8+ equal values become
 * RLE runs, everything else is bit-packed in groups of 8, LSB first. */
#include "formats/parquet/parquet.h"

int pq_bit_width(uint32_t max)
{
    int w = 0;
    while (max) {
        w++;
        max >>= 1;
    }
    return w;
}

static inline uint32_t get(const void *v, size_t elem_size, size_t i)
{
    return elem_size == 1 ? ((const uint8_t *)v)[i] : ((const uint32_t *)v)[i];
}

static void rle_run(struct nb_buf *out, uint32_t value, size_t count, int w)
{
    pq_varint(out, (uint64_t)count << 1);
    int bytes = (w + 7) / 8;
    for (int i = 0; i < bytes; i++) nb_buf_putc(out, (char)(value >> (8 * i)));
}

/* count values from v[start], padded with zeros to a multiple of 8. */
static void bitpack_run(struct nb_buf *out, const void *v, size_t elem_size, size_t start, size_t count, int w)
{
    size_t groups = (count + 7) / 8;
    pq_varint(out, ((uint64_t)groups << 1) | 1);
    if (w == 0) return;
    size_t nbytes = groups * (size_t)w;
    if (!nb_buf_reserve(out, nbytes)) return;
    unsigned char *dst = (unsigned char *)out->data + out->len;
    uint64_t acc = 0;
    int bits = 0;
    size_t o = 0;
    uint64_t mask = w == 32 ? 0xffffffffu : ((1u << w) - 1);
    for (size_t i = 0; i < groups * 8; i++) {
        uint64_t x = i < count ? (get(v, elem_size, start + i) & mask) : 0;
        acc |= x << bits;
        bits += w;
        while (bits >= 8) {
            dst[o++] = (unsigned char)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
    /* groups * 8 * w bits is a whole number of bytes: nothing is left in acc. */
    out->len += o;
    out->data[out->len] = '\0';
}

void pq_rle_encode(struct nb_buf *out, const void *values, size_t elem_size, size_t n, int bit_width)
{
    size_t i = 0, pend = 0;
    while (i < n) {
        uint32_t x = get(values, elem_size, i);
        size_t r = 1;
        while (i + r < n && get(values, elem_size, i + r) == x) r++;
        if (r >= 8) {
            /* A bit-packed run must hold a multiple of 8 values: lend it some of this run. */
            size_t npend = i - pend;
            size_t k = (8 - npend % 8) % 8;
            if (r - k >= 8) {
                if (npend + k) bitpack_run(out, values, elem_size, pend, npend + k, bit_width);
                rle_run(out, x, r - k, bit_width);
                i += r;
                pend = i;
                continue;
            }
        }
        i += r;
    }
    if (pend < n) bitpack_run(out, values, elem_size, pend, n - pend, bit_width);
}
