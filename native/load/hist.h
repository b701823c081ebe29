/* Log-linear latency histogram in nanoseconds.
 *
 * Values below 256 ns are exact; above, every power of two [2^m, 2^(m+1)) is
 * split into 128 equal sub-buckets, so a bucket is at most 1/128 (0.78%) of its
 * lowest value wide and its midpoint is within 0.4% of any value in it. The top
 * bucket ends at 2^37 ns (137 s); larger values are clamped. 3968 buckets of
 * 8 bytes: 31 KB per thread, recording is a shift and an increment. */
#ifndef DITTO_HIST_H
#define DITTO_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB (1 << HIST_SUB_BITS)
#define HIST_MAX_MSB 36
#define HIST_LIMIT (1ULL << (HIST_MAX_MSB + 1))
#define HIST_BUCKETS ((HIST_MAX_MSB - HIST_SUB_BITS) * HIST_SUB + 2 * HIST_SUB)

typedef struct hist {
    uint64_t counts[HIST_BUCKETS];
    uint64_t total;
    uint64_t min, max; /* exact, ns */
    double sum;        /* exact enough for the mean, ns */
} hist_t;

static inline int hist_index(uint64_t v)
{
    if (v >= HIST_LIMIT)
        v = HIST_LIMIT - 1;
    if (v < 2 * HIST_SUB)
        return (int)v;
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - HIST_SUB_BITS;
    return shift * HIST_SUB + (int)(v >> shift);
}

static inline void hist_record(hist_t *h, int64_t ns)
{
    uint64_t v = ns < 0 ? 0 : (uint64_t)ns;
    h->counts[hist_index(v)]++;
    if (h->total == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->total++;
    h->sum += (double)v;
}

void hist_init(hist_t *h);
void hist_merge(hist_t *dst, const hist_t *src);
/* Lowest value of bucket i and its width, ns. */
uint64_t hist_bucket_low(int i);
uint64_t hist_bucket_width(int i);
/* Representative value of bucket i: its midpoint, ns. */
double hist_bucket_value(int i);
/* Value at percentile p (0..100], ns: the bucket holding the ceil(p% * total)-th
 * smallest value, reported as its midpoint clamped to [min, max]. 0 if empty. */
double hist_percentile(const hist_t *h, double p);

#endif
