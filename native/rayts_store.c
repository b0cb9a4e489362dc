/*
 * rayts object store allocator. See rayts_store.h for the API.
 *
 * Layout of a segment: one header (a few pages, 4096-aligned) then the data region. The data region
 * is a sequence of blocks with boundary tags; a block starts at an offset that is 48 mod 64 so that
 * its payload (after a 16-byte header) is 64-byte aligned:
 *
 *   [size|flags u64][check u64][payload ...][size u64]
 *
 * `check` is CHECK_MAGIC ^ block offset ^ size|flags, so free() can tell a real block header from
 * user bytes or a stale header. Free blocks keep next/prev offsets (not pointers: every process maps
 * the segment at another address) at the start of their payload, in segregated lists by log2(size):
 * alloc takes the best fit in the request's own size class, else the first block of the smallest
 * non-empty larger class, which is all O(classes) plus one list scan.
 *
 * Every mutation writes one "commit" store (the header word that defines the new block boundaries)
 * after the bytes the new boundaries need, so a process that dies holding the lock leaves a heap
 * that can be re-walked from its headers; the next locker gets EOWNERDEAD and rebuilds the lists.
 */
#define _GNU_SOURCE
#include "rayts_store.h"
#include "rayts_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define RS_MAGIC 0x524f545354594152ull /* "RAYTSTOR" little-endian */
#define RS_VERSION 1u
#define CHECK_MAGIC 0x9e3779b97f4a7c15ull
#define ALIGN 64ull
#define BLOCK_HDR 16ull
#define BLOCK_FTR 8ull
#define MIN_BLOCK 64ull
#define ALLOC_BIT 1ull
#define SIZE_MASK (~(ALIGN - 1))
#define NIL UINT64_MAX
#define NBINS 64
#define NAME_MAX_LEN 255
#define PAGE 4096ull

typedef struct rs_header {
  uint64_t magic;
  uint32_t version;
  uint32_t corrupt;
  uint64_t segment_size;
  uint64_t data_offset;
  uint64_t capacity;
  uint64_t heap_start;
  uint64_t heap_end;
  char name[NAME_MAX_LEN + 1];
  pthread_mutex_t lock __attribute__((aligned(64)));
  uint64_t used;
  uint64_t allocations;
  uint64_t free_blocks;
  uint64_t bin_map;
  uint64_t bins[NBINS];
} rs_header;

static __thread int last_error;
static __thread int last_errno;

int rs_last_error(void) { return last_error; }
int rs_last_errno(void) { return last_errno; }

static void *fail(int code) {
  last_error = code;
  last_errno = code == RS_ERR_SYS ? errno : 0;
  return NULL;
}

static inline uint8_t *data_of(rs_header *h) { return (uint8_t *)h + h->data_offset; }
static inline uint64_t *word(rs_header *h, uint64_t off) { return (uint64_t *)(data_of(h) + off); }
static inline uint64_t size_at(rs_header *h, uint64_t b) { return *word(h, b) & SIZE_MASK; }
static inline int is_alloc(rs_header *h, uint64_t b) { return (int)(*word(h, b) & ALLOC_BIT); }
static inline uint64_t *next_of(rs_header *h, uint64_t b) { return word(h, b + BLOCK_HDR); }
static inline uint64_t *prev_of(rs_header *h, uint64_t b) { return word(h, b + BLOCK_HDR + 8); }

static inline int bin_of(uint64_t size) { return 63 - __builtin_clzll(size); }

/* Writes the footer and check word; the header word itself is the caller's commit store. */
static void set_tags(rs_header *h, uint64_t b, uint64_t size, uint64_t flags) {
  *word(h, b + size - BLOCK_FTR) = size;
  *word(h, b + 8) = CHECK_MAGIC ^ b ^ (size | flags);
  *word(h, b) = size | flags;
}

static void bin_insert(rs_header *h, uint64_t b) {
  int i = bin_of(size_at(h, b));
  uint64_t head = h->bins[i];
  *next_of(h, b) = head;
  *prev_of(h, b) = NIL;
  if (head != NIL) *prev_of(h, head) = b;
  h->bins[i] = b;
  h->bin_map |= 1ull << i;
  h->free_blocks++;
}

