/*
 * Object transfer straight into the store: a thread that sends one HTTP/1.1 GET and receives the
 * body with recv() directly into a block of the shared-memory segment, so the bytes cross from the
 * socket into the block in one copy, with neither the JavaScript heap nor the event loop in the way.
 *
 * The caller (JavaScript, through bun:ffi) starts a transfer, polls rs_fetch_state() until it is no
 * longer RS_FETCH_RUNNING, reads the outcome and frees the transfer. rs_close() cancels and waits for
 * the transfers into the segment it unmaps, so no thread writes into a mapping that is gone.
 */
#define _GNU_SOURCE
#include "rayts_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rayts_store.h"

#define HEAD_MAX 16384    /* the response's status line and headers must fit in this */
#define POLL_MS 50        /* how often a waiting thread looks at its cancel flag */
#define MESSAGE_MAX 512

struct rs_fetch {
  int32_t state; /* RS_FETCH_*; written last by the thread (release), read by the caller (acquire) */
  int32_t cancel;
  int32_t http_status;
  uint64_t received;
  uint8_t *dst;
  uint64_t size;
  uint32_t idle_limit_ms;
  void *segment;
  char host[256];
  char port[16];
  char *request;
  size_t request_len;
  char message[MESSAGE_MAX];
  struct rs_fetch *next_live; /* the process's transfers still running, for rs_fetch_cancel_all */
};

/* One connection's read buffer: bytes received but not consumed yet sit in buf[start, end). */
typedef struct conn {
  int fd;
  rs_fetch *f;
  size_t start, end;
  char buf[HEAD_MAX];
} conn;

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t live_changed = PTHREAD_COND_INITIALIZER;
static rs_fetch *live_head = NULL;

static int failf(rs_fetch *f, const char *format, ...) {
  if (f->message[0] == '\0') {
    va_list args;
    va_start(args, format);
    vsnprintf(f->message, MESSAGE_MAX, format, args);
    va_end(args);
  }
  return -1;
}

/* Waits until the socket has something to read (or is closed); fails on cancel or a long silence. */
static int wait_readable(conn *c) {
  uint32_t idle = 0;
  for (;;) {
    if (__atomic_load_n(&c->f->cancel, __ATOMIC_ACQUIRE)) return failf(c->f, "cancelled");
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    int n = poll(&p, 1, POLL_MS);
    if (n > 0) return 0;
    if (n < 0 && errno != EINTR) return failf(c->f, "poll: %s", strerror(errno));
    if (n == 0) {
      idle += POLL_MS;
      if (idle >= c->f->idle_limit_ms) {
        return failf(c->f, "no data for %u ms after %llu bytes", c->f->idle_limit_ms,
                     (unsigned long long)c->f->received);
      }
    }
  }
}

/* recv() of at most `n` bytes into `dst`; 0 means the peer closed the connection. */
static ssize_t recv_some(conn *c, void *dst, size_t n) {
  for (;;) {
    if (wait_readable(c) != 0) return -1;
    ssize_t got = recv(c->fd, dst, n, 0);
    if (got >= 0) return got;
    if (errno != EINTR && errno != EAGAIN) return failf(c->f, "recv: %s", strerror(errno));
  }
}

/* Reads more bytes into the buffer (moving the unread ones to its front first). */
static int fill(conn *c) {
  if (c->start > 0) {
    memmove(c->buf, c->buf + c->start, c->end - c->start);
    c->end -= c->start;
    c->start = 0;
  }
  if (c->end == sizeof c->buf) return failf(c->f, "the response's head is longer than %d bytes", HEAD_MAX);
  ssize_t got = recv_some(c, c->buf + c->end, sizeof c->buf - c->end);
  if (got < 0) return -1;
  if (got == 0) return failf(c->f, "the connection closed after %llu bytes", (unsigned long long)c->f->received);
  c->end += (size_t)got;
  return 0;
}

/* The next line, without its CRLF and NUL-terminated, as [*line, *line + *len); consumes it. */
static int read_line(conn *c, char **line, size_t *len) {
  for (;;) {
    char *at = memmem(c->buf + c->start, c->end - c->start, "\r\n", 2);
    if (at != NULL) {
      *at = '\0';
      *line = c->buf + c->start;
      *len = (size_t)(at - *line);
      c->start += *len + 2;
      return 0;
    }
    if (fill(c) != 0) return -1;
  }
}

/* Copies exactly `n` body bytes to the destination: buffered ones first, then recv() straight in. */
static int read_body(conn *c, uint64_t n) {
  rs_fetch *f = c->f;
  if (f->received + n > f->size) {
    return failf(f, "the body is longer than the expected %llu bytes", (unsigned long long)f->size);
  }
  size_t buffered = c->end - c->start;
  if (buffered > 0) {
    size_t take = buffered < n ? buffered : (size_t)n;
    memcpy(f->dst + f->received, c->buf + c->start, take);
    c->start += take;
    f->received += take;
    n -= take;
  }
  while (n > 0) {
    ssize_t got = recv_some(c, f->dst + f->received, (size_t)n);
    if (got < 0) return -1;
    if (got == 0) {
      return failf(f, "the body ended after %llu of %llu bytes", (unsigned long long)f->received,
                   (unsigned long long)f->size);
    }
    f->received += (uint64_t)got;
    n -= (uint64_t)got;
  }
  return 0;
}

