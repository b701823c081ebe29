/*
 * The contract between the clone runtime (native/runtime) and the generated CPU bodies (src/emit/body).
 *
 * A body reproduces the user-space work of one request of a class (or one wake-up of a background thread):
 * its dynamic instruction count and mix, its i-cache and d-cache working sets, its branch behaviour, its register
 * dependency distances and its string-op bytes. The runtime calls the body of a request's class once per request,
 * on the thread that serves the request, and never inspects what the body does.
 */
#ifndef DITTO_BODY_H
#define DITTO_BODY_H

#include <stddef.h>
#include <stdint.h>

typedef struct ditto_body_ctx {
    /* Requests served so far by this thread (0, 1, 2, ...): bodies may use it to pick per-request variants. */
    uint64_t request_id;
    /* Per-thread PRNG state (xoshiro256** or similar), seeded by the runtime, owned by the body. */
    uint64_t rng[4];
    /* The process's data region for the bodies' d-cache working sets, shared by all its threads as a service's
     * heap is (a profile's miss curves are those of all threads interleaved): allocated and zeroed by the runtime. */
    uint8_t *data;
    size_t data_bytes;
    /* Per-thread cursors the body keeps between requests (e.g. pointer-chase positions, region offsets). */
    uint64_t cursor[32];
} ditto_body_ctx;

typedef void (*ditto_body_fn)(ditto_body_ctx *ctx);

/* Bytes of `data` the generated bodies need per process; defined by the generated code. */
extern const size_t ditto_body_data_bytes;

/* Called once per data region (per process), before any thread's ditto_body_init: builds the pointer-chase rings. */
void ditto_body_init_data(uint8_t *data);

/* Called once per thread, after ditto_body_init_data of its region: sets the thread's cursors, each at a phase
 * drawn from ctx->rng so that threads sharing a region do not walk it in lockstep. */
void ditto_body_init(ditto_body_ctx *ctx);

#endif