static void bin_remove(rs_header *h, uint64_t b) {
  int i = bin_of(size_at(h, b));
  uint64_t next = *next_of(h, b), prev = *prev_of(h, b);
  if (prev != NIL) *next_of(h, prev) = next;
  else h->bins[i] = next;
  if (next != NIL) *prev_of(h, next) = prev;
  if (h->bins[i] == NIL) h->bin_map &= ~(1ull << i);
  h->free_blocks--;
}

/* Re-derives lists and stats from the block headers after a lock owner died mid-operation. */
static void rebuild(rs_header *h) {
  for (int i = 0; i < NBINS; i++) h->bins[i] = NIL;
  h->bin_map = 0;
  h->free_blocks = h->used = h->allocations = 0;
  uint64_t b = h->heap_start, free_run = NIL;
  while (b < h->heap_end) {
    uint64_t size = size_at(h, b);
    if (size < MIN_BLOCK || size > h->heap_end - b) {
      h->corrupt = 1;
      return;
    }
    if (is_alloc(h, b)) {
      set_tags(h, b, size, ALLOC_BIT);
      h->used += size;
      h->allocations++;
      free_run = NIL;
    } else if (free_run != NIL) {
      uint64_t merged = b + size - free_run;
      *word(h, b + 8) = 0;
      bin_remove(h, free_run);
      set_tags(h, free_run, merged, 0);
      bin_insert(h, free_run);
    } else {
      set_tags(h, b, size, 0);
      bin_insert(h, b);
      free_run = b;
    }
    b += size;
  }
}

static int lock(rs_header *h) {
  int r = pthread_mutex_lock(&h->lock);
  if (r == EOWNERDEAD) {
    rebuild(h);
    pthread_mutex_consistent(&h->lock);
    r = 0;
  }
  if (r != 0) {
    last_error = RS_ERR_CORRUPT;
    return -1;
  }
  if (h->corrupt) {
    pthread_mutex_unlock(&h->lock);
    last_error = RS_ERR_CORRUPT;
    return -1;
  }
  return 0;
}

static int valid_name(const char *name) {
  size_t n = name ? strnlen(name, NAME_MAX_LEN + 1) : 0;
  return n >= 2 && n <= NAME_MAX_LEN && name[0] == '/' && strchr(name + 1, '/') == NULL;
}

void *rs_create(const char *name, uint64_t capacity) {
  uint64_t cap = capacity & SIZE_MASK;
  if (!valid_name(name) || cap < 2 * PAGE || cap > (1ull << 46)) return fail(RS_ERR_ARG);
  uint64_t header_size = (sizeof(rs_header) + PAGE - 1) & ~(PAGE - 1);
  uint64_t segment = header_size + cap;
  int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return fail(errno == EEXIST ? RS_ERR_EXISTS : RS_ERR_SYS);
  /* ftruncate on tmpfs reserves nothing: pages are allocated on first touch. */
  if (ftruncate(fd, (off_t)segment) != 0) {
    int e = errno;
    close(fd);
    shm_unlink(name);
    errno = e;
    return fail(RS_ERR_SYS);
  }
  void *base = mmap(NULL, segment, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  int e = errno;
  close(fd);
  if (base == MAP_FAILED) {
    shm_unlink(name);
    errno = e;
    return fail(RS_ERR_SYS);
  }
  rs_header *h = base;
  h->version = RS_VERSION;
  h->segment_size = segment;
  h->data_offset = header_size;
  h->capacity = cap;
  h->heap_start = ALIGN - BLOCK_HDR;
  h->heap_end = cap - BLOCK_HDR;
  strncpy(h->name, name, NAME_MAX_LEN);
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  int r = pthread_mutex_init(&h->lock, &attr);
  pthread_mutexattr_destroy(&attr);
  if (r != 0) {
    munmap(base, segment);
    shm_unlink(name);
    errno = r;
    return fail(RS_ERR_SYS);
  }
  for (int i = 0; i < NBINS; i++) h->bins[i] = NIL;
  set_tags(h, h->heap_start, h->heap_end - h->heap_start, 0);
  bin_insert(h, h->heap_start);
  /* Attachers treat a zero magic as "not ready", so publish it last. */
  __atomic_store_n(&h->magic, RS_MAGIC, __ATOMIC_RELEASE);
  return base;
}

void *rs_attach(const char *name) {
  if (!valid_name(name)) return fail(RS_ERR_ARG);
  int fd = shm_open(name, O_RDWR, 0600);
  if (fd < 0) return fail(errno == ENOENT ? RS_ERR_NOT_FOUND : RS_ERR_SYS);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return fail(RS_ERR_SYS);
  }
  if ((uint64_t)st.st_size < sizeof(rs_header)) {
    close(fd);
    return fail(RS_ERR_BAD_MAGIC);
  }
  void *base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  int e = errno;
  close(fd);
  if (base == MAP_FAILED) {
    errno = e;
    return fail(RS_ERR_SYS);
  }
  rs_header *h = base;
  int code = RS_OK;
  if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != RS_MAGIC) code = RS_ERR_BAD_MAGIC;
  else if (h->version != RS_VERSION) code = RS_ERR_VERSION;
  else if (h->segment_size != (uint64_t)st.st_size) code = RS_ERR_BAD_MAGIC;
  if (code != RS_OK) {
    munmap(base, (size_t)st.st_size);
    return fail(code);
  }
  return base;
}

