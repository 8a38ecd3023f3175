/* Deterministic data generator for the benchmark: `nb-gen SHAPE ROWS [csv|ndjson] > file`.
 * Shapes: users (the seed's table, ~77 bytes/row), narrow (3 columns), wide (40 mixed columns),
 * nasty (quoted commas, doubled quotes, embedded newlines, empty and null fields, Unicode).
 * Same arguments, same bytes: a xorshift generator with a fixed seed, no libc rand. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const char *first[] = {"Ada", "Alan", "Grace", "Linus", "Barbara", "Edsger", "Donald", "Frances",
                              "Ken", "Dennis", "Margaret", "John", "Radia", "Niklaus", "Sophie", "Tim"};
static const char *last[] = {"Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Dijkstra", "Knuth", "Allen",
                             "Thompson", "Ritchie", "Hamilton", "McCarthy", "Perlman", "Wirth", "Wilson", "Berners"};
static const char *unicode[] = {"Zoë", "Ångström", "日本語", "Ελληνικά", "emoji 🚀", "naïve café", "Łódź", "Σίσυφος"};

static char buf[1 << 16];
static size_t len;
static void flush(void) { fwrite(buf, 1, len, stdout); len = 0; }
static void put(const char *s)
{
    size_t n = strlen(s);
    if (len + n >= sizeof buf) flush();
    memcpy(buf + len, s, n);
    len += n;
}
#define PUTF(...) do { char t[512]; snprintf(t, sizeof t, __VA_ARGS__); put(t); } while (0)

static void timestamp(uint64_t i, char *out, size_t cap)
{
    snprintf(out, cap, "2024-%02d-%02dT%02d:%02d:%02dZ", (int)(1 + i % 12), (int)(1 + (i / 12) % 28), (int)(i % 24),
             (int)((i / 24) % 60), (int)((i * 7) % 60));
}

static void users(uint64_t i, int json)
{
    char ts[40];
    timestamp(i, ts, sizeof ts);
    const char *f = first[next() % 16], *l = last[next() % 16];
    unsigned age = 18 + (unsigned)(next() % 70);
    unsigned score = (unsigned)(next() % 100000);
    int active = (int)(next() % 2);
    if (json)
        PUTF("{\"id\":%llu,\"name\":\"%s %s\",\"email\":\"%c%s%llu@mail.io\",\"age\":%u,\"score\":%u.%02u,"
             "\"active\":%s,\"created_at\":\"%s\"}\n", (unsigned long long)i, f, l, f[0] | 0x20, f + 1, (unsigned long long)i, age,
             score / 100, score % 100, active ? "true" : "false", ts);
    else
        PUTF("%llu,%s %s,%c%s%llu@mail.io,%u,%u.%02u,%s,%s\n", (unsigned long long)i, f, l, f[0] | 0x20, f + 1,
             (unsigned long long)i, age, score / 100, score % 100, active ? "true" : "false", ts);
}

static void narrow(uint64_t i, int json)
{
    const char *f = first[next() % 16];
    if (json) PUTF("{\"id\":%llu,\"name\":\"%s\",\"email\":\"%s%llu@example.com\"}\n", (unsigned long long)i, f, f, (unsigned long long)i);
    else PUTF("%llu,%s,%s%llu@example.com\n", (unsigned long long)i, f, f, (unsigned long long)i);
}

static void wide(uint64_t i, int json)
{
    if (json) put("{");
    for (int c = 0; c < 40; c++) {
        char v[64];
        switch (c % 5) {
        case 0: snprintf(v, sizeof v, "%llu", (unsigned long long)(i * 40 + (uint64_t)c)); break;
        case 1: snprintf(v, sizeof v, "%s%s%s", json ? "\"" : "", last[next() % 16], json ? "\"" : ""); break;
        case 2: snprintf(v, sizeof v, "%u.%03u", (unsigned)(next() % 10000), (unsigned)(next() % 1000)); break;
        case 3: snprintf(v, sizeof v, "%s", next() % 2 ? "true" : "false"); break;
        default: {
            char ts[40];
            timestamp(i + (uint64_t)c, ts, sizeof ts);
            snprintf(v, sizeof v, "%s%s%s", json ? "\"" : "", ts, json ? "\"" : "");
        }
        }
        if (json) PUTF("%s\"c%02d\":%s", c ? "," : "", c, v);
        else PUTF("%s%s", c ? "," : "", v);
    }
    put(json ? "}\n" : "\n");
}

static void nasty(uint64_t i, int json)
{
    const char *u = unicode[next() % 8];
    unsigned kind = (unsigned)(next() % 6);
    if (json) {
        switch (kind) {
        case 0: PUTF("{\"id\":%llu,\"text\":\"a, b, and c\",\"quote\":\"she said \\\"hi\\\"\",\"note\":\"%s\"}\n", (unsigned long long)i, u); break;
        case 1: PUTF("{\"id\":%llu,\"text\":\"line one\\nline two\",\"quote\":\"\",\"note\":null}\n", (unsigned long long)i); break;
        case 2: PUTF("{\"id\":%llu,\"text\":null,\"quote\":\"\\\"\\\"\",\"note\":\"%s, %s\"}\n", (unsigned long long)i, u, u); break;
        default: PUTF("{\"id\":%llu,\"text\":\"plain %s\",\"quote\":\"x\",\"note\":\"y\"}\n", (unsigned long long)i, u); break;
        }
        return;
    }
    switch (kind) {
    case 0: PUTF("%llu,\"a, b, and c\",\"she said \"\"hi\"\"\",%s\n", (unsigned long long)i, u); break;
    case 1: PUTF("%llu,\"line one\nline two\",\"\",\n", (unsigned long long)i); break;
    case 2: PUTF("%llu,,\"\"\"\"\"\",\"%s, %s\"\n", (unsigned long long)i, u, u); break;
    default: PUTF("%llu,plain %s,x,y\n", (unsigned long long)i, u); break;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: nb-gen users|narrow|wide|nasty ROWS [csv|ndjson]\n");
        return 2;
    }
    const char *shape = argv[1];
    uint64_t rows = strtoull(argv[2], NULL, 10);
    int json = argc > 3 && strcmp(argv[3], "ndjson") == 0;
    void (*row)(uint64_t, int);
    const char *header;
    if (strcmp(shape, "users") == 0) { row = users; header = "id,name,email,age,score,active,created_at\n"; }
    else if (strcmp(shape, "narrow") == 0) { row = narrow; header = "id,name,email\n"; }
    else if (strcmp(shape, "nasty") == 0) { row = nasty; header = "id,text,quote,note\n"; }
    else if (strcmp(shape, "wide") == 0) {
        row = wide;
        static char h[512];
        size_t n = 0;
        for (int c = 0; c < 40; c++) n += (size_t)snprintf(h + n, sizeof h - n, "%sc%02d", c ? "," : "", c);
        snprintf(h + n, sizeof h - n, "\n");
        header = h;
    } else {
        fprintf(stderr, "nb-gen: unknown shape '%s'\n", shape);
        return 2;
    }
    if (!json) put(header);
    for (uint64_t i = 1; i <= rows; i++) row(i, json);
    flush();
    return ferror(stdout) ? 1 : 0;
}
