/* memcached text protocol: "get k" and "set k 0 0 n". */
#include <string.h>

#include "keys.h"
#include "proto.h"

#define MC_MAXLINE 2048 /* no valid reply line to our requests is longer */

static size_t mc_req_size(const wl_t *wl, const req_t *r)
{
    if (r->op == OP_GET)
        return 4 + (size_t)wl->key_size + 2;
    return 4 + (size_t)wl->key_size + 5 + 10 + 2 + r->arg + 2;
}

static size_t mc_build(const wl_t *wl, const req_t *r, char *out)
{
    char *p = out;
    memcpy(p, r->op == OP_GET ? "get " : "set ", 4);
    p += 4;
    key_format(p, r->key, wl->key_size, wl->key_mode);
    p += wl->key_size;
    if (r->op == OP_SET) {
        memcpy(p, " 0 0 ", 5);
        p += 5;
        p += proto_put_u64(p, r->arg);
        *p++ = '\r';
        *p++ = '\n';
        memcpy(p, wl->filler, r->arg);
        p += r->arg;
    }
    *p++ = '\r';
    *p++ = '\n';
    return (size_t)(p - out);
}

static const char *const mc_get_replies[] = {"VALUE ", "END\r\n", "ERROR", "CLIENT_ERROR", "SERVER_ERROR", NULL};
static const char *const mc_set_replies[] = {"STORED\r\n", "NOT_STORED\r\n", "EXISTS\r\n", "NOT_FOUND\r\n",
                                             "ERROR",      "CLIENT_ERROR",   "SERVER_ERROR", NULL};

/* Could buf[0..len) still be the start of one of the replies? Lets garbage be
 * recognised before a line end arrives. */
static int plausible(const char *b, size_t len, const char *const *replies)
{
    for (; *replies; replies++) {
        size_t tl = strlen(*replies);
        if (memcmp(b, *replies, len < tl ? len : tl) == 0)
            return 1;
    }
    return 0;
}

static int word_is(const char *b, size_t len, const char *w)
{
    size_t wl = strlen(w);
    return len == wl && memcmp(b, w, wl) == 0;
}

/* "ERROR", "CLIENT_ERROR msg", "SERVER_ERROR msg" (line without CRLF) */
static int is_error_line(const char *b, size_t len)
{
    static const char *const errs[] = {"ERROR", "CLIENT_ERROR", "SERVER_ERROR"};
    for (int i = 0; i < 3; i++) {
        size_t el = strlen(errs[i]);
        if (len >= el && memcmp(b, errs[i], el) == 0 && (len == el || b[el] == ' '))
            return 1;
    }
    return 0;
}

/* Parses an unsigned decimal at *p (up to end); advances *p. */
static int parse_uint(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (s >= end || *s < '0' || *s > '9')
        return -1;
    while (s < end && *s >= '0' && *s <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
        s++;
    }
    *p = s;
    *out = v;
    return 0;
}

static int mc_parse(const req_t *r, const char *b, size_t len, int eof, presult_t *res)
{
    (void)eof;
    if (!plausible(b, len, r->op == OP_GET ? mc_get_replies : mc_set_replies))
        return PARSE_BAD;
    const char *nl = memchr(b, '\n', len < MC_MAXLINE ? len : MC_MAXLINE);
    if (!nl) {
        if (len >= MC_MAXLINE)
            return PARSE_BAD;
        res->need = 0;
        return PARSE_INCOMPLETE;
    }
    size_t ll = (size_t)(nl - b) + 1; /* line incl. CRLF */
    if (ll < 2 || nl[-1] != '\r')
        return PARSE_BAD;
    size_t cl = ll - 2;
    res->close = 0;
    if (is_error_line(b, cl)) {
        res->outcome = OUT_ERR;
        res->consumed = ll;
        return PARSE_DONE;
    }
    if (r->op == OP_SET) {
        if (word_is(b, cl, "STORED") || word_is(b, cl, "NOT_STORED") || word_is(b, cl, "EXISTS") ||
            word_is(b, cl, "NOT_FOUND")) {
            res->outcome = OUT_OK;
            res->consumed = ll;
            return PARSE_DONE;
        }
        return PARSE_BAD;
    }
    if (word_is(b, cl, "END")) {
        res->outcome = OUT_MISS;
        res->consumed = ll;
        return PARSE_DONE;
    }
    if (cl > 6 && memcmp(b, "VALUE ", 6) == 0) {
        /* VALUE <key> <flags> <bytes> [<cas>] */
        const char *p = b + 6, *end = b + cl;
        const char *k = p;
        while (p < end && *p != ' ')
            p++;
        if (p == k || p >= end)
            return PARSE_BAD;
        p++;
        uint64_t flags, bytes, cas;
        if (parse_uint(&p, end, &flags) || p >= end || *p != ' ')
            return PARSE_BAD;
        p++;
        if (parse_uint(&p, end, &bytes) || bytes > (1ULL << 31))
            return PARSE_BAD;
        if (p < end) {
            if (*p != ' ')
                return PARSE_BAD;
            p++;
            if (parse_uint(&p, end, &cas) || p != end)
                return PARSE_BAD;
        }
        size_t total = ll + (size_t)bytes + 2 + 5;
        if (len < total) {
            res->need = total;
            return PARSE_INCOMPLETE;
        }
        const char *t = b + ll + bytes;
        if (t[0] != '\r' || t[1] != '\n' || memcmp(t + 2, "END\r\n", 5) != 0)
            return PARSE_BAD;
        res->outcome = OUT_HIT;
        res->consumed = total;
        return PARSE_DONE;
    }
    return PARSE_BAD;
}

const proto_t proto_memcached = {"memcached", mc_req_size, mc_build, mc_parse};