int64_t rs_alloc(void *handle, uint64_t size) {
  rs_header *h = handle;
  if (size > h->capacity) return -1;
  uint64_t need = (size + BLOCK_HDR + BLOCK_FTR + ALIGN - 1) & SIZE_MASK;
  if (need < MIN_BLOCK) need = MIN_BLOCK;
  if (lock(h) != 0) return last_error;
  int i = bin_of(need);
  uint64_t best = NIL, best_size = 0;
  for (uint64_t b = h->bins[i]; b != NIL; b = *next_of(h, b)) {
    uint64_t s = size_at(h, b);
    if (s >= need && (best == NIL || s < best_size)) {
      best = b;
      best_size = s;
      if (s == need) break;
    }
  }
  if (best == NIL) {
    uint64_t larger = i + 1 < NBINS ? h->bin_map & (~0ull << (i + 1)) : 0;
    if (larger == 0) {
      pthread_mutex_unlock(&h->lock);
      return -1;
    }
    best = h->bins[__builtin_ctzll(larger)];
    best_size = size_at(h, best);
  }
  bin_remove(h, best);
  if (best_size - need >= MIN_BLOCK) {
    uint64_t rest = best + need;
    set_tags(h, rest, best_size - need, 0);
    bin_insert(h, rest);
  } else {
    need = best_size;
  }
  set_tags(h, best, need, ALLOC_BIT);
  h->used += need;
  h->allocations++;
  pthread_mutex_unlock(&h->lock);
  return (int64_t)(best + BLOCK_HDR);
}

/* The block whose payload starts at `offset`, or a negative error if there is none. */
static int64_t block_at(rs_header *h, uint64_t offset) {
  if (offset % ALIGN != 0 || offset < h->heap_start + BLOCK_HDR || offset >= h->heap_end) {
    return RS_ERR_OFFSET;
  }
  uint64_t b = offset - BLOCK_HDR, tag = *word(h, b), size = tag & SIZE_MASK;
  if (*word(h, b + 8) != (CHECK_MAGIC ^ b ^ tag)) return RS_ERR_OFFSET;
  if (size < MIN_BLOCK || size > h->heap_end - b || *word(h, b + size - BLOCK_FTR) != size) {
    return RS_ERR_OFFSET;
  }
  if (!(tag & ALLOC_BIT)) return RS_ERR_DOUBLE_FREE;
  return (int64_t)b;
}

int rs_free(void *handle, uint64_t offset) {
  rs_header *h = handle;
  if (lock(h) != 0) return last_error;
  int64_t found = block_at(h, offset);
  if (found < 0) {
    pthread_mutex_unlock(&h->lock);
    return (int)found;
  }
  uint64_t b = (uint64_t)found, size = size_at(h, b);
  uint64_t start = b, end = b + size;
  h->used -= size;
  h->allocations--;
  if (end < h->heap_end && !is_alloc(h, end)) {
    uint64_t next_end = end + size_at(h, end);
    bin_remove(h, end);
    *word(h, end + 8) = 0;
    end = next_end;
  }
  if (b > h->heap_start) {
    uint64_t prev = b - *word(h, b - BLOCK_FTR);
    if (!is_alloc(h, prev)) {
      bin_remove(h, prev);
      *word(h, b + 8) = 0;
      start = prev;
    }
  }
  set_tags(h, start, end - start, 0);
  bin_insert(h, start);
  pthread_mutex_unlock(&h->lock);
  return RS_OK;
}

