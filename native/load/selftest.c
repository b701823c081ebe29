/* Unit checks of the pure parts: parsers (fed whole and cut at every byte),
 * histogram accuracy, Zipf frequencies, key text. `make -C native check`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "keys.h"
#include "proto.h"
#include "rng.h"

static int failures;

#define CHECK(cond, ...)                                        \
    do {                                                        \
        if (!(cond)) {                                          \
            failures++;                                         \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                       \
            fputc('\n', stderr);                                \
        }                                                       \
    } while (0)

/* A complete response must parse as DONE with the whole length and the given
 * outcome, and every strict prefix must be INCOMPLETE (never BAD). */
static void expect_done(const proto_t *p, int op, const char *resp, size_t len, int outcome, int close)
{
    req_t r = {.op = (uint8_t)op, .key = 1, .arg = 0};
    presult_t res;
    for (size_t cut = 0; cut < len; cut++) {
        memset(&res, 0, sizeof res);
        char *b = malloc(cut + 1);
        memcpy(b, resp, cut);
        int st = cut ? p->parse(&r, b, cut, 0, &res) : PARSE_INCOMPLETE;
        CHECK(st == PARSE_INCOMPLETE, "%s: prefix %zu of %.*s: got %d", p->name, cut, (int)len, resp, st);
        if (st == PARSE_INCOMPLETE && res.need)
            CHECK(res.need <= len, "%s: need %zu > len %zu", p->name, res.need, len);
        free(b);
    }
    /* followed by the start of another response: must stop at the boundary */
    char *b = malloc(len + 8);
    memcpy(b, resp, len);
    memcpy(b + len, "XXXXXXX", 8);
    memset(&res, 0, sizeof res);
    int st = p->parse(&r, b, len + 7, 0, &res);
    CHECK(st == PARSE_DONE && res.consumed == len && res.outcome == outcome && res.close == close,
          "%s: %.*s: st %d consumed %zu outcome %d close %d", p->name, (int)len, resp, st, res.consumed,
          res.outcome, res.close);
    free(b);
}

static void expect_bad(const proto_t *p, int op, const char *resp)
{
    req_t r = {.op = (uint8_t)op};
    presult_t res = {0};
    int st = p->parse(&r, resp, strlen(resp), 0, &res);
    CHECK(st == PARSE_BAD, "%s: '%s' should be bad, got %d", p->name, resp, st);
}

#define DONE(p, op, s, out, cl) expect_done(p, op, s, sizeof(s) - 1, out, cl)

static void test_memcached(void)
{
    const proto_t *p = &proto_memcached;
    DONE(p, OP_GET, "END\r\n", OUT_MISS, 0);
    DONE(p, OP_GET, "VALUE k0001 0 5\r\nhello\r\nEND\r\n", OUT_HIT, 0);
    DONE(p, OP_GET, "VALUE k0001 12 0 99\r\n\r\nEND\r\n", OUT_HIT, 0);
    DONE(p, OP_GET, "VALUE k 0 7\r\nEND\r\n\r\n\r\nEND\r\n", OUT_HIT, 0); /* value bytes that look like END */
    DONE(p, OP_GET, "SERVER_ERROR out of memory\r\n", OUT_ERR, 0);
    DONE(p, OP_GET, "ERROR\r\n", OUT_ERR, 0);
    DONE(p, OP_SET, "STORED\r\n", OUT_OK, 0);
    DONE(p, OP_SET, "NOT_STORED\r\n", OUT_OK, 0);
    DONE(p, OP_SET, "CLIENT_ERROR bad data chunk\r\n", OUT_ERR, 0);
    expect_bad(p, OP_GET, "HELLO\r\n");
    expect_bad(p, OP_GET, "H");
    expect_bad(p, OP_SET, "END\r\n");
    expect_bad(p, OP_GET, "VALUE k 0 5\r\nhelloXXEND\r\n");
    expect_bad(p, OP_GET, "VALUE k x 5\r\n");
    expect_bad(p, OP_GET, "END\n");
    expect_bad(p, OP_SET, "STOREDX\r\n");

    wl_t wl = {.key_size = 6, .key_mode = KEY_DEC, .filler = "xxxxxxxxxx"};
    char buf[128];
    req_t g = {.op = OP_GET, .key = 42}, s = {.op = OP_SET, .key = 7, .arg = 3};
    size_t n = p->build(&wl, &g, buf);
    CHECK(n == 12 && memcmp(buf, "get k00042\r\n", n) == 0, "mc get: %.*s", (int)n, buf);
    CHECK(n <= p->req_size(&wl, &g), "mc get size");
    n = p->build(&wl, &s, buf);
    CHECK(n == 23 && memcmp(buf, "set k00007 0 0 3\r\nxxx\r\n", n) == 0, "mc set: %.*s", (int)n, buf);
    CHECK(n <= p->req_size(&wl, &s), "mc set size");
}

