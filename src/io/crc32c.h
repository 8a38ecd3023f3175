/* CRC-32C (Castagnoli): the checksum of framed snappy and of Google Cloud Storage objects. Chain
 * calls by passing the previous result; start at 0. SSE4.2 when the CPU has it. */
#ifndef NB_IO_CRC32C_H
#define NB_IO_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t nb_crc32c(uint32_t crc, const void *p, size_t n);
uint32_t nb_crc32c_portable(uint32_t crc, const void *p, size_t n);   /* table only (tests compare) */

#endif