int rs_stats_get(void *handle, rs_stats *out) {
  rs_header *h = handle;
  if (lock(h) != 0) return last_error;
  out->capacity = h->capacity;
  out->used = h->used;
  out->allocations = h->allocations;
  out->free_blocks = h->free_blocks;
  out->largest_free = 0;
  if (h->bin_map != 0) {
    for (uint64_t b = h->bins[63 - __builtin_clzll(h->bin_map)]; b != NIL; b = *next_of(h, b)) {
      uint64_t s = size_at(h, b);
      if (s > out->largest_free) out->largest_free = s;
    }
    /* Report what one alloc() could get, not the block with its tags. */
    out->largest_free -= BLOCK_HDR + BLOCK_FTR;
  }
  pthread_mutex_unlock(&h->lock);
  return RS_OK;
}

/* Walks every block and every free list and checks that they agree. */
int rs_check(void *handle) {
  rs_header *h = handle;
  if (lock(h) != 0) return last_error;
  int bad = 0, prev_free = 0;
  uint64_t b = h->heap_start, used = 0, allocs = 0, frees = 0;
  while (!bad && b < h->heap_end) {
    uint64_t tag = *word(h, b), size = tag & SIZE_MASK;
    bad = size < MIN_BLOCK || size > h->heap_end - b || *word(h, b + size - BLOCK_FTR) != size ||
          *word(h, b + 8) != (CHECK_MAGIC ^ b ^ tag) || (prev_free && !(tag & ALLOC_BIT));
    if (tag & ALLOC_BIT) {
      used += size;
      allocs++;
    } else {
      frees++;
    }
    prev_free = !(tag & ALLOC_BIT);
    b += size;
  }
  uint64_t listed = 0;
  for (int i = 0; !bad && i < NBINS; i++) {
    bad = ((h->bin_map >> i) & 1) != (h->bins[i] != NIL);
    for (uint64_t f = h->bins[i]; !bad && f != NIL; f = *next_of(h, f)) {
      bad = is_alloc(h, f) || bin_of(size_at(h, f)) != i || ++listed > frees;
    }
  }
  bad = bad || b != h->heap_end || used != h->used || allocs != h->allocations ||
        frees != h->free_blocks || listed != frees;
  pthread_mutex_unlock(&h->lock);
  return bad ? RS_ERR_CORRUPT : RS_OK;
}

void *rs_data(void *handle) { return data_of(handle); }
uint64_t rs_capacity(void *handle) { return ((rs_header *)handle)->capacity; }
const char *rs_name(void *handle) { return ((rs_header *)handle)->name; }

/* Bytes the caller may use at `offset` (the block minus its tags), or 0 if it is not live. */
uint64_t rs_usable_size(void *handle, uint64_t offset) {
  rs_header *h = handle;
  if (lock(h) != 0) return 0;
  int64_t b = block_at(h, offset);
  uint64_t n = b < 0 ? 0 : size_at(h, (uint64_t)b) - BLOCK_HDR - BLOCK_FTR;
  pthread_mutex_unlock(&h->lock);
  return n;
}

/* Tests only: takes the lock and never releases it, to stand in for a process that crashes. */
int rs_debug_hold_lock(void *handle) { return lock(handle); }

int rs_close(void *handle) {
  rs_header *h = handle;
  rs_fetch_cancel_all(handle);
  if (munmap(handle, h->segment_size) != 0) {
    fail(RS_ERR_SYS);
    return RS_ERR_SYS;
  }
  return RS_OK;
}

int rs_unlink(const char *name) {
  if (shm_unlink(name) != 0) {
    fail(errno == ENOENT ? RS_ERR_NOT_FOUND : RS_ERR_SYS);
    return last_error;
  }
  return RS_OK;
}
