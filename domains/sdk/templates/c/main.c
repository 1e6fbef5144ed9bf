/* {{name}}: a Gnosis domain in C. Key register 1 is the console (the first
 * --key of `gnosis install` and `gnosis exec`), where printf writes. */
#include <gnosis.h>

int main(void) {
    printf("hello from {{name}}\n");
    return 0;
}
