# counter.s: the counter demo. Counts, printing "counter: N" once a second.
# N lives in the domain's memory like everything else, so it persists:
# after a crash and restart the count goes on from its value at the last
# checkpoint (the BWAIT wait returns early at restart, so the first line
# after a restart comes at once).
#
# Keys: k1 the system timer, k2 a BWAIT object, k3 the console (channel 1).

    .include "gnosis.inc"
    .equ K_TIMER, 1
    .equ K_BWAIT, 2
    .equ K_CONSOLE, 3
    .equ PERIOD_NS, 1000000000
    .equ PREFIX_LEN, 9

    .text
_start:
    lw   t0, count
    addi t0, t0, 1
    sw   t0, count, t1
    la   a0, line
    la   a1, prefix
    li   a2, PREFIX_LEN
    call memcpy
    lw   a0, count
    la   a1, line + PREFIX_LEN
    call utoa
    la   t0, line + PREFIX_LEN
    add  t0, t0, a0
    li   t1, '\n'
    sb   t1, 0(t0)
    addi s1, a0, PREFIX_LEN + 1
    la   s0, line
    KCALL_SEND K_CONSOLE, CONSOLE_WRITE, s0, s1
    KCALL_STR K_TIMER, TIMER_READ, wake, 0, wake, 8
    lw   t0, wake                     # wake += PERIOD_NS (64-bit)
    lw   t1, wake + 4
    li   t2, PERIOD_NS
    add  t3, t0, t2
    sltu t4, t3, t0
    add  t1, t1, t4
    sw   t3, wake, t5
    sw   t1, wake + 4, t5
    KCALL_STR K_BWAIT, BWAIT_SET, wake, 8, wake, 0
    KCALL K_BWAIT, BWAIT_WAIT
    j    _start

    .rodata
prefix: .ascii "counter: "
    .data
    .align 2
count: .word 0
wake:  .word 0, 0
line:  .space 32

    .include "runtime.s"
