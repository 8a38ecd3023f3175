/* Fuzz the block classifier: the SSE2 and AVX2 paths must give the plain path's masks and prefix
 * XOR for any 64 bytes, quote and delimiter. */
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
        if (size == 0) break;
    }
    return 0;
}
