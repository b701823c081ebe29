/* memcached text protocol: storage commands with their data block, retrievals with one or more keys. */
#include <string.h>

#include "runtime.h"

#define MC_MAX_KEY 250

static int token(const char **p, const char *end, const char **tok, size_t *len)
{
    while (*p < end && **p == ' ')
        (*p)++;
    *tok = *p;
    /* memchr rather than a byte loop: the loop's exit after a 16-byte key is a mispredict per token. */
    const char *space = *p < end ? memchr(*p, ' ', (size_t)(end - *p)) : NULL;
    *p = space ? space : end;
    *len = (size_t)(*p - *tok);
    return *len > 0;
}

static int is(const char *tok, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(tok, word, len) == 0;
}

static int number(const char *tok, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (!len || len > 19)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(tok[i] - '0');
    }
    *out = v;
    return 0;
}

static void retrieve(const char *p, const char *end, int with_cas, conn *c, ditto_thread *t)
{
    const char *key;
    size_t klen;
    const char *keys = p;
    if (!token(&p, end, &key, &klen)) {
        out_str(&c->out, "ERROR\r\n");
        return;
    }
    for (p = keys; token(&p, end, &key, &klen);)
        if (klen > MC_MAX_KEY) {
            out_str(&c->out, "CLIENT_ERROR bad command line format\r\n");
            return;
        }
    class_work(t, DITTO_CLASS_GET);
    for (p = keys; token(&p, end, &key, &klen);) {
        /* An empty payload is a miss: the key is left out, as memcached does. */
        uint64_t n = class_payload_size(t, DITTO_CLASS_GET);
        if (!n)
            continue;
        out_str(&c->out, "VALUE ");
        out_bytes(&c->out, key, klen);
        out_str(&c->out, " 0 ");
        out_u64(&c->out, n);
        if (with_cas)
            out_str(&c->out, " 1");
        out_str(&c->out, "\r\n");
        out_payload(&c->out, t, DITTO_CLASS_GET, n);
        out_str(&c->out, "\r\n");
    }
    out_str(&c->out, "END\r\n");
}

int proto_memcached(const char *in, size_t len, conn *c, ditto_thread *t, size_t *consumed)
{
    const char *nl = memchr(in, '\n', len);
    *consumed = 0;
    if (!nl)
        return len > DITTO_MAX_LINE ? -1 : 0;
    size_t line_len = (size_t)(nl - in) + 1;
    if (line_len > DITTO_MAX_LINE)
        return -1;
    const char *end = nl > in && nl[-1] == '\r' ? nl - 1 : nl;
    const char *p = in, *cmd;
    size_t cl;
    if (!token(&p, end, &cmd, &cl)) {
        out_str(&c->out, "ERROR\r\n");
        *consumed = line_len;
        return 0;
    }
    if (is(cmd, cl, "get") || is(cmd, cl, "gets")) {
        retrieve(p, end, cl == 4, c, t);
    } else if (is(cmd, cl, "set") || is(cmd, cl, "add") || is(cmd, cl, "replace") || is(cmd, cl, "append") ||
               is(cmd, cl, "prepend") || is(cmd, cl, "cas")) {
        const char *tok[6];
        size_t tl[6];
        int n = 0;
        while (n < 6 && token(&p, end, &tok[n], &tl[n]))
            n++;
        int fields = is(cmd, cl, "cas") ? 5 : 4;
        uint64_t flags, exptime, bytes, cas;
        if (n < fields || tl[0] > MC_MAX_KEY || number(tok[1], tl[1], &flags) || number(tok[2], tl[2], &exptime) ||
            number(tok[3], tl[3], &bytes) || (fields == 5 && number(tok[4], tl[4], &cas)))
            return -1; /* Without a valid length the data block cannot be skipped: close. */
        if (bytes > DITTO_MAX_VALUE)
            return -1;
        size_t total = line_len + (size_t)bytes + 2;
        if (len < total)
            return 0;
        if (in[total - 2] != '\r' || in[total - 1] != '\n')
            return -1;
        class_work(t, DITTO_CLASS_SET);
        if (!(n > fields && is(tok[fields], tl[fields], "noreply")))
            out_str(&c->out, "STORED\r\n");
        *consumed = total;
        return 0;
    } else if (is(cmd, cl, "delete")) {
        const char *key, *opt;
        size_t klen, olen;
        if (!token(&p, end, &key, &klen)) {
            out_str(&c->out, "ERROR\r\n");
        } else {
            class_work(t, DITTO_CLASS_SET);
            if (!(token(&p, end, &opt, &olen) && is(opt, olen, "noreply")))
                out_str(&c->out, "DELETED\r\n");
        }
    } else if (is(cmd, cl, "version")) {
        out_str(&c->out, "VERSION 1.6.0\r\n");
    } else if (is(cmd, cl, "quit")) {
        c->close_after = 1;
    } else {
        out_str(&c->out, "ERROR\r\n");
    }
    *consumed = line_len;
    return 0;
}
