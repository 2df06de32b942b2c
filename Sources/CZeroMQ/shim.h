#ifndef ZMESH_CZEROMQ_SHIM_H
#define ZMESH_CZEROMQ_SHIM_H

/* No _GNU_SOURCE here: it would change glibc's own types (fd_set's member names) from the
   ones Swift's Glibc module sees, and a clean build then fails with a module conflict. */
#include <pthread.h>

#include <zmq.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <errno.h>
#include <unistd.h>
#include <stdint.h>
#include <string.h>

/* Glibc's Swift overlay does not expose eventfd(2): declare it through this shim. */
static inline int zmesh_eventfd(unsigned int initval, int flags) {
    return eventfd(initval, flags);
}

static inline int zmesh_eventfd_write(int fd, uint64_t value) {
    return eventfd_write(fd, (eventfd_t)value);
}

static inline int zmesh_eventfd_read(int fd, uint64_t *value) {
    eventfd_t v = 0;
    int rc = eventfd_read(fd, &v);
    *value = (uint64_t)v;
    return rc;
}

/* glibc declares this only under _GNU_SOURCE; the symbol is always there. */
extern int pthread_setname_np(pthread_t thread, const char *name);

/* Names the calling thread (15 characters at most), for ps, top and gdb. */
static inline int zmesh_set_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}

/* epoll_event is a packed struct on x86_64, which Swift does not import well: wrap it. */
static inline int zmesh_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

static inline int zmesh_epoll_add(int epfd, int fd, uint64_t data) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = EPOLLIN;
    event.data.u64 = data;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

/* Changes what a registered descriptor is polled for: EPOLLIN when readable is 1, nothing when 0. */
static inline int zmesh_epoll_arm(int epfd, int fd, uint64_t data, int readable) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = readable ? EPOLLIN : 0;
    event.data.u64 = data;
    return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &event);
}

static inline int zmesh_epoll_remove(int epfd, int fd) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &event);
}

/* Waits like epoll_wait and writes each ready entry's data into out; EINTR counts as 0. */
static inline int zmesh_epoll_wait(int epfd, uint64_t *out, int max, int timeout) {
    struct epoll_event events[64];
    if (max > 64) max = 64;
    int n = epoll_wait(epfd, events, max, timeout);
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) out[i] = events[i].data.u64;
    return n;
}

#endif
