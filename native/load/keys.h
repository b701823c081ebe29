/* Request content: key indices (uniform or Zipf), key text, value sizes. */
#ifndef DITTO_KEYS_H
#define DITTO_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/* Key index generator over [0, n). Zipf: P(i) proportional to 1/(i+1)^s, so
 * index 0 is the most popular; indices are NOT scrambled (hot keys are the
 * low-numbered ones, which is irrelevant to memcached/redis hashing). */
typedef struct keygen {
    uint64_t n;
    int zipf;
    double s;
    /* rejection-inversion constants (Hormann & Derflinger 1996) */
    double h_x1, h_n, squeeze;
} keygen_t;

void keygen_init(keygen_t *k, uint64_t n, int zipf, double s);
uint64_t keygen_next(const keygen_t *k, rng_t *r);

/* Keys are exactly key_size bytes and all n of them distinct. Normally 'k'
 * followed by the index zero-padded to key_size-1 decimal digits; when that
 * does not fit, the index is written in base 62 (0-9A-Za-z) after the 'k', and
 * when even that does not fit, in base 62 alone. Never truncated, so the key
 * space stays the one asked for. */
enum { KEY_DEC = 0, KEY_B62_K, KEY_B62 };

/* Digits needed to write v in the given base (1 for 0). */
int key_digits_base(uint64_t v, unsigned base);
static inline int key_digits(uint64_t v)
{
    return key_digits_base(v, 10);
}
/* The mode for n keys of key_size bytes, or -1 if they cannot be told apart. */
int key_mode(uint64_t n, int key_size);
void key_format(char *out, uint64_t idx, int key_size, int mode);

/* Value sizes: a weighted list of fixed sizes (one entry for --value-size). */
typedef struct vsizes {
    int n;
    uint32_t *size;
    double *cum; /* cumulative weights, normalised so cum[n-1] == 1 */
    uint32_t max;
} vsizes_t;

#define VSIZE_MAX (64u << 20)

void vsizes_fixed(vsizes_t *v, uint32_t size);
/* "64:0.3,1024:0.7"; returns 0, or -1 with a message in err. */
int vsizes_parse(vsizes_t *v, const char *spec, char *err, size_t errlen);
uint32_t vsizes_next(const vsizes_t *v, rng_t *r);
void vsizes_free(vsizes_t *v);

#endif
