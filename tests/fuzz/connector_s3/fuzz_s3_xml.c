/* Fuzz target for the S3 XML answers we read (error bodies, UploadId, ListObjectsV2 pages): tag
 * extraction with entity decoding must never read past the input or overflow its output. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/s3/s3_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    static const char *tags[] = {"Code", "Message", "UploadId", "Key", "ETag", "Size", "IsTruncated",
                                 "NextContinuationToken", "LastModified"};
    char out[64], tiny[2];
    for (size_t i = 0; i < sizeof tags / sizeof *tags; i++) {
        (void)nb_s3_xml_tag(s, tags[i], out, sizeof out);
        (void)nb_s3_xml_tag(s, tags[i], tiny, sizeof tiny);
    }
    free(s);
    return 0;
}
