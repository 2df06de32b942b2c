/*
 * registry_floor: the floor for a registry. A raw libzmq ROUTER that receives the same
 * heartbeat traffic as a ZMesh registry (scripts/bench/registry_sim.py) and does the least
 * the simulator needs: it acknowledges a JSON announcement (so instances switch to 4-byte
 * keep-alives), drops keep-alives, and answers any request with a list as long as the
 * number of distinct instances that announced. No expiry, no JSON decoding: what libzmq
 * alone costs to take N instances' beats on this machine, the usual zmq_poll-then-recv way.
 *   usage: registry_floor BIND
 * Stops on SIGTERM (the default action).
 */
#include <zmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_SIZE 24
#define HEARTBEAT 0x05
#define REQUEST 0x01
#define REPLY 0x02

/* The routing ids that announced: an open-addressing set, never shrunk (a benchmark tool). */
#define SLOTS (1 << 18)
static char *seen[SLOTS];
static size_t seen_size[SLOTS];

static int remember(const char *id, size_t size) {
    unsigned long hash = 1469598103934665603UL;
    for (size_t i = 0; i < size; i++) hash = (hash ^ (unsigned char)id[i]) * 1099511628211UL;
    for (unsigned long slot = hash & (SLOTS - 1);; slot = (slot + 1) & (SLOTS - 1)) {
        if (!seen[slot]) {
            seen[slot] = malloc(size ? size : 1);
            memcpy(seen[slot], id, size);
            seen_size[slot] = size;
            return 1;
        }
        if (seen_size[slot] == size && memcmp(seen[slot], id, size) == 0) return 0;
    }
}

static void send_header(void *router, zmq_msg_t *id, unsigned char command, const unsigned char *request) {
    unsigned char header[29];  /* ZM, version, command, flags, 0, status, client, sequence, deadline, name length 0 */
    memset(header, 0, sizeof header);
    header[0] = 'Z';
    header[1] = 'M';
    header[2] = 1;
    header[3] = command;
    if (request) memcpy(header + 8, request + 8, 16);  /* client id and sequence */
    zmq_send(router, zmq_msg_data(id), zmq_msg_size(id), ZMQ_SNDMORE);
    zmq_send(router, "", 0, ZMQ_SNDMORE);
    zmq_send(router, header, sizeof header, command == REPLY ? ZMQ_SNDMORE : 0);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s BIND\n", argv[0]);
        return 2;
    }
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 65536);
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    if (zmq_bind(router, argv[1]) != 0) {
        fprintf(stderr, "registry_floor: bind %s failed: %s\n", argv[1], zmq_strerror(errno));
        return 1;
    }
    long acknowledged = 0;
    zmq_msg_t frames[4];
    for (;;) {
        zmq_pollitem_t item = {router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, -1) < 0 && errno != EINTR) return 1;
        for (;;) {  /* drain what is waiting, a message at a time */
            int count = 0, more = 1;
            while (more) {
                zmq_msg_t scratch;
                zmq_msg_t *frame = count < 4 ? &frames[count] : &scratch;
                zmq_msg_init(frame);
                if (zmq_msg_recv(frame, router, ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close(frame);
                    break;
                }
                more = zmq_msg_more(frame);
                if (count >= 4) zmq_msg_close(frame);
                count++;
            }
            if (count == 0) break;
            /* id, empty, header, body */
            if (count >= 3 && zmq_msg_size(&frames[2]) >= HEADER_SIZE) {
                const unsigned char *header = zmq_msg_data(&frames[2]);
                int body_is_json = count >= 4 && zmq_msg_size(&frames[3]) > 0
                                   && ((const char *)zmq_msg_data(&frames[3]))[0] == '{';
                if (header[3] == HEARTBEAT && body_is_json) {
                    acknowledged += remember(zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0]));
                    send_header(router, &frames[0], HEARTBEAT, NULL);
                } else if (header[3] == REQUEST) {
                    send_header(router, &frames[0], REPLY, header);
                    size_t size = 16 + 2 * (size_t)acknowledged;
                    char *body = malloc(size);
                    size_t used = (size_t)snprintf(body, size, "{\"instances\":[");
                    for (long i = 0; i < acknowledged; i++) used += (size_t)sprintf(body + used, i ? ",0" : "0");
                    used += (size_t)sprintf(body + used, "]}");
                    zmq_send(router, body, used, 0);
                    free(body);
                }
            }
            for (int i = 0; i < count && i < 4; i++) zmq_msg_close(&frames[i]);
        }
    }
}
