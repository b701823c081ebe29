/* redis RESP2: GET/SET as arrays of bulk strings; any RESP2 reply is parsed. */
#include <string.h>

#include "keys.h"
#include "proto.h"

#define RESP_MAXLINE 65536   /* simple strings / errors longer than this are garbage */
#define RESP_MAXBULK (512ULL << 20)
#define RESP_MAXDEPTH 32

static size_t rd_req_size(const wl_t *wl, const req_t *r)
{
    size_t ks = (size_t)wl->key_size;
    if (r->op == OP_GET)
        return 14 + 1 + 20 + 2 + ks + 2;
    return 14 + 1 + 20 + 2 + ks + 2 + 1 + 20 + 2 + r->arg + 2;
}

static size_t rd_build(const wl_t *wl, const req_t *r, char *out)
{
    char *p = out;
    if (r->op == OP_GET) {
        memcpy(p, "*2\r\n$3\r\nGET\r\n$", 14);
    } else {
        memcpy(p, "*3\r\n$3\r\nSET\r\n$", 14);
    }
    p += 14;
    p += proto_put_u64(p, (uint64_t)wl->key_size);
    *p++ = '\r';
    *p++ = '\n';
    key_format(p, r->key, wl->key_size, wl->key_mode);
    p += wl->key_size;
    *p++ = '\r';
    *p++ = '\n';
    if (r->op == OP_SET) {
        *p++ = '$';
        p += proto_put_u64(p, r->arg);
        *p++ = '\r';
        *p++ = '\n';
        memcpy(p, wl->filler, r->arg);
        p += r->arg;
        *p++ = '\r';
        *p++ = '\n';
    }
    return (size_t)(p - out);
}

/* Finds the CRLF ending the line that starts at pos. 1: found (*eol = index of
 * CR); 0: not yet; -1: garbage (bare LF, or too long). */
static int resp_line(const char *b, size_t len, size_t pos, size_t *eol)
{
    size_t lim = len - pos < RESP_MAXLINE ? len - pos : RESP_MAXLINE;
    const char *nl = memchr(b + pos, '\n', lim);
    if (!nl)
        return lim >= RESP_MAXLINE ? -1 : 0;
    if (nl == b + pos || nl[-1] != '\r')
        return -1;
    *eol = (size_t)(nl - b) - 1;
    return 1;
}

/* Strict signed decimal in b[s..e). */
static int resp_int(const char *b, size_t s, size_t e, long long *out)
{
    int neg = 0;
    if (s < e && b[s] == '-') {
        neg = 1;
        s++;
    }
    if (s >= e || e - s > 18)
        return -1;
    long long v = 0;
    for (; s < e; s++) {
        if (b[s] < '0' || b[s] > '9')
            return -1;
        v = v * 10 + (b[s] - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

/* A partial number line (no CRLF yet) must look like one. */
static int resp_partial_int_ok(const char *b, size_t s, size_t len)
{
    for (size_t i = s; i < len; i++) {
        char c = b[i];
        if (!((c >= '0' && c <= '9') || (c == '-' && i == s) || (c == '\r' && i == len - 1)))
            return 0;
    }
    return len - s <= 21;
}

/* Parses one value at *pos. 1 done, 0 incomplete (*need set when known), -1 bad. */
static int resp_value(const char *b, size_t len, size_t *pos, int depth, size_t *need)
{
    if (*pos >= len)
        return 0;
    char t = b[*pos];
    size_t eol;
    int r;
    long long n;
    switch (t) {
    case '+':
    case '-':
        r = resp_line(b, len, *pos + 1, &eol);
        if (r <= 0)
            return r;
        *pos = eol + 2;
        return 1;
    case ':':
    case '$':
    case '*':
        r = resp_line(b, len, *pos + 1, &eol);
        if (r < 0)
            return -1;
        if (r == 0)
            return resp_partial_int_ok(b, *pos + 1, len) ? 0 : -1;
        if (resp_int(b, *pos + 1, eol, &n))
            return -1;
        *pos = eol + 2;
        if (t == ':')
            return 1;
        if (n == -1)
            return 1; /* null bulk / null array */
        if (n < 0)
            return -1;
        if (t == '$') {
            if ((unsigned long long)n > RESP_MAXBULK)
                return -1;
            size_t end = *pos + (size_t)n + 2;
            if (len < end) {
                *need = end;
                return 0;
            }
            if (b[end - 2] != '\r' || b[end - 1] != '\n')
                return -1;
            *pos = end;
            return 1;
        }
        if (depth >= RESP_MAXDEPTH || n > 1000000)
            return -1;
        for (long long i = 0; i < n; i++) {
            r = resp_value(b, len, pos, depth + 1, need);
            if (r != 1)
                return r;
        }
        return 1;
    default:
        return -1;
    }
}

static int rd_parse(const req_t *r, const char *b, size_t len, int eof, presult_t *res)
{
    (void)eof;
    size_t pos = 0, need = 0;
    int st = resp_value(b, len, &pos, 0, &need);
    if (st < 0)
        return PARSE_BAD;
    if (st == 0) {
        res->need = need;
        return PARSE_INCOMPLETE;
    }
    res->consumed = pos;
    res->close = 0;
    if (b[0] == '-')
        res->outcome = OUT_ERR;
    else if (r->op == OP_GET && b[0] == '$')
        res->outcome = b[1] == '-' ? OUT_MISS : OUT_HIT;
    else
        res->outcome = OUT_OK;
    return PARSE_DONE;
}

const proto_t proto_redis = {"redis", rd_req_size, rd_build, rd_parse};
