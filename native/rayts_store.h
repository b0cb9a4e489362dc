/*
 * rayts object store: a boundary-tag allocator over one named POSIX shared-memory segment.
 *
 * A handle is the address of the segment's header in the calling process (the start of the
 * mapping). Every offset the API takes or returns is relative to the data region, so it means
 * the same thing in every process that maps the segment, wherever the mapping lands.
 */
#ifndef RAYTS_STORE_H
#define RAYTS_STORE_H

#include <stdint.h>

#define RS_OK 0
#define RS_ERR_SYS -1        /* a system call failed; errno is in rs_last_errno() */
#define RS_ERR_EXISTS -2     /* create: a segment with this name exists */
#define RS_ERR_NOT_FOUND -3  /* attach: no segment with this name */
#define RS_ERR_BAD_MAGIC -4  /* attach: not a rayts segment, or not initialised yet */
#define RS_ERR_VERSION -5    /* attach: made by another layout version */
#define RS_ERR_ARG -6        /* bad name or capacity */
#define RS_ERR_OFFSET -7     /* free: not the offset of a live allocation */
#define RS_ERR_DOUBLE_FREE -8 /* free: the block is already free */
#define RS_ERR_CORRUPT -9    /* check: the heap's tags or lists disagree */

typedef struct rs_stats {
  uint64_t capacity;
  uint64_t used;
  uint64_t allocations;
  uint64_t largest_free;
  uint64_t free_blocks;
} rs_stats;

void *rs_create(const char *name, uint64_t capacity);
void *rs_attach(const char *name);
int rs_last_error(void);
int rs_last_errno(void);

int64_t rs_alloc(void *handle, uint64_t size);
int rs_free(void *handle, uint64_t offset);
int rs_stats_get(void *handle, rs_stats *out);
int rs_check(void *handle);

void *rs_data(void *handle);
uint64_t rs_capacity(void *handle);
uint64_t rs_usable_size(void *handle, uint64_t offset);
const char *rs_name(void *handle);

int rs_debug_hold_lock(void *handle);
int rs_close(void *handle);
int rs_unlink(const char *name);

#endif
