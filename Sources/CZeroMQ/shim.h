#ifndef ZMESH_CZEROMQ_SHIM_H
#define ZMESH_CZEROMQ_SHIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>

#include <zmq.h>
#include <sys/eventfd.h>
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

/* Names the calling thread (15 characters at most), for ps, top and gdb. */
static inline int zmesh_set_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}

#endif