/* Case-insensitive "Name: value" match; returns the value (spaces skipped) or NULL. */
static const char *header_value(const char *line, size_t len, const char *name) {
  size_t n = strlen(name);
  if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':') return NULL;
  const char *v = line + n + 1;
  while (*v == ' ' || *v == '\t') v++;
  return v;
}

/* The body of a failed request, kept short, as the error message. */
static int read_error(conn *c, int status) {
  size_t have = c->end - c->start;
  while (have < 300) {
    ssize_t got = recv_some(c, c->buf + c->end, sizeof c->buf - c->end);
    if (got <= 0) break;
    c->end += (size_t)got;
    have += (size_t)got;
  }
  c->f->message[0] = '\0';
  return failf(c->f, "HTTP %d %.*s", status, (int)(have < 300 ? have : 300), c->buf + c->start);
}

static int chunked_body(conn *c) {
  for (;;) {
    char *line;
    size_t len;
    if (read_line(c, &line, &len) != 0) return -1;
    char *end;
    errno = 0;
    unsigned long long chunk = strtoull(line, &end, 16);
    if (end == line || errno != 0) return failf(c->f, "malformed chunk size \"%.40s\"", line);
    if (chunk == 0) break;
    if (read_body(c, chunk) != 0) return -1;
    if (read_line(c, &line, &len) != 0) return -1;
    if (len != 0) return failf(c->f, "malformed chunk end");
  }
  if (c->f->received != c->f->size) {
    return failf(c->f, "the body ended after %llu of %llu bytes", (unsigned long long)c->f->received,
                 (unsigned long long)c->f->size);
  }
  return 0;
}

static int exchange(conn *c) {
  rs_fetch *f = c->f;
  for (size_t sent = 0; sent < f->request_len;) {
    ssize_t n = send(c->fd, f->request + sent, f->request_len - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return failf(f, "send: %s", strerror(errno));
    sent += (size_t)n;
  }
  char *line;
  size_t len;
  if (read_line(c, &line, &len) != 0) return -1;
  int status = 0;
  if (len < 12 || strncmp(line, "HTTP/1.", 7) != 0 || sscanf(line + 9, "%3d", &status) != 1) {
    return failf(f, "not an HTTP response: \"%.60s\"", line);
  }
  f->http_status = status;
  int chunked = 0;
  long long length = -1;
  for (;;) {
    if (read_line(c, &line, &len) != 0) return -1;
    if (len == 0) break;
    const char *v;
    if ((v = header_value(line, len, "content-length")) != NULL) length = atoll(v);
    else if ((v = header_value(line, len, "transfer-encoding")) != NULL) chunked = strcasestr(v, "chunked") != NULL;
  }
  if (status != 200) return read_error(c, status);
  if (chunked) return chunked_body(c);
  if (length < 0) return failf(f, "the response has neither a length nor chunks");
  if ((uint64_t)length != f->size) {
    return failf(f, "the body has %lld bytes, expected %llu", length, (unsigned long long)f->size);
  }
  return read_body(c, f->size);
}

/*
 * connect() on a non-blocking socket, waiting in short polls so a cancel is seen and a host that
 * never answers (its SYNs dropped) is given up on after the idle limit instead of the kernel's
 * minutes. Returns 0, an errno, or ECANCELED.
 */
static int connect_within(rs_fetch *f, int fd, const struct sockaddr *addr, socklen_t len) {
  if (connect(fd, addr, len) == 0) return 0;
  if (errno != EINPROGRESS) return errno;
  uint32_t waited = 0;
  for (;;) {
    if (__atomic_load_n(&f->cancel, __ATOMIC_ACQUIRE)) return ECANCELED;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int n = poll(&p, 1, POLL_MS);
    if (n < 0 && errno != EINTR) return errno;
    if (n > 0) {
      int err = 0;
      socklen_t size = sizeof err;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &size) != 0) return errno;
      return err;
    }
    if (n == 0) {
      waited += POLL_MS;
      if (waited >= f->idle_limit_ms) return ETIMEDOUT;
    }
  }
}

