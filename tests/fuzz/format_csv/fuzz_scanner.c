/* Fuzz the block classifier: the SSE2 and AVX2 paths must give the plain path's masks and prefix
 * XOR for any 64 bytes, quote and delimiter, and the same in-quotes masks and carried quote state
 * through a run of blocks (nb_csv_block). The decoder's vector type checks must answer as the
 * scalar reference for every short value in the input. */
#include <stdint.h>
#include <string.h>

#include "formats/csv/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    char quote = (char)data[0], delim = (char)data[1];
    data += 2;
    size -= 2;
    char block[64];
    uint64_t carry[3] = {0, 0, 0};
    for (size_t off = 0; off < size || off == 0; off += 64) {
        size_t n = size - off < 64 ? size - off : 64;
        memset(block, 0, sizeof block);
        memcpy(block, data + off, n);
        struct nb_csv_masks ref, got;
        nb_csv_classify(NB_CSV_ISA_PLAIN, block, quote, delim, &ref);
        for (int isa = NB_CSV_ISA_SSE2; isa <= NB_CSV_ISA_AVX2; isa++) {
            enum nb_csv_isa use = nb_csv_isa_force((enum nb_csv_isa)isa);
            nb_csv_classify(use, block, quote, delim, &got);
            if (memcmp(&got, &ref, sizeof got) != 0) __builtin_trap();
            if (nb_csv_prefix_xor(use, ref.quote) != nb_csv_prefix_xor(NB_CSV_ISA_PLAIN, ref.quote)) __builtin_trap();
        }
        uint64_t inq[3], lf_carry = carry[0], lf;
        if (nb_csv_block_lf(nb_csv_isa_force(NB_CSV_ISA_AVX2), block, quote, &lf, &lf_carry) !=
                nb_csv_block(NB_CSV_ISA_PLAIN, block, quote, delim, &got, &(uint64_t){carry[0]}) ||
            lf != ref.lf)
            __builtin_trap();
        uint64_t lf_plain, lf_carry_plain = carry[0];
        nb_csv_block_lf(NB_CSV_ISA_PLAIN, block, quote, &lf_plain, &lf_carry_plain);
        if (lf_plain != ref.lf || lf_carry_plain != lf_carry) __builtin_trap();
        for (int isa = NB_CSV_ISA_PLAIN; isa <= NB_CSV_ISA_AVX2; isa++) {
            enum nb_csv_isa use = nb_csv_isa_force((enum nb_csv_isa)isa);
            inq[isa] = nb_csv_block(use, block, quote, delim, &got, &carry[isa]);
            if (memcmp(&got, &ref, sizeof got) != 0) __builtin_trap();
        }
        if (inq[1] != inq[0] || inq[2] != inq[0] || carry[1] != carry[0] || carry[2] != carry[0]) __builtin_trap();
        if (size == 0) break;
    }
    /* Runs of full blocks (nb_csv_blocks, nb_csv_blocks_lf): every path the same masks and state. */
    {
        enum { MAXB = 16 };
        size_t nb = size / 64 < MAXB ? size / 64 : MAXB;
        struct nb_csv_masks rm[3][MAXB];
        uint64_t rinq[3][MAXB], rlf[3][MAXB], rinq_lf[3][MAXB], rc[3] = {0, 0, 0}, rc_lf[3] = {0, 0, 0};
        for (int isa = NB_CSV_ISA_PLAIN; isa <= NB_CSV_ISA_AVX2; isa++) {
            enum nb_csv_isa use = nb_csv_isa_force((enum nb_csv_isa)isa);
            nb_csv_blocks(use, (const char *)data, nb, quote, delim, rm[isa], rinq[isa], &rc[isa]);
            nb_csv_blocks_lf(use, (const char *)data, nb, quote, rlf[isa], rinq_lf[isa], &rc_lf[isa]);
        }
        for (size_t i = 0; i < nb; i++)
            for (int isa = 1; isa <= 2; isa++)
                if (memcmp(&rm[isa][i], &rm[0][i], sizeof rm[0][i]) != 0 || rinq[isa][i] != rinq[0][i] ||
                    rlf[isa][i] != rm[0][i].lf || rinq_lf[isa][i] != rinq[0][i])
                    __builtin_trap();
        if (rc[1] != rc[0] || rc[2] != rc[0] || rc_lf[0] != rc[0] || rc_lf[1] != rc[0] || rc_lf[2] != rc[0]) __builtin_trap();
    }
    /* Every value up to 24 bytes long starting anywhere in the input, 16 readable bytes after it. */
    static const enum nb_type_id ids[] = {NB_TYPE_INT64, NB_TYPE_FLOAT64, NB_TYPE_TIMESTAMP, NB_TYPE_BOOL, NB_TYPE_DATE};
    char val[48];
    for (size_t at = 0; at < size; at++) {
        size_t n = size - at < 24 ? size - at : 24;
        memset(val, '7', sizeof val);
        memcpy(val, data + at, n);
        for (size_t len = 0; len <= n; len++)
            for (size_t k = 0; k < sizeof ids / sizeof *ids; k++) {
                struct nb_type t = nb_type_make(ids[k]);
                if (nb_csv_fit_kind(t, val, len, true) != nb_csv_fit_kind(t, val, len, false)) __builtin_trap();
            }
    }
    return 0;
}
