/* HTTP/1.1 with keep-alive: reads (GET, HEAD) are the get class, writes (POST, PUT, PATCH, DELETE) the set
 * class; every response is 200 with a Content-Length filler body. */
#include <string.h>
#include <strings.h>

#include "runtime.h"

static int header_is(const char *line, size_t len, const char *name, const char **value, size_t *vlen)
{
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
        return 0;
    const char *v = line + n + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *value = v;
    *vlen = (size_t)(end - v);
    return 1;
}

static int has_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok);
    for (size_t i = 0; i + tl <= n; i++)
        if (strncasecmp(v + i, tok, tl) == 0 && (i == 0 || v[i - 1] == ' ' || v[i - 1] == ',') &&
            (i + tl == n || v[i + tl] == ' ' || v[i + tl] == ','))
            return 1;
    return 0;
}

int proto_http(const char *in, size_t len, conn *c, ditto_thread *t, size_t *consumed)
{
    *consumed = 0;
    size_t scan = len < DITTO_MAX_LINE ? len : DITTO_MAX_LINE;
    const char *hdr_end = memmem(in, scan, "\r\n\r\n", 4);
    if (!hdr_end)
        return len >= DITTO_MAX_LINE ? -1 : 0;
    size_t head = (size_t)(hdr_end - in) + 4;

    const char *eol = memchr(in, '\n', head);
    const char *sp1 = memchr(in, ' ', (size_t)(eol - in));
    if (!sp1)
        return -1;
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
    if (!sp2 || eol - sp2 < 9 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return -1;
    size_t mlen = (size_t)(sp1 - in);
    int http10 = sp2[8] == '0';
    int keep_alive = !http10;
    ditto_class_id cls;
    int head_only = 0;
    if (mlen == 3 && memcmp(in, "GET", 3) == 0) {
        cls = DITTO_CLASS_GET;
    } else if (mlen == 4 && memcmp(in, "HEAD", 4) == 0) {
        cls = DITTO_CLASS_GET;
        head_only = 1;
    } else if ((mlen == 4 && memcmp(in, "POST", 4) == 0) || (mlen == 3 && memcmp(in, "PUT", 3) == 0) ||
               (mlen == 5 && memcmp(in, "PATCH", 5) == 0) || (mlen == 6 && memcmp(in, "DELETE", 6) == 0)) {
        cls = DITTO_CLASS_SET;
    } else {
        return -1;
    }

    uint64_t body = 0;
    for (const char *line = eol + 1; line < hdr_end;) {
        const char *next = memchr(line, '\n', (size_t)(hdr_end + 2 - line));
        size_t ll = (size_t)(next - line);
        if (ll && line[ll - 1] == '\r')
            ll--;
        const char *v;
        size_t vl;
        if (header_is(line, ll, "Content-Length", &v, &vl)) {
            body = 0;
            if (!vl || vl > 10)
                return -1;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return -1;
                body = body * 10 + (uint64_t)(v[i] - '0');
            }
            if (body > DITTO_MAX_VALUE)
                return -1;
        } else if (header_is(line, ll, "Transfer-Encoding", &v, &vl)) {
            return -1; /* Chunked request bodies are not something the profiled clients send. */
        } else if (header_is(line, ll, "Connection", &v, &vl)) {
            if (has_token(v, vl, "close"))
                keep_alive = 0;
            else if (has_token(v, vl, "keep-alive"))
                keep_alive = 1;
        }
        line = next + 1;
    }
    if (len < head + body)
        return 0;

    class_work(t, cls);
    uint64_t n = class_payload_size(t, cls);
    outbuf *o = &c->out;
    out_str(o, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ");
    out_u64(o, n);
    /* HTTP/1.0 clients keep the connection only when told so. */
    out_str(o, !keep_alive ? "\r\nConnection: close\r\n\r\n"
               : http10    ? "\r\nConnection: keep-alive\r\n\r\n"
                           : "\r\n\r\n");
    if (!head_only)
        out_payload(o, t, cls, n);
    c->close_after = !keep_alive;
    *consumed = head + (size_t)body;
    return 0;
}