static void test_redis(void)
{
    const proto_t *p = &proto_redis;
    DONE(p, OP_GET, "$-1\r\n", OUT_MISS, 0);
    DONE(p, OP_GET, "$5\r\nhello\r\n", OUT_HIT, 0);
    DONE(p, OP_GET, "$0\r\n\r\n", OUT_HIT, 0);
    DONE(p, OP_GET, "$4\r\n\r\n\r\n\r\n", OUT_HIT, 0);
    DONE(p, OP_GET, "-ERR wrong type\r\n", OUT_ERR, 0);
    DONE(p, OP_SET, "+OK\r\n", OUT_OK, 0);
    DONE(p, OP_SET, ":12\r\n", OUT_OK, 0);
    DONE(p, OP_SET, "*2\r\n$1\r\na\r\n*-1\r\n", OUT_OK, 0);
    DONE(p, OP_SET, "*0\r\n", OUT_OK, 0);
    DONE(p, OP_SET, "*3\r\n:1\r\n*1\r\n+x\r\n$-1\r\n", OUT_OK, 0);
    expect_bad(p, OP_GET, "HELLO\r\n");
    expect_bad(p, OP_GET, "$x\r\n");
    expect_bad(p, OP_GET, "$3\r\nabcde\r\n");
    expect_bad(p, OP_GET, "$-2\r\n");
    expect_bad(p, OP_GET, "+OK\n");
    expect_bad(p, OP_GET, ":1a");

    wl_t wl = {.key_size = 4, .key_mode = KEY_DEC, .filler = "xxxxxxxxxx"};
    char buf[128];
    req_t g = {.op = OP_GET, .key = 5}, s = {.op = OP_SET, .key = 9, .arg = 2};
    size_t n = p->build(&wl, &g, buf);
    const char *eg = "*2\r\n$3\r\nGET\r\n$4\r\nk005\r\n";
    CHECK(n == strlen(eg) && memcmp(buf, eg, n) == 0, "redis get: %.*s", (int)n, buf);
    CHECK(n <= p->req_size(&wl, &g), "redis get size");
    n = p->build(&wl, &s, buf);
    const char *es = "*3\r\n$3\r\nSET\r\n$4\r\nk009\r\n$2\r\nxx\r\n";
    CHECK(n == strlen(es) && memcmp(buf, es, n) == 0, "redis set: %.*s", (int)n, buf);
    CHECK(n <= p->req_size(&wl, &s), "redis set size");
}

