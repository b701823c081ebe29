/* HTTP/1.1 keep-alive GET. Responses: status line, headers (names compared
 * case-insensitively), body by Content-Length, chunked coding, or until close. */
#include <string.h>
#include <strings.h>

#include "proto.h"

#define HTTP_MAXHDR 65536
#define HTTP_MAXCHUNKLINE 1024

static size_t http_req_size(const wl_t *wl, const req_t *r)
{
    return wl->http_len[r->arg];
}

static size_t http_build(const wl_t *wl, const req_t *r, char *out)
{
    memcpy(out, wl->http_req[r->arg], wl->http_len[r->arg]);
    return wl->http_len[r->arg];
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Does the comma-separated token list v[0..n) contain tok (case-insensitive)? */
static int has_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok), i = 0;
    while (i < n) {
        while (i < n && (is_ows(v[i]) || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && is_ows(v[e - 1]))
            e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return 1;
    }
    return 0;
}

/* Chunked body starting at s[p]; 1 done (*end = first byte after it), 0 incomplete, -1 bad. */
static int chunked_body(const char *s, size_t n, size_t p, size_t *end, size_t *need)
{
    for (;;) {
        size_t lim = n - p < HTTP_MAXCHUNKLINE ? n - p : HTTP_MAXCHUNKLINE;
        const char *nl = memchr(s + p, '\n', lim);
        if (!nl)
            return lim >= HTTP_MAXCHUNKLINE ? -1 : 0;
        if (nl == s + p || nl[-1] != '\r')
            return -1;
        size_t le = (size_t)(nl - s) - 1, i = p;
        unsigned long long size = 0;
        int digits = 0;
        for (; i < le; i++) {
            char c = s[i];
            int d = (c >= '0' && c <= '9') ? c - '0'
                    : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                             : -1;
            if (d < 0)
                break;
            if (++digits > 12)
                return -1;
            size = size * 16 + (unsigned)d;
        }
        if (!digits || (i < le && s[i] != ';' && !is_ows(s[i])))
            return -1;
        p = le + 2;
        if (size == 0) {
            /* optional trailer fields, then an empty line */
            for (;;) {
                size_t tl = n - p < HTTP_MAXHDR ? n - p : HTTP_MAXHDR;
                nl = memchr(s + p, '\n', tl);
                if (!nl)
                    return tl >= HTTP_MAXHDR ? -1 : 0;
                if (nl == s + p || nl[-1] != '\r')
                    return -1;
                size_t next = (size_t)(nl - s) + 1;
                if (next - p == 2) {
                    *end = next;
                    return 1;
                }
                p = next;
            }
        }
        if (n < p + size + 2) {
            *need = p + size + 2;
            return 0;
        }
        if (s[p + size] != '\r' || s[p + size + 1] != '\n')
            return -1;
        p += size + 2;
    }
}

static int http_parse(const req_t *r, const char *b, size_t len, int eof, presult_t *res)
{
    (void)r;
    size_t base = 0;
    for (;;) { /* loops only over 1xx interim responses */
        const char *s = b + base;
        size_t n = len - base;
        if (n == 0)
            return PARSE_INCOMPLETE;
        if (memcmp(s, "HTTP/1.", n < 7 ? n : 7) != 0)
            return PARSE_BAD;
        const char *e = memmem(s, n < HTTP_MAXHDR ? n : HTTP_MAXHDR, "\r\n\r\n", 4);
        if (!e) {
            if (n >= HTTP_MAXHDR)
                return PARSE_BAD;
            res->need = 0;
            return PARSE_INCOMPLETE;
        }
        size_t hlen = (size_t)(e - s) + 4;
        /* HTTP/1.x SSS[ reason] */
        if (hlen < 16 || (s[7] != '0' && s[7] != '1') || s[8] != ' ')
            return PARSE_BAD;
        int status = 0;
        for (int i = 9; i < 12; i++) {
            if (s[i] < '0' || s[i] > '9')
                return PARSE_BAD;
            status = status * 10 + (s[i] - '0');
        }
        if (status < 100 || (s[12] != ' ' && s[12] != '\r'))
            return PARSE_BAD;
        const char *line = memchr(s, '\n', hlen) + 1;
        const char *hend = s + hlen - 2; /* the final CRLF */
        int chunked = 0, have_cl = 0, conn_close = 0, keep_alive = 0;
        unsigned long long cl = 0;
        while (line < hend) {
            const char *le = memchr(line, '\r', (size_t)(hend - line));
            if (!le || le[1] != '\n')
                return PARSE_BAD;
            const char *colon = memchr(line, ':', (size_t)(le - line));
            if (!colon || colon == line)
                return PARSE_BAD;
            size_t nl = (size_t)(colon - line);
            const char *v = colon + 1;
            while (v < le && is_ows(*v))
                v++;
            size_t vl = (size_t)(le - v);
            while (vl && is_ows(v[vl - 1]))
                vl--;
            if (nl == 14 && strncasecmp(line, "content-length", 14) == 0) {
                unsigned long long x = 0;
                if (vl == 0 || vl > 15)
                    return PARSE_BAD;
                for (size_t i = 0; i < vl; i++) {
                    if (v[i] < '0' || v[i] > '9')
                        return PARSE_BAD;
                    x = x * 10 + (unsigned)(v[i] - '0');
                }
                if (have_cl && x != cl)
                    return PARSE_BAD;
                have_cl = 1;
                cl = x;
            } else if (nl == 17 && strncasecmp(line, "transfer-encoding", 17) == 0) {
                chunked = has_token(v, vl, "chunked");
            } else if (nl == 10 && strncasecmp(line, "connection", 10) == 0) {
                conn_close |= has_token(v, vl, "close");
                keep_alive |= has_token(v, vl, "keep-alive");
            }
            line = le + 2;
        }
        if (status < 200) {
            if (status == 101)
                return PARSE_BAD; /* we never ask to switch protocols */
            base += hlen;         /* interim response: the real one follows */
            continue;
        }
        int close = conn_close || (s[7] == '0' && !keep_alive);
        size_t total;
        if (status == 204 || status == 304) {
            total = hlen;
        } else if (chunked) {
            size_t end = 0, need = 0;
            int st = chunked_body(s, n, hlen, &end, &need);
            if (st < 0)
                return PARSE_BAD;
            if (st == 0) {
                res->need = need ? base + need : 0;
                return PARSE_INCOMPLETE;
            }
            total = end;
        } else if (have_cl) {
            total = hlen + (size_t)cl;
            if (n < total) {
                res->need = base + total;
                return PARSE_INCOMPLETE;
            }
        } else {
            /* body delimited by the server closing the connection */
            if (!eof) {
                res->need = 0;
                return PARSE_INCOMPLETE;
            }
            total = n;
            close = 1;
        }
        res->consumed = base + total;
        res->status = status;
        res->close = close;
        res->outcome = status >= 400 ? OUT_ERR : OUT_OK;
        return PARSE_DONE;
    }
}

const proto_t proto_http = {"http", http_req_size, http_build, http_parse};
