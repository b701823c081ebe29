#include "hist.h"

#include <math.h>
#include <string.h>

void hist_init(hist_t *h)
{
    memset(h, 0, sizeof *h);
}

void hist_merge(hist_t *dst, const hist_t *src)
{
    if (src->total == 0)
        return;
    for (int i = 0; i < HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    if (dst->total == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->total += src->total;
    dst->sum += src->sum;
}

uint64_t hist_bucket_low(int i)
{
    if (i < 2 * HIST_SUB)
        return (uint64_t)i;
    int shift = i / HIST_SUB - 1;
    uint64_t mant = (uint64_t)(i - shift * HIST_SUB);
    return mant << shift;
}

uint64_t hist_bucket_width(int i)
{
    if (i < 2 * HIST_SUB)
        return 1;
    return 1ULL << (i / HIST_SUB - 1);
}

double hist_bucket_value(int i)
{
    return (double)hist_bucket_low(i) + (double)(hist_bucket_width(i) - 1) / 2.0;
}

double hist_percentile(const hist_t *h, double p)
{
    if (h->total == 0)
        return 0.0;
    if (p >= 100.0)
        return (double)h->max;
    /* the small epsilon keeps e.g. 99.9% of 1000 at rank 999 despite rounding */
    uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)h->total - 1e-9);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            double v = hist_bucket_value(i);
            if (v < (double)h->min)
                v = (double)h->min;
            if (v > (double)h->max)
                v = (double)h->max;
            return v;
        }
    }
    return (double)h->max;
}
