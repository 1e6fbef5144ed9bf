/* kv-client.c: uses kv-server through a start key: strings both ways
 * (put, get, add), and keys both ways (stash its timer key in the server,
 * fetch it back and use it). Then counts its visits in the server, which
 * keeps the count across crashes (to its last checkpoint).
 *
 *     gnosis install world.img kv-client.elf --name kvclient --key console --key start:kvserver --key timer --key bwait:3
 */
#include <gnosis.h>

#include "../kv-server/kvs.h"

enum { CONSOLE = 1, SERVER = 2, TIMER = 3, BWAIT = 4, FETCHED = 5 };

int main(void) {
    char value[32];
    uint32_t len, visits;
    const char put[] = "greeting=hello";
    uint32_t rc = KC(SERVER, KVS_PUT, STRFROM(put, sizeof put - 1));
    rc |= KC(SERVER, KVS_GET, STRFROM("greeting", 8), STRTO(value, sizeof value - 1, &len));
    value[len < sizeof value ? len : sizeof value - 1] = 0;
    printf("kv-client: greeting = %s (rc %u)\n", value, rc);

    KC(SERVER, KVS_STASH, KEYSFROM(TIMER));
    KC(SERVER, KVS_FETCH, KEYSTO(FETCHED));
    printf("kv-client: the key fetched back %s the timer\n", gn_alleged_type(FETCHED) == AKT_TIMER ? "is" : "is not");

    for (;;) {
        KC(SERVER, KVS_ADD, STRFROM("visits", 6), STRUCTTO(visits));
        printf("kv-client: visit %u\n", visits);
        gn_sleep(TIMER, BWAIT, 250000000ull);
    }
}
