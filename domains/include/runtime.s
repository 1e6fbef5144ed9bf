# runtime.s: subroutines the domain programs share, included at the end of
# each. Standard RISC-V calling convention; they use only a0-a7 and t0-t6
# (and the stack), so s-registers survive a call.

    .text
# memcpy(a0 destination, a1 source, a2 bytes)
memcpy:
    beqz a2, 2f
1:  lbu  t0, 0(a1)
    sb   t0, 0(a0)
    addi a0, a0, 1
    addi a1, a1, 1
    addi a2, a2, -1
    bnez a2, 1b
2:  ret

# memeq(a0 p, a1 q, a2 bytes) -> a0 = 1 if the bytes are equal, else 0
memeq:
    beqz a2, 2f
1:  lbu  t0, 0(a0)
    lbu  t1, 0(a1)
    bne  t0, t1, 3f
    addi a0, a0, 1
    addi a1, a1, 1
    addi a2, a2, -1
    bnez a2, 1b
2:  li   a0, 1
    ret
3:  li   a0, 0
    ret

# utoa(a0 value, a1 buffer) -> a0 = length of value's decimal text, written at buffer
utoa:
    addi sp, sp, -16
    addi t0, sp, 16              # digits are made backwards, ending here
    li   t1, 10
1:  remu t2, a0, t1
    divu a0, a0, t1
    addi t2, t2, '0'
    addi t0, t0, -1
    sb   t2, 0(t0)
    bnez a0, 1b
    addi t3, sp, 16
    sub  a0, t3, t0
2:  lbu  t2, 0(t0)
    sb   t2, 0(a1)
    addi t0, t0, 1
    addi a1, a1, 1
    bltu t0, t3, 2b
    addi sp, sp, 16
    ret
