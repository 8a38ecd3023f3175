/* Helpers on the context the engine hands a connector. */
#include <string.h>

#include "connectors/connector.h"

const struct nb_stream_state *nb_context_state(const struct nb_context *ctx, const char *stream)
{
    for (size_t i = 0; i < ctx->n_state; i++)
        if (strcmp(ctx->state[i].stream, stream) == 0) return &ctx->state[i];
    return NULL;
}
