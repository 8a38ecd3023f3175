/* Fuzz target for what the net layer parses from servers and configs: Retry-After values, the
 * response header block lookup, SigV4 canonicalisation of an arbitrary query string, URL redaction.
 * Input: the first byte picks nothing; the rest is split at the first NUL into a header block and a
 * query string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "net/retry.h"
#include "net/sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    const char *q = s + strlen(s) < s + size ? s + strlen(s) + 1 : "";
    uint64_t ms;
    (void)nb_retry_after_parse(s, 1700000000, &ms);
    struct nb_http_response r;
    nb_http_response_init(&r);
    nb_buf_append(&r.headers, s, strlen(s));
    char v[256];
    (void)nb_http_response_header(&r, "Retry-After", v, sizeof v);
    (void)nb_http_response_header(&r, "ETag", v, sizeof v);
    nb_http_response_cleanup(&r);
    struct nb_sigv4_header h[] = {{"Host", s}, {"x-amz-date", "20130524T000000Z"}};
    struct nb_sigv4_request req = {"GET", "/", q, h, 2, "UNSIGNED-PAYLOAD", "us-east-1", "s3", "20130524T000000Z"};
    struct nb_buf canon;
    nb_buf_init(&canon);
    (void)nb_sigv4_canonical(&req, &canon, NULL);
    nb_buf_cleanup(&canon);
    char red[512];
    nb_http_redact_url(q, red, sizeof red);
    free(s);
    return 0;
}
