/*
 * nats_echo: a NATS request/reply echo pair in C (libnats, the NATS C client), the NATS
 * counterpart of the raw-libzmq baseline (baseline/zecho_*.c) for scripts/bench.sh.
 *
 *   nats_echo respond URL [LIFETIME_S [READY_FILE]]
 *       Subscribes to subject "echo" in queue group "q" and publishes each request's payload
 *       to its reply subject at once (natsOptions_SetSendAsap: no buffering, no flusher
 *       thread in between). Creates READY_FILE once the server has the subscription. Runs
 *       until SIGTERM or SIGINT, or LIFETIME_S seconds (default 3600).
 *   nats_echo lat  URL N PAYLOAD [MAX_S]
 *       N sequential calls with natsConnection_Request (after 1000 untimed warm-up calls);
 *       per-call round trip -> mean / p50 / p99 / min / max in microseconds.
 *   nats_echo tput URL N PAYLOAD WINDOW [MAX_S]
 *       N calls with WINDOW requests kept in flight (natsConnection_PublishRequest to one
 *       inbox of the client's, replies read with natsSubscription_NextMsg); calls/second.
 *
 * The client prints one JSON line in the format of baseline/zecho_client.c (impl "c-nats").
 * Each payload carries a sequence number in its first 8 bytes; every reply is checked for
 * order and content. Bounded by N and MAX_S (default 60); a reply that takes more than 5 s
 * aborts the run.
 */
#include <nats/nats.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "baseline/common.h"

#define SUBJECT "echo"
#define QUEUE "q"
#define REPLY_TIMEOUT_MS 5000

static void die(const char *what, const char *detail, natsStatus s) {
    fprintf(stderr, "nats_echo: %s%s%s: %s\n", what, detail ? " " : "", detail ? detail : "",
            natsStatus_GetText(s));
    const char *last = nats_GetLastError(NULL);
    if (last && *last) fprintf(stderr, "nats_echo:   libnats: %s\n", last);
    exit(1);
}

static natsConnection *connect_to(const char *url, int send_asap) {
    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, url);
    if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, false);
    if (s == NATS_OK && send_asap) s = natsOptions_SetSendAsap(opts, true);
    if (s != NATS_OK) die("options for", url, s);
    s = natsConnection_Connect(&nc, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) die("connect to", url, s);
    return nc;
}

/* ---- responder ---- */

static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)sub;
    (void)closure;
    const char *reply = natsMsg_GetReply(msg);
    if (reply) {
        natsStatus s = natsConnection_Publish(nc, reply, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
        if (s != NATS_OK) fprintf(stderr, "nats_echo: publish reply to %s: %s\n", reply, natsStatus_GetText(s));
    }
    natsMsg_Destroy(msg);
}

static int respond(const char *url, double lifetime_s, const char *ready_file) {
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    /* Blocked before libnats starts its threads, so they inherit the mask and the signal
     * waits for sigtimedwait below. */
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    natsConnection *nc = connect_to(url, 1);
    natsSubscription *sub = NULL;
    natsStatus s = natsConnection_QueueSubscribe(&sub, nc, SUBJECT, QUEUE, on_request, NULL);
    if (s != NATS_OK) die("queue-subscribe to " SUBJECT " in group " QUEUE " at", url, s);
    /* No limit on pending requests: a slow moment must not drop them. */
    s = natsSubscription_SetPendingLimits(sub, -1, -1);
    if (s != NATS_OK) die("set pending limits at", url, s);
    /* A flush is a round trip: once it returns, the server has the subscription. */
    s = natsConnection_FlushTimeout(nc, REPLY_TIMEOUT_MS);
    if (s != NATS_OK) die("flush the subscription to", url, s);
    if (ready_file) {
        FILE *f = fopen(ready_file, "w");
        if (!f) {
            fprintf(stderr, "nats_echo: create %s: %s\n", ready_file, strerror(errno));
            return 1;
        }
        fclose(f);
    }

    struct timespec timeout = {(time_t)lifetime_s, (long)((lifetime_s - (time_t)lifetime_s) * 1e9)};
    int sig = sigtimedwait(&stop, NULL, &timeout);
    if (sig < 0 && errno != EAGAIN) fprintf(stderr, "nats_echo: sigtimedwait: %s\n", strerror(errno));

    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    nats_Close();
    return 0;
}

