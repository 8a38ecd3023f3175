/* Fuzz the Parquet reader: any bytes as a whole file. Opening, reading every row in small batches,
 * and seeking to a row chosen by the input must end in NB_OK/NB_DONE or an error with a message:
 * never a crash, a hang, a leak or an allocation sized by an unchecked number. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch/batch.h"
#include "formats/parquet/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_all(struct nb_pq_reader *r, size_t batch)
{
    struct nb_error err = {0};
    for (int guard = 0; guard < 100000; guard++) {
        struct nb_batch *b = nb_pq_reader_batch_create(r, batch);
        if (!b) return;
        nb_status rc = nb_pq_reader_next(r, b, batch, &err);
        nb_batch_destroy(b);
        if (rc != NB_OK) {
            if (rc != NB_DONE && err.message[0] == '\0') abort();   /* an error must say what */
            return;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nb_error err = {0};
    struct nb_pq_reader *r = NULL;
    if (nb_pq_reader_open_memory(&r, data, size, "fuzz.parquet", &err) != NB_OK) {
        if (err.message[0] == '\0') abort();
        return 0;
    }
    size_t batch = 1 + (size ? data[size / 2] % 7 : 0);
    read_all(r, batch);
    size_t groups = nb_pq_reader_row_groups(r);
    if (groups) {
        size_t rg = (size ? data[0] : 0) % groups;
        if (nb_pq_reader_seek(r, rg, size % 5, &err) == NB_OK) read_all(r, 3);
    }
    nb_pq_reader_destroy(r);
    return 0;
}
