/*
 * mdp_echo: the raw echo behind the broker floor for Majordomo clients of every dialect.
 *   usage: mdp_echo ENDPOINT
 * A ROUTER that sends back every message it gets, frame for frame, as zecho_server does;
 * RFC 18 clients take that back with mdp_client.py --raw, and an MDP/0.1 REQUEST echoed is
 * already a valid REPLY. majortomo's client takes only PARTIAL or FINAL, so a majortomo
 * REQUEST ([routing ids...] [] "MDPC02" 0x02 service body...) goes back as its FINAL
 * ([routing ids...] [] "MDPC02" 0x04 body...): one byte changed and the service frame left
 * out, no other work. Stops on SIGTERM (the default action).
 */
#include <zmq.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAX_PARTS 16

/* The index of the service frame of a majortomo REQUEST, or -1. */
static int majortomo_service(zmq_msg_t *parts, int count) {
    int empty = 0;
    while (empty < count && zmq_msg_size(&parts[empty]) != 0) empty++;
    if (empty + 4 >= count) return -1;   /* MDPC02, command, service, one body frame at least */
    zmq_msg_t *protocol = &parts[empty + 1], *command = &parts[empty + 2];
    if (zmq_msg_size(protocol) != 6 || memcmp(zmq_msg_data(protocol), "MDPC02", 6) != 0) return -1;
    if (zmq_msg_size(command) != 1 || *(unsigned char *)zmq_msg_data(command) != 0x02) return -1;
    return empty + 3;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s ENDPOINT\n", argv[0]);
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_ROUTER);
    int one = 1, linger = 0;
    zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(sock, argv[1]) != 0) {
        fprintf(stderr, "mdp_echo: bind %s failed: %s\n", argv[1], zmq_strerror(errno));
        return 1;
    }
    zmq_msg_t parts[MAX_PARTS];
    for (;;) {
        int count = 0, more = 1, dropped = 0;
        while (more) {
            zmq_msg_t *part = count < MAX_PARTS ? &parts[count] : NULL;
            zmq_msg_t extra;
            if (part == NULL) { part = &extra; dropped = 1; }
            zmq_msg_init(part);
            if (zmq_msg_recv(part, sock, 0) < 0) {
                zmq_msg_close(part);
                if (errno == EINTR) continue;
                fprintf(stderr, "mdp_echo: recv: %s\n", zmq_strerror(errno));
                return 1;
            }
            more = zmq_msg_more(part);
            if (part == &extra) zmq_msg_close(part); else count++;
        }
        int skip = dropped ? -1 : majortomo_service(parts, count);
        if (skip >= 0) *(unsigned char *)zmq_msg_data(&parts[skip - 1]) = 0x04;   /* REQUEST -> FINAL */
        int failed = dropped;   /* too many frames, or the peer is gone: the rest is released */
        for (int i = 0; i < count; i++) {
            if (failed || i == skip) { zmq_msg_close(&parts[i]); continue; }
            if (zmq_msg_send(&parts[i], sock, i + 1 < count ? ZMQ_SNDMORE : 0) < 0) {
                zmq_msg_close(&parts[i]);
                failed = 1;
            }
        }
    }
}
