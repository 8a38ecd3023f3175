/* The Avro test helpers (batches from text tables, libavro and avsc read-back) shared with
 * tests/unit/format_avro, compiled into this folder's tests too. */
#include "format_avro/helper_avro.c"