static void test_http(void)
{
    const proto_t *p = &proto_http;
    DONE(p, OP_GET, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", OUT_OK, 0);
    DONE(p, OP_GET, "HTTP/1.1 200 OK\r\ncontent-length:0\r\n\r\n", OUT_OK, 0);
    DONE(p, OP_GET, "HTTP/1.1 404 Not Found\r\nCONTENT-LENGTH: 3\r\nConnection: close\r\n\r\nabc", OUT_ERR, 1);
    DONE(p, OP_GET,
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nA;x=y\r\n0123456789\r\n0\r\n\r\n",
         OUT_OK, 0);
    DONE(p, OP_GET, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\nX-T: 1\r\n\r\n", OUT_OK, 0);
    DONE(p, OP_GET, "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", OUT_OK, 0);
    DONE(p, OP_GET, "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", OUT_OK, 1);
    DONE(p, OP_GET, "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx", OUT_OK, 0);
    DONE(p, OP_GET, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nab", OUT_ERR, 0);
    DONE(p, OP_GET, "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n", OUT_OK, 1);
    expect_bad(p, OP_GET, "HELLO\r\n");
    expect_bad(p, OP_GET, "HTTP/2 200\r\n\r\n");
    expect_bad(p, OP_GET, "HTTP/1.1 2x0 OK\r\n\r\n");
    expect_bad(p, OP_GET, "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n");
    expect_bad(p, OP_GET, "HTTP/1.1 200 OK\r\nno colon\r\n\r\n");
    expect_bad(p, OP_GET, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");

    /* close-delimited body: incomplete until EOF */
    const char *cd = "HTTP/1.1 200 OK\r\n\r\nbody bytes";
    req_t r = {.op = OP_GET};
    presult_t res = {0};
    CHECK(p->parse(&r, cd, strlen(cd), 0, &res) == PARSE_INCOMPLETE, "close-delimited before eof");
    memset(&res, 0, sizeof res);
    CHECK(p->parse(&r, cd, strlen(cd), 1, &res) == PARSE_DONE && res.consumed == strlen(cd) && res.close,
          "close-delimited at eof");
}

static void test_hist(void)
{
    /* every value maps into a bucket that contains it, with width <= 1/128 of the value */
    for (uint64_t v = 0; v < (1ULL << 36); v = v < 1000 ? v + 1 : v + v / 777 + 1) {
        int i = hist_index(v);
        uint64_t lo = hist_bucket_low(i), w = hist_bucket_width(i);
        CHECK(lo <= v && v < lo + w, "bucket of %llu: [%llu, +%llu)", (unsigned long long)v,
              (unsigned long long)lo, (unsigned long long)w);
        CHECK(v < 256 || (double)w <= (double)lo / 128.0, "width at %llu", (unsigned long long)v);
        if (failures > 10)
            return;
    }
    CHECK(hist_index(HIST_LIMIT * 4) == HIST_BUCKETS - 1, "clamp");
    CHECK(hist_index(60000000000ULL) < HIST_BUCKETS - 1, "60 s in range");

    hist_t *h = calloc(1, sizeof *h);
    hist_init(h);
    for (int i = 1; i <= 100000; i++)
        hist_record(h, (int64_t)i * 1000); /* 1 us .. 100 ms uniformly */
    double qs[] = {50, 90, 99, 99.9, 99.99};
    for (int k = 0; k < 5; k++) {
        double want = qs[k] / 100.0 * 100000 * 1000;
        double got = hist_percentile(h, qs[k]);
        CHECK(fabs(got - want) / want < 0.005, "p%g: %g vs %g", qs[k], got, want);
    }
    CHECK(hist_percentile(h, 100) == 1e8 && h->min == 1000, "max/min");
    hist_t *h2 = calloc(1, sizeof *h2);
    hist_init(h2);
    hist_record(h2, 5);
    hist_merge(h2, h);
    CHECK(h2->total == 100001 && h2->min == 5 && h2->max == 100000000, "merge");
    free(h);
    free(h2);
}

static void test_zipf(void)
{
    const uint64_t n = 1000;
    const double ss[] = {0.5, 0.99, 1.0, 1.2};
    for (int k = 0; k < 4; k++) {
        double s = ss[k];
        keygen_t kg;
        keygen_init(&kg, n, 1, s);
        rng_t r;
        rng_seed(&r, 7, 0);
        uint64_t *cnt = calloc(n, sizeof *cnt);
        const int samples = 4000000;
        for (int i = 0; i < samples; i++) {
            uint64_t x = keygen_next(&kg, &r);
            CHECK(x < n, "zipf out of range");
            cnt[x]++;
        }
        double norm = 0;
        for (uint64_t i = 1; i <= n; i++)
            norm += pow((double)i, -s);
        /* chi-square over the first 50 ranks and the rest lumped */
        double chi = 0, rest_e = 0, rest_o = 0;
        for (uint64_t i = 0; i < n; i++) {
            double e = samples * pow((double)(i + 1), -s) / norm;
            if (i < 50) {
                chi += (cnt[i] - e) * (cnt[i] - e) / e;
            } else {
                rest_e += e;
                rest_o += (double)cnt[i];
            }
        }
        chi += (rest_o - rest_e) * (rest_o - rest_e) / rest_e;
        /* 50 degrees of freedom: 99.9% quantile is about 86.7 */
        CHECK(chi < 86.7, "zipf s=%g chi2=%g", s, chi);
        free(cnt);
    }
    keygen_t ku;
    keygen_init(&ku, 10, 0, 0);
    rng_t r;
    rng_seed(&r, 1, 0);
    int seen[10] = {0};
    for (int i = 0; i < 10000; i++)
        seen[keygen_next(&ku, &r)]++;
    for (int i = 0; i < 10; i++)
        CHECK(seen[i] > 850 && seen[i] < 1150, "uniform %d: %d", i, seen[i]);
}

static void test_keys_vsizes(void)
{
    char k[16];
    key_format(k, 123, 8, KEY_DEC);
    CHECK(memcmp(k, "k0000123", 8) == 0, "key_format %.8s", k);
    CHECK(key_mode(10000, 16) == KEY_DEC && key_mode(10000, 5) == KEY_DEC, "mode dec");
    CHECK(key_mode(10001, 5) == KEY_B62_K && key_mode(238328, 4) == KEY_B62_K, "mode b62k");
    CHECK(key_mode(238329, 4) == KEY_B62 && key_mode(14776336, 4) == KEY_B62, "mode b62");
    CHECK(key_mode(14776337, 4) == -1, "mode too small");
    key_format(k, 61, 4, KEY_B62_K);
    CHECK(memcmp(k, "k00z", 4) == 0, "b62k %.4s", k);
    key_format(k, 62 * 62 * 62 + 1, 4, KEY_B62);
    CHECK(memcmp(k, "1001", 4) == 0, "b62 %.4s", k);
    /* all keys distinct in the dense mode */
    {
        const int n = 238328;
        char *seen = calloc((size_t)n, 1);
        for (int i = 0; i < n; i++) {
            key_format(k, (uint64_t)i, 4, KEY_B62_K);
            uint64_t v = 0;
            for (int j = 1; j < 4; j++) {
                char ch = k[j];
                int d = ch <= '9' ? ch - '0' : ch <= 'Z' ? ch - 'A' + 10 : ch - 'a' + 36;
                v = v * 62 + (uint64_t)d;
            }
            CHECK(v == (uint64_t)i && !seen[v], "b62k roundtrip %d", i);
            if (v < (uint64_t)n)
                seen[v] = 1;
            if (failures)
                break;
        }
        free(seen);
    }
    CHECK(key_digits(0) == 1 && key_digits(9) == 1 && key_digits(10) == 2 && key_digits(9999) == 4, "digits");
    vsizes_t v = {0};
    char err[200];
    CHECK(vsizes_parse(&v, "64:0.3,1024:0.7", err, sizeof err) == 0 && v.n == 2 && v.max == 1024, "vsizes");
    rng_t r;
    rng_seed(&r, 3, 0);
    int big = 0;
    for (int i = 0; i < 100000; i++)
        big += vsizes_next(&v, &r) == 1024;
    CHECK(big > 69000 && big < 71000, "vsizes weights %d", big);
    CHECK(vsizes_parse(&v, "64", err, sizeof err) != 0, "vsizes no weight");
    CHECK(vsizes_parse(&v, "64:0", err, sizeof err) != 0, "vsizes zero weight");
    CHECK(vsizes_parse(&v, "a:1", err, sizeof err) != 0, "vsizes bad size");
    CHECK(vsizes_parse(&v, "1:1,", err, sizeof err) != 0, "vsizes trailing comma");
    vsizes_free(&v);
}

int main(void)
{
    test_memcached();
    test_redis();
    test_http();
    test_hist();
    test_zipf();
    test_keys_vsizes();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("ditto-load selftest: ok\n");
    return 0;
}
