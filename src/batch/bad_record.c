/* Default handling of a bad record when no sink is installed: the `fail` policy. */
#include "batch/bad_record.h"

nb_status nb_bad_record_report(struct nb_bad_record_sink *sink, const struct nb_bad_record *rec, struct nb_error *err)
{
    if (sink && sink->report) return sink->report(sink, rec, err);
    return nb_error_set(err, NB_ERR_INVALID, "%s: %s", rec->location ? rec->location : "?", rec->reason ? rec->reason : "bad record");
}
