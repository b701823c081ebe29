#include "keys.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Zipf by rejection-inversion ----------------------------------------
 * Ranks k = 1..n with weight h(k) = k^-s. H is an antiderivative of h, written
 * through log1p/expm1 helpers so that s == 1 (and s near 1) needs no special
 * case. A sample draws u uniformly from the area under the hat function, maps
 * it back with H^-1, rounds to the nearest rank and accepts unless u falls into
 * the thin slice between the hat and the true mass of that rank. Expected
 * iterations per sample are close to 1 for every s and n; set-up is O(1). */

static double log1p_over_x(double x)
{
    return fabs(x) > 1e-8 ? log1p(x) / x : 1.0 - x * (0.5 - x / 3.0);
}

static double expm1_over_x(double x)
{
    return fabs(x) > 1e-8 ? expm1(x) / x : 1.0 + x * (0.5 + x / 6.0);
}

/* H(x) = (x^(1-s) - 1) / (1 - s), or log x when s == 1 */
static double zipf_H(double s, double x)
{
    double lx = log(x);
    return expm1_over_x((1.0 - s) * lx) * lx;
}

static double zipf_Hinv(double s, double y)
{
    double t = (1.0 - s) * y;
    if (t < -1.0)
        t = -1.0; /* only reachable through rounding */
    return exp(log1p_over_x(t) * y);
}

static double zipf_h(double s, double x)
{
    return exp(-s * log(x));
}

void keygen_init(keygen_t *k, uint64_t n, int zipf, double s)
{
    memset(k, 0, sizeof *k);
    k->n = n;
    k->zipf = zipf;
    k->s = s;
    if (zipf) {
        k->h_x1 = zipf_H(s, 1.5) - 1.0;
        k->h_n = zipf_H(s, (double)n + 0.5);
        k->squeeze = 2.0 - zipf_Hinv(s, zipf_H(s, 2.5) - zipf_h(s, 2.0));
    }
}

uint64_t keygen_next(const keygen_t *k, rng_t *r)
{
    if (!k->zipf || k->n <= 1)
        return k->n <= 1 ? 0 : rng_below(r, k->n);
    for (;;) {
        double u = k->h_n + rng_double(r) * (k->h_x1 - k->h_n);
        double x = zipf_Hinv(k->s, u);
        double kr = floor(x + 0.5);
        if (kr < 1.0)
            kr = 1.0;
        else if (kr > (double)k->n)
            kr = (double)k->n;
        if (kr - x <= k->squeeze || u >= zipf_H(k->s, kr + 0.5) - zipf_h(k->s, kr))
            return (uint64_t)kr - 1;
    }
}

/* ---- key text ------------------------------------------------------------ */

int key_digits_base(uint64_t v, unsigned base)
{
    int d = 1;
    while (v >= base) {
        v /= base;
        d++;
    }
    return d;
}

int key_mode(uint64_t n, int key_size)
{
    uint64_t top = n ? n - 1 : 0;
    if (key_size >= 1 + key_digits_base(top, 10))
        return KEY_DEC;
    if (key_size >= 1 + key_digits_base(top, 62))
        return KEY_B62_K;
    if (key_size >= key_digits_base(top, 62))
        return KEY_B62;
    return -1;
}

void key_format(char *out, uint64_t idx, int key_size, int mode)
{
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    int first = mode == KEY_B62 ? 0 : 1;
    if (first)
        out[0] = 'k';
    unsigned base = mode == KEY_DEC ? 10 : 62;
    for (int i = key_size - 1; i >= first; i--) {
        out[i] = b62[idx % base];
        idx /= base;
    }
}

/* ---- value sizes ---------------------------------------------------------- */

void vsizes_fixed(vsizes_t *v, uint32_t size)
{
    vsizes_free(v);
    v->n = 1;
    v->size = malloc(sizeof *v->size);
    v->cum = malloc(sizeof *v->cum);
    if (!v->size || !v->cum)
        abort();
    v->size[0] = size;
    v->cum[0] = 1.0;
    v->max = size;
}

int vsizes_parse(vsizes_t *v, const char *spec, char *err, size_t errlen)
{
    int cap = 1;
    for (const char *p = spec; *p; p++)
        cap += *p == ',';
    uint32_t *size = calloc((size_t)cap, sizeof *size);
    double *cum = calloc((size_t)cap, sizeof *cum);
    if (!size || !cum)
        abort();
    int n = 0;
    double total = 0;
    uint32_t max = 0;
    const char *p = spec;
    for (;;) {
        char *end;
        errno = 0;
        if (*p < '0' || *p > '9')
            goto bad;
        unsigned long long sz = strtoull(p, &end, 10);
        if (errno || end == p || *end != ':' || sz > VSIZE_MAX)
            goto bad;
        p = end + 1;
        double w = strtod(p, &end);
        if (end == p || !(w > 0) || !isfinite(w))
            goto bad;
        total += w;
        size[n] = (uint32_t)sz;
        cum[n] = total;
        if (size[n] > max)
            max = size[n];
        n++;
        p = end;
        if (*p == '\0')
            break;
        if (*p != ',')
            goto bad;
        p++;
    }
    for (int i = 0; i < n; i++)
        cum[i] /= total;
    cum[n - 1] = 1.0;
    vsizes_free(v);
    v->n = n;
    v->size = size;
    v->cum = cum;
    v->max = max;
    return 0;
bad:
    snprintf(err, errlen, "expected size:weight[,size:weight...] with sizes <= %u and weights > 0, got '%s'",
             VSIZE_MAX, spec);
    free(size);
    free(cum);
    return -1;
}

uint32_t vsizes_next(const vsizes_t *v, rng_t *r)
{
    if (v->n == 1)
        return v->size[0];
    double u = rng_double(r);
    int lo = 0, hi = v->n - 1; /* first i with u < cum[i] */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (u < v->cum[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return v->size[lo];
}

void vsizes_free(vsizes_t *v)
{
    free(v->size);
    free(v->cum);
    v->size = NULL;
    v->cum = NULL;
    v->n = 0;
    v->max = 0;
}
