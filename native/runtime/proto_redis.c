/* redis RESP2: arrays of bulk strings and inline commands; enough of the command set for redis clients and
 * redis-benchmark to run, with GET-like commands in the get class and SET-like ones in the set class. */
#include <strings.h>
#include <string.h>

#include "runtime.h"

#define RESP_MAX_ARGS (1 << 20)
#define KEEP_ARGS 3

typedef struct {
    int argc;
    const char *arg[KEEP_ARGS];
    size_t len[KEEP_ARGS];
} command;

/* "<type><int>\r\n" at in[pos]: 1 parsed, 0 incomplete, -1 malformed. */
static int int_line(const char *in, size_t len, size_t pos, char type, long long *v, size_t *next)
{
    if (pos >= len)
        return 0;
    if (in[pos] != type)
        return -1;
    long long x = 0;
    int digits = 0, neg = 0;
    size_t i = pos + 1;
    if (i < len && in[i] == '-') {
        neg = 1;
        i++;
    }
    for (; i < len && in[i] >= '0' && in[i] <= '9'; i++) {
        if (++digits > 12)
            return -1;
        x = x * 10 + (in[i] - '0');
    }
    if (i + 1 >= len)
        return 0;
    if (!digits || in[i] != '\r' || in[i + 1] != '\n')
        return -1;
    *v = neg ? -x : x;
    *next = i + 2;
    return 1;
}

static int multibulk(const char *in, size_t len, command *cmd, size_t *consumed)
{
    long long n, bl;
    size_t pos;
    int r = int_line(in, len, 0, '*', &n, &pos);
    if (r <= 0)
        return r;
    if (n < 0 || n > RESP_MAX_ARGS)
        return -1;
    cmd->argc = (int)n;
    for (long long i = 0; i < n; i++) {
        r = int_line(in, len, pos, '$', &bl, &pos);
        if (r <= 0)
            return r;
        if (bl < 0 || bl > DITTO_MAX_VALUE)
            return -1;
        if (len < pos + (size_t)bl + 2)
            return 0;
        if (in[pos + bl] != '\r' || in[pos + bl + 1] != '\n')
            return -1;
        if (i < KEEP_ARGS) {
            cmd->arg[i] = in + pos;
            cmd->len[i] = (size_t)bl;
        }
        pos += (size_t)bl + 2;
    }
    *consumed = pos;
    return 1;
}

static int inline_command(const char *in, size_t len, command *cmd, size_t *consumed)
{
    const char *nl = memchr(in, '\n', len);
    if (!nl)
        return len > DITTO_MAX_LINE ? -1 : 0;
    *consumed = (size_t)(nl - in) + 1;
    if (*consumed > DITTO_MAX_LINE)
        return -1;
    const char *p = in, *end = nl > in && nl[-1] == '\r' ? nl - 1 : nl;
    cmd->argc = 0;
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end)
            return 1;
        const char *s = p;
        while (p < end && *p != ' ' && *p != '\t')
            p++;
        if (cmd->argc < KEEP_ARGS) {
            cmd->arg[cmd->argc] = s;
            cmd->len[cmd->argc] = (size_t)(p - s);
        }
        cmd->argc++;
    }
}

static int named(const command *cmd, const char *name)
{
    return cmd->len[0] == strlen(name) && strncasecmp(cmd->arg[0], name, cmd->len[0]) == 0;
}

static void bulk(outbuf *o, const char *s, size_t n)
{
    out_str(o, "$");
    out_u64(o, n);
    out_str(o, "\r\n");
    out_bytes(o, s, n);
    out_str(o, "\r\n");
}

static void filler_bulk(conn *c, ditto_thread *t)
{
    /* An empty payload is a miss, as for a key redis does not hold. */
    uint64_t n = class_payload_size(t, DITTO_CLASS_GET);
    if (!n) {
        out_str(&c->out, "$-1\r\n");
        return;
    }
    out_str(&c->out, "$");
    out_u64(&c->out, n);
    out_str(&c->out, "\r\n");
    out_payload(&c->out, t, DITTO_CLASS_GET, n);
    out_str(&c->out, "\r\n");
}

static void execute(const command *cmd, conn *c, ditto_thread *t)
{
    outbuf *o = &c->out;
    if (named(cmd, "GET") || named(cmd, "GETEX")) {
        if (cmd->argc < 2) {
            out_str(o, "-ERR wrong number of arguments\r\n");
            return;
        }
        class_work(t, DITTO_CLASS_GET);
        filler_bulk(c, t);
    } else if (named(cmd, "MGET")) {
        if (cmd->argc < 2) {
            out_str(o, "-ERR wrong number of arguments\r\n");
            return;
        }
        class_work(t, DITTO_CLASS_GET);
        out_str(o, "*");
        out_u64(o, (uint64_t)cmd->argc - 1);
        out_str(o, "\r\n");
        for (int i = 1; i < cmd->argc; i++)
            filler_bulk(c, t);
    } else if (named(cmd, "SET") || named(cmd, "SETEX") || named(cmd, "PSETEX") || named(cmd, "MSET")) {
        if (cmd->argc < 3) {
            out_str(o, "-ERR wrong number of arguments\r\n");
            return;
        }
        class_work(t, DITTO_CLASS_SET);
        out_str(o, "+OK\r\n");
    } else if (named(cmd, "DEL") || named(cmd, "SETNX")) {
        if (cmd->argc < 2) {
            out_str(o, "-ERR wrong number of arguments\r\n");
            return;
        }
        class_work(t, DITTO_CLASS_SET);
        out_str(o, ":1\r\n");
    } else if (named(cmd, "PING")) {
        if (cmd->argc > 1)
            bulk(o, cmd->arg[1], cmd->len[1]);
        else
            out_str(o, "+PONG\r\n");
    } else if (named(cmd, "ECHO") && cmd->argc == 2) {
        bulk(o, cmd->arg[1], cmd->len[1]);
    } else if (named(cmd, "CONFIG") && cmd->argc >= 3 && cmd->len[1] == 3 &&
               strncasecmp(cmd->arg[1], "GET", 3) == 0) {
        /* The parameter with an empty value: clients that probe settings (redis-benchmark) go on. */
        out_str(o, "*2\r\n");
        bulk(o, cmd->arg[2], cmd->len[2]);
        out_str(o, "$0\r\n\r\n");
    } else if (named(cmd, "COMMAND")) {
        out_str(o, "*0\r\n");
    } else if (named(cmd, "DBSIZE")) {
        out_str(o, ":0\r\n");
    } else if (named(cmd, "SELECT") || named(cmd, "CLIENT") || named(cmd, "FLUSHALL") || named(cmd, "FLUSHDB")) {
        out_str(o, "+OK\r\n");
    } else if (named(cmd, "QUIT")) {
        out_str(o, "+OK\r\n");
        c->close_after = 1;
    } else {
        out_str(o, "-ERR unknown command\r\n");
    }
}

int proto_redis(const char *in, size_t len, conn *c, ditto_thread *t, size_t *consumed)
{
    command cmd = {0};
    *consumed = 0;
    size_t used = 0;
    int r = in[0] == '*' ? multibulk(in, len, &cmd, &used) : inline_command(in, len, &cmd, &used);
    if (r <= 0)
        return r;
    if (cmd.argc > 0)
        execute(&cmd, c, t);
    *consumed = used;
    return 0;
}
