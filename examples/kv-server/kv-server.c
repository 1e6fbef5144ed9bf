/* kv-server.c: a small store a client reaches through a start key.
 *
 * Keys: k1 console, k2 returner. Requests' keys arrive in k12..k14, the
 * client's resume key in k15 (GN_SERVER's defaults); a stashed key lives in k5.
 *
 * | order    | string         | reply                                  |
 * |----------|----------------|----------------------------------------|
 * | KVS_PUT  | "name=value"   | 0; 1 full or malformed                 |
 * | KVS_GET  | "name"         | 0 + value; 1 not set                   |
 * | KVS_ADD  | "name"         | 0 + the new count (u32): name += 1     |
 * | KVS_STASH| key 0          | 0: keeps key 0                         |
 * | KVS_FETCH|                | 0 + key 0: the key kept                |
 *
 *     gnosis install world.img kv-server.elf --name kvserver --key console --key returner
 */
#include <gnosis.h>

#include "kvs.h"

enum { CONSOLE = 1, RETURNER = 2, STASH = 5, MAX = 16, LEN = 32 };

static struct {
    char name[LEN], value[LEN];
} table[MAX];

static int find(const char *name, size_t n, int make) {
    for (int i = 0; i < MAX; i++)
        if (table[i].name[0] && strlen(table[i].name) == n && !memcmp(table[i].name, name, n))
            return i;
    for (int i = 0; make && i < MAX; i++)
        if (!table[i].name[0])
            return i;
    return -1;
}

static void handle(const struct gn_request *req, struct gn_reply *reply, void *ctx) {
    const char *s = (const char *)req->data, *eq = memchr(s, '=', req->len);
    int i;
    switch (req->order) {
    case KVS_PUT:
        if (!eq || eq == s || eq - s >= LEN || req->len - (eq - s) > LEN || (i = find(s, eq - s, 1)) < 0) {
            reply->rc = 1;
            return;
        }
        memcpy(table[i].name, s, eq - s);
        table[i].name[eq - s] = 0;
        memcpy(table[i].value, eq + 1, req->len - (eq - s) - 1);
        table[i].value[req->len - (eq - s) - 1] = 0;
        return;
    case KVS_GET:
        if ((i = find(s, req->len, 0)) < 0) {
            reply->rc = 1;
            return;
        }
        reply->data = table[i].value;
        reply->len = strlen(table[i].value);
        return;
    case KVS_ADD: {
        static uint32_t n;
        if (req->len == 0 || req->len >= LEN || (i = find(s, req->len, 1)) < 0) {
            reply->rc = 1;
            return;
        }
        memcpy(table[i].name, s, req->len);
        table[i].name[req->len] = 0;
        n = 0;
        for (const char *p = table[i].value; *p; p++)
            n = n * 10 + (*p - '0');
        snprintf(table[i].value, LEN, "%u", ++n);
        reply->data = &n;
        reply->len = sizeof n;
        return;
    }
    case KVS_STASH:
        KC(RETURNER, 0, KEYSFROM(12), KEYSTO(STASH)); /* the returner hands key 0 back: into k5 */
        return;
    case KVS_FETCH:
        reply->keys[0] = STASH;
        return;
    default:
        reply->rc = RC_INVALID;
    }
}

int main(void) {
    static unsigned char buf[64];
    struct gn_server server = GN_SERVER(RETURNER, buf);
    printf("kv-server: ready\n");
    gn_serve(&server, handle, 0);
}
