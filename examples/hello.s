# hello.s: sums 1..100, stores the result, and stops at a breakpoint.
# Under qemu-riscv32 the `ecall` is Linux exit(sum); under `gnosis exec` it
# invokes key register 0 (DK(0), which answers KT+1) and the `ebreak` stops
# the domain.
    .text
_start:
    li    a0, 0            # sum
    li    t0, 1            # i
    li    t1, 101
1:  add   a0, a0, t0
    addi  t0, t0, 1
    blt   t0, t1, 1b
    la    t2, result
    sw    a0, 0(t2)
    mv    s0, a0           # keep the sum where the ecall leaves it alone
    li    a1, 0            # exit block: CALL key register 0
    li    a7, 93           # Linux: exit
    ecall
    mv    a0, s0
    ebreak

    .data
result: .word 0