/* ---- client (the measurements and the output of baseline/zecho_client.c) ---- */

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* nearest-rank percentile of a sorted array */
static double pct_us(const uint64_t *v, size_t n, double p) {
    size_t rank = (size_t)(p * n + 0.999999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return v[rank - 1] / 1000.0;
}

static void loadavg(char *out, size_t len) {
    FILE *f = fopen("/proc/loadavg", "r");
    out[0] = 0;
    if (f) {
        if (fgets(out, (int)len, f)) {
            char *nl = strchr(out, '\n');
            if (nl) *nl = 0;
        }
        fclose(f);
    }
}

/* One reply: its length, and whether it equals the request. */
static int same(natsMsg *reply, const unsigned char *sent, size_t payload) {
    return (size_t)natsMsg_GetDataLength(reply) == payload && memcmp(natsMsg_GetData(reply), sent, payload) == 0;
}

static int client(const char *url, int is_lat, size_t n, size_t payload, size_t window, double max_s) {
    char load[128];
    loadavg(load, sizeof load);
    const char *mode = is_lat ? "lat" : "tput";

    natsConnection *nc = connect_to(url, 0);
    natsSubscription *sub = NULL;
    natsInbox *inbox = NULL;
    natsStatus s = NATS_OK;
    if (!is_lat) {
        s = natsInbox_Create(&inbox);
        if (s == NATS_OK) s = natsConnection_SubscribeSync(&sub, nc, inbox);
        if (s == NATS_OK) s = natsSubscription_SetPendingLimits(sub, -1, -1);
        if (s == NATS_OK) s = natsConnection_FlushTimeout(nc, REPLY_TIMEOUT_MS);
        if (s != NATS_OK) die("subscribe to a reply inbox at", url, s);
    }

    unsigned char *sbuf = malloc(payload);
    if (!sbuf) { fprintf(stderr, "nats_echo: out of memory\n"); return 1; }
    for (size_t i = 0; i < payload; i++) sbuf[i] = (unsigned char)(i * 31 + 7);
    uint64_t errors = 0;
    const char *fail = NULL;
    natsStatus fail_status = NATS_OK;
    natsMsg *reply = NULL;

    /* warm-up: establishes the request machinery and warms caches; not timed */
    size_t warm = is_lat ? 1000 : 100;
    for (uint64_t i = 0; i < warm && !fail; i++) {
        memcpy(sbuf, &i, 8);
        if (is_lat) {
            s = natsConnection_Request(&reply, nc, SUBJECT, sbuf, (int)payload, REPLY_TIMEOUT_MS);
        } else {
            s = natsConnection_PublishRequest(nc, SUBJECT, inbox, sbuf, (int)payload);
            if (s == NATS_OK) s = natsSubscription_NextMsg(&reply, sub, REPLY_TIMEOUT_MS);
        }
        if (s != NATS_OK) { fail = "warmup"; fail_status = s; break; }
        natsMsg_Destroy(reply);
    }
    if (fail) {
        fprintf(stderr, "nats_echo: %s warm-up request to %s at %s: %s\n", mode, SUBJECT, url, natsStatus_GetText(fail_status));
        printf("{\"impl\":\"c-nats\",\"transport\":\"tcp\",\"test\":\"%s\",\"error\":\"%s\"}\n", mode, fail);
        return 1;
    }

    uint64_t deadline = now_ns() + (uint64_t)(max_s * 1e9);
    int truncated = 0;

    if (is_lat) {
        uint64_t *rtt = malloc(n * sizeof *rtt);
        if (!rtt) { fprintf(stderr, "nats_echo: out of memory\n"); return 1; }
        size_t done = 0;
        uint64_t t_start = now_ns();
        for (uint64_t i = 0; i < n; i++) {
            memcpy(sbuf, &i, 8);
            uint64_t t0 = now_ns();
            s = natsConnection_Request(&reply, nc, SUBJECT, sbuf, (int)payload, REPLY_TIMEOUT_MS);
            uint64_t t1 = now_ns();
            if (s != NATS_OK) { fail = s == NATS_TIMEOUT ? "timeout" : "request"; fail_status = s; break; }
            if (!same(reply, sbuf, payload)) errors++;
            natsMsg_Destroy(reply);
            rtt[done++] = t1 - t0;
            if ((i & 0x3ff) == 0 && t1 > deadline) { truncated = 1; break; }
        }
        uint64_t t_end = now_ns();
        double sum = 0;
        for (size_t i = 0; i < done; i++) sum += rtt[i];
        qsort(rtt, done, sizeof *rtt, cmp_u64);
        printf("{\"impl\":\"c-nats\",\"transport\":\"tcp\",\"test\":\"lat\",\"payload\":%zu,"
               "\"n\":%zu,\"mean_us\":%.2f,\"p50_us\":%.2f,\"p99_us\":%.2f,\"min_us\":%.2f,"
               "\"max_us\":%.2f,\"elapsed_s\":%.3f,\"errors\":%llu,\"truncated\":%s,"
               "\"error\":%s%s%s,\"loadavg\":\"%s\"}\n",
               payload, done, done ? sum / done / 1000.0 : 0.0,
               done ? pct_us(rtt, done, 0.50) : 0.0, done ? pct_us(rtt, done, 0.99) : 0.0,
               done ? rtt[0] / 1000.0 : 0.0, done ? rtt[done - 1] / 1000.0 : 0.0,
               (t_end - t_start) / 1e9, (unsigned long long)errors, truncated ? "true" : "false",
               fail ? "\"" : "", fail ? fail : "null", fail ? "\"" : "", load);
        free(rtt);
    } else {
        uint64_t sent = 0, recvd = 0;
        uint64_t t0 = now_ns();
        while (sent < window && sent < n) {
            memcpy(sbuf, &sent, 8);
            s = natsConnection_PublishRequest(nc, SUBJECT, inbox, sbuf, (int)payload);
            if (s != NATS_OK) { fail = "send"; fail_status = s; break; }
            sent++;
        }
        while (!fail && recvd < sent) {
            s = natsSubscription_NextMsg(&reply, sub, REPLY_TIMEOUT_MS);
            if (s != NATS_OK) { fail = s == NATS_TIMEOUT ? "timeout" : "receive"; fail_status = s; break; }
            uint64_t seq = UINT64_MAX;
            if (natsMsg_GetDataLength(reply) >= 8) memcpy(&seq, natsMsg_GetData(reply), 8);
            if ((size_t)natsMsg_GetDataLength(reply) != payload || seq != recvd) errors++;
            natsMsg_Destroy(reply);
            recvd++;
            if (sent < n && !truncated) {
                memcpy(sbuf, &sent, 8);
                s = natsConnection_PublishRequest(nc, SUBJECT, inbox, sbuf, (int)payload);
                if (s != NATS_OK) { fail = "send"; fail_status = s; break; }
                sent++;
            }
            if ((recvd & 0xfff) == 0 && now_ns() > deadline) truncated = 1; /* drain, send no more */
        }
        uint64_t t1 = now_ns();
        double el = (t1 - t0) / 1e9;
        printf("{\"impl\":\"c-nats\",\"transport\":\"tcp\",\"test\":\"tput\",\"payload\":%zu,"
               "\"window\":%zu,\"n\":%llu,\"elapsed_s\":%.3f,\"calls_per_s\":%.0f,"
               "\"mbytes_per_s_each_way\":%.2f,\"errors\":%llu,\"truncated\":%s,"
               "\"error\":%s%s%s,\"loadavg\":\"%s\"}\n",
               payload, window, (unsigned long long)recvd, el,
               el > 0 ? recvd / el : 0.0, el > 0 ? recvd * (double)payload / el / 1e6 : 0.0,
               (unsigned long long)errors, truncated ? "true" : "false",
               fail ? "\"" : "", fail ? fail : "null", fail ? "\"" : "", load);
    }
    if (fail) fprintf(stderr, "nats_echo: %s request to %s at %s: %s\n", mode, SUBJECT, url, natsStatus_GetText(fail_status));
    free(sbuf);
    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
    natsConnection_Destroy(nc);
    nats_Close();
    return fail ? 1 : 0;
}

static void usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s respond URL [LIFETIME_S [READY_FILE]]\n"
            "       %s lat  URL N PAYLOAD [MAX_S]\n"
            "       %s tput URL N PAYLOAD WINDOW [MAX_S]\n",
            argv0, argv0, argv0);
}

int main(int argc, char **argv) {
    if (argc < 3) { usage(argv[0]); return 2; }
    const char *mode = argv[1], *url = argv[2];
    if (strcmp(mode, "respond") == 0) {
        return respond(url, argc > 3 ? atof(argv[3]) : 3600.0, argc > 4 ? argv[4] : NULL);
    }
    int is_lat = strcmp(mode, "lat") == 0;
    if (!is_lat && strcmp(mode, "tput") != 0) { usage(argv[0]); return 2; }
    if (argc < 5 || (!is_lat && argc < 6)) { usage(argv[0]); return 2; }
    size_t n = strtoull(argv[3], NULL, 10);
    size_t payload = strtoull(argv[4], NULL, 10);
    size_t window = is_lat ? 1 : strtoull(argv[5], NULL, 10);
    int max_arg = is_lat ? 5 : 6;
    double max_s = argc > max_arg ? atof(argv[max_arg]) : 60.0;
    if (payload < 8) payload = 8;
    if (window < 1) window = 1;
    return client(url, is_lat, n, payload, window, max_s);
}
