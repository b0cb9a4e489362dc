/*
 * rayts object transfer: one HTTP/1.1 GET whose body a thread receives straight into a block of the
 * object store's segment (see rayts_fetch.c).
 */
#ifndef RAYTS_FETCH_H
#define RAYTS_FETCH_H

#include <stdint.h>

#define RS_FETCH_RUNNING 0
#define RS_FETCH_DONE 1
#define RS_FETCH_FAILED 2

typedef struct rs_fetch rs_fetch;

/*
 * Connects to host:port, sends `request` (a whole HTTP/1.1 request, head and empty line) and
 * receives a 200 response's body of exactly `size` bytes into [offset, offset + size) of the
 * segment's data region, on a thread of its own. Gives up after `idle_limit_ms` without data.
 * Returns NULL for bad arguments or no memory; otherwise poll rs_fetch_state and free it once done.
 */
rs_fetch *rs_fetch_start(void *segment, const char *host, const char *port, const char *request,
                         uint64_t offset, uint64_t size, uint32_t idle_limit_ms);
/*
 * The same into `size` bytes of memory at `dst` that belong to the caller (kept alive and in place
 * until the transfer ended); no segment's rs_close cancels it.
 */
rs_fetch *rs_fetch_start_into(void *dst, const char *host, const char *port, const char *request,
                              uint64_t size, uint32_t idle_limit_ms);
int32_t rs_fetch_state(rs_fetch *f);
/* The response's status code (0 before the status line arrived). */
int32_t rs_fetch_http_status(rs_fetch *f);
uint64_t rs_fetch_received(rs_fetch *f);
/* Why a failed transfer failed (empty otherwise). */
const char *rs_fetch_message(rs_fetch *f);
/* Asks the thread to stop; it fails with "cancelled" within about 50 ms. */
void rs_fetch_cancel(rs_fetch *f);
/* Frees a finished transfer; RS_ERR_ARG while it still runs. */
int rs_fetch_free(rs_fetch *f);
/* Cancels every transfer into `segment` and waits until none runs (before unmapping it). */
void rs_fetch_cancel_all(void *segment);

#endif
