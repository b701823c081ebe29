/* Protocol interface: build one request into a buffer, parse one response.
 *
 * All three protocols answer in order on a connection (memcached text, RESP,
 * HTTP/1.1 keep-alive), so the connection keeps a FIFO of outstanding requests
 * and hands the head request to parse(), which knows what reply to expect.
 * Parsers are stateless: they re-read the response from its first byte when
 * more data arrives; `need` lets the caller skip re-parsing until a known
 * amount has been received, so large values are not rescanned per packet. */
#ifndef DITTO_PROTO_H
#define DITTO_PROTO_H

#include <stddef.h>
#include <stdint.h>

enum { OP_GET = 0, OP_SET = 1 };

typedef struct req {
    uint8_t op;
    uint32_t key; /* key index */
    uint32_t arg; /* value size for sets; path index for http */
} req_t;

enum { PARSE_BAD = -1, PARSE_INCOMPLETE = 0, PARSE_DONE = 1 };
enum { OUT_OK = 0, OUT_HIT, OUT_MISS, OUT_ERR };

typedef struct presult {
    size_t consumed; /* DONE: bytes of this response */
    size_t need;     /* INCOMPLETE: total bytes the response needs, 0 if unknown */
    int outcome;     /* DONE: OUT_* */
    int close;       /* DONE: the server closes the connection after this response */
    int status;      /* DONE, http: status code */
} presult_t;

/* What requests are made of (shared, read-only). */
typedef struct wl {
    int key_size;
    int key_mode;           /* KEY_* of keys.h */
    const char *filler;     /* >= largest value size bytes of filler */
    int npaths;
    const char **http_req;  /* complete prebuilt GET request per path */
    const size_t *http_len;
} wl_t;

typedef struct proto {
    const char *name;
    /* Upper bound of the bytes build() writes. */
    size_t (*req_size)(const wl_t *wl, const req_t *r);
    /* Writes the request, returns its length. */
    size_t (*build)(const wl_t *wl, const req_t *r, char *out);
    /* Parses the response to r at buf[0..len). eof: the server closed after these bytes. */
    int (*parse)(const req_t *r, const char *buf, size_t len, int eof, presult_t *res);
} proto_t;

extern const proto_t proto_memcached;
extern const proto_t proto_redis;
extern const proto_t proto_http;

/* Helpers shared by the protocol files. */
static inline size_t proto_put_u64(char *out, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

#endif
