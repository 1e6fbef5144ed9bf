/* counter.c: prints "c-counter: N" four times a second. N lives in the
 * domain's memory, so after a crash the world restarts from its last
 * checkpoint and the count goes on from there.
 *
 *     gnosis install world.img counter.elf --name ccounter --key console --key timer --key bwait:2
 */
#include <gnosis.h>

enum { CONSOLE = 1, TIMER = 2, BWAIT = 3 };

static unsigned count;

int main(void) {
    for (;;) {
        printf("c-counter: %u\n", ++count);
        gn_sleep(TIMER, BWAIT, 250000000ull);
    }
}