static int connect_to(rs_fetch *f) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *found;
  int rc = getaddrinfo(f->host, f->port, &hints, &found);
  if (rc != 0) {
    failf(f, "cannot resolve %s: %s", f->host, gai_strerror(rc));
    return -1;
  }
  int fd = -1, err = 0;
  for (struct addrinfo *a = found; a != NULL; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    err = connect_within(f, fd, a->ai_addr, a->ai_addrlen);
    if (err == 0) break;
    close(fd);
    fd = -1;
    if (err == ECANCELED) break;
  }
  freeaddrinfo(found);
  if (fd < 0) {
    if (err == ECANCELED) failf(f, "cancelled");
    else failf(f, "cannot connect to %s:%s: %s", f->host, f->port, strerror(err));
    return -1;
  }
  /* Back to blocking mode: reads wait in poll() anyway, and sends of the small request finish. */
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

static void unlink_live(rs_fetch *f) {
  pthread_mutex_lock(&live_lock);
  for (rs_fetch **p = &live_head; *p != NULL; p = &(*p)->next_live) {
    if (*p == f) {
      *p = f->next_live;
      break;
    }
  }
  pthread_cond_broadcast(&live_changed);
  pthread_mutex_unlock(&live_lock);
}

static void *run(void *arg) {
  rs_fetch *f = arg;
  conn *c = malloc(sizeof *c);
  int rc = -1;
  if (c == NULL) {
    failf(f, "out of memory");
  } else {
    c->f = f;
    c->start = c->end = 0;
    c->fd = connect_to(f);
    if (c->fd >= 0) {
      rc = exchange(c);
      close(c->fd);
    }
    free(c);
  }
  unlink_live(f);
  __atomic_store_n(&f->state, rc == 0 ? RS_FETCH_DONE : RS_FETCH_FAILED, __ATOMIC_RELEASE);
  return NULL;
}

/* Starts the thread of a transfer into `dst` (`segment` NULL for memory outside any segment). */
static rs_fetch *start(void *segment, uint8_t *dst, const char *host, const char *port, const char *request,
                       uint64_t size, uint32_t idle_limit_ms) {
  if (strlen(host) >= sizeof ((rs_fetch *)0)->host || strlen(port) >= sizeof ((rs_fetch *)0)->port) return NULL;
  rs_fetch *f = calloc(1, sizeof *f);
  if (f == NULL) return NULL;
  f->request_len = strlen(request);
  f->request = malloc(f->request_len + 1);
  if (f->request == NULL) {
    free(f);
    return NULL;
  }
  memcpy(f->request, request, f->request_len + 1);
  strcpy(f->host, host);
  strcpy(f->port, port);
  f->segment = segment;
  f->dst = dst;
  f->size = size;
  f->idle_limit_ms = idle_limit_ms;
  f->state = RS_FETCH_RUNNING;
  pthread_mutex_lock(&live_lock);
  f->next_live = live_head;
  live_head = f;
  pthread_mutex_unlock(&live_lock);
  pthread_attr_t attr;
  pthread_t thread;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&thread, &attr, run, f);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    unlink_live(f);
    failf(f, "cannot start a thread: %s", strerror(rc));
    f->state = RS_FETCH_FAILED;
  }
  return f;
}

rs_fetch *rs_fetch_start(void *segment, const char *host, const char *port, const char *request,
                         uint64_t offset, uint64_t size, uint32_t idle_limit_ms) {
  if (offset + size > rs_capacity(segment)) return NULL;
  return start(segment, (uint8_t *)rs_data(segment) + offset, host, port, request, size, idle_limit_ms);
}

rs_fetch *rs_fetch_start_into(void *dst, const char *host, const char *port, const char *request,
                              uint64_t size, uint32_t idle_limit_ms) {
  if (dst == NULL && size > 0) return NULL;
  return start(NULL, dst, host, port, request, size, idle_limit_ms);
}

int32_t rs_fetch_state(rs_fetch *f) { return __atomic_load_n(&f->state, __ATOMIC_ACQUIRE); }
int32_t rs_fetch_http_status(rs_fetch *f) { return f->http_status; }
uint64_t rs_fetch_received(rs_fetch *f) { return __atomic_load_n(&f->received, __ATOMIC_RELAXED); }
const char *rs_fetch_message(rs_fetch *f) { return f->message; }
void rs_fetch_cancel(rs_fetch *f) { __atomic_store_n(&f->cancel, 1, __ATOMIC_RELEASE); }

int rs_fetch_free(rs_fetch *f) {
  if (rs_fetch_state(f) == RS_FETCH_RUNNING) return RS_ERR_ARG;
  free(f->request);
  free(f);
  return RS_OK;
}

void rs_fetch_cancel_all(void *segment) {
  pthread_mutex_lock(&live_lock);
  for (;;) {
    int waiting = 0;
    for (rs_fetch *f = live_head; f != NULL; f = f->next_live) {
      if (f->segment != segment) continue;
      __atomic_store_n(&f->cancel, 1, __ATOMIC_RELEASE);
      waiting = 1;
    }
    if (!waiting) break;
    pthread_cond_wait(&live_changed, &live_lock);
  }
  pthread_mutex_unlock(&live_lock);
}
