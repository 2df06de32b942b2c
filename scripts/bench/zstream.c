/*
 * zstream: the floor for a one-way stream. PUSH sends N messages of SIZE bytes as fast as
 * libzmq takes them (its high-water marks are its flow control); PULL receives them and
 * prints one JSON line with the rate, timed from the first message to the last.
 *   usage: zstream pull BIND N          (start first)
 *          zstream push CONNECT N SIZE
 */
#include <zmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 4 || (strcmp(argv[1], "push") == 0 && argc < 5)) {
        fprintf(stderr, "usage: %s pull BIND N | push CONNECT N SIZE\n", argv[0]);
        return 2;
    }
    long count = atol(argv[3]);
    void *ctx = zmq_ctx_new();
    if (strcmp(argv[1], "pull") == 0) {
        void *pull = zmq_socket(ctx, ZMQ_PULL);
        if (zmq_bind(pull, argv[2]) != 0) {
            fprintf(stderr, "zstream: bind %s failed: %s\n", argv[2], zmq_strerror(errno));
            return 1;
        }
        char buffer[65536];
        double first = 0;
        for (long i = 0; i < count; i++) {
            if (zmq_recv(pull, buffer, sizeof buffer, 0) < 0) {
                fprintf(stderr, "zstream: recv failed: %s\n", zmq_strerror(errno));
                return 1;
            }
            if (i == 0) first = now();
        }
        double seconds = now() - first;
        printf("{\"mode\": \"raw-stream\", \"messages\": %ld, \"seconds\": %.4f, \"messages_per_second\": %.0f}\n",
               count, seconds, seconds > 0 ? (count - 1) / seconds : 0);
        zmq_close(pull);
    } else {
        size_t size = (size_t)atol(argv[4]);
        void *push = zmq_socket(ctx, ZMQ_PUSH);
        int linger = -1;
        zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
        if (zmq_connect(push, argv[2]) != 0) {
            fprintf(stderr, "zstream: connect %s failed: %s\n", argv[2], zmq_strerror(errno));
            return 1;
        }
        char *message = calloc(size ? size : 1, 1);
        for (long i = 0; i < count; i++) {
            if (zmq_send(push, message, size, 0) < 0) {
                fprintf(stderr, "zstream: send failed: %s\n", zmq_strerror(errno));
                return 1;
            }
        }
        free(message);
        zmq_close(push);
    }
    zmq_ctx_term(ctx);
    return 0;
}
