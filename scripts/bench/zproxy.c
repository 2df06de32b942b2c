/*
 * zproxy: the floor for any broker. A ROUTER front end and a DEALER back end joined by
 * zmq_proxy, with no logic at all: what one more process between a client and its echo
 * costs on this machine (two more TCP hops, their libzmq I/O threads and wake-ups).
 *   usage: zproxy FRONT_BIND BACK_CONNECT
 * Stops on SIGTERM (the default action).
 */
#include <zmq.h>
#include <errno.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s FRONT_BIND BACK_CONNECT\n", argv[0]);
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *front = zmq_socket(ctx, ZMQ_ROUTER);
    void *back = zmq_socket(ctx, ZMQ_DEALER);
    if (zmq_bind(front, argv[1]) != 0) {
        fprintf(stderr, "zproxy: bind %s failed: %s\n", argv[1], zmq_strerror(errno));
        return 1;
    }
    if (zmq_connect(back, argv[2]) != 0) {
        fprintf(stderr, "zproxy: connect %s failed: %s\n", argv[2], zmq_strerror(errno));
        return 1;
    }
    zmq_proxy(front, back, NULL);
    return 0;
}
