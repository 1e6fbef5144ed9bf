# {{name}}: a Gnosis domain in RV32IM assembly. Key register 1 is the
# console (the first --key of `gnosis install` and `gnosis exec`).
    .include "gnosis.inc"

    .text
_start:
    li   a0, CONSOLE_WRITE
    EXIT a1, 1, CALL, 1
    li   a2, 0
    la   a3, greeting
    li   a4, greeting_end - greeting
    ecall
    li   a0, 0
    ebreak

    .data
greeting: .ascii "hello from {{name}}\n"
greeting_end:
