# console.s: the console multiplexer.
#
# Every domain that prints holds a start key to the console whose databyte
# is its channel. The console writes their strings to the console device in
# the order they arrive. Device keys are rescinded at every restart: when
# its key answers "stale" (KT+3) it gets a fresh one from the device
# creator and writes again, so clients never see the restart.
#
# Keys: k1 the device creator, k2 a console device key, k15 the caller's
# resume key.
#
# | order | effect                                                  | rc |
# |-------|---------------------------------------------------------|----|
# | 1     | write the string, unless the caller's channel is muted  | 0, or the device's rc |
# | 2     | set the mute mask (string: u32, bit c mutes channel c)  | 0 |
# | KT    | alleged type                                            | 0x434F4E ("CON") |

    .include "gnosis.inc"
    .equ K_CREATOR, 1
    .equ K_DEVICE, 2
    .equ ORDER_WRITE, 1
    .equ ORDER_MUTE, 2
    .equ BUFFER, 4096

    .text
_start:
    li   s0, 0                       # the return code of the next reply
serve:
    REPLY_WAIT s0, request, BUFFER
    li   s0, RC_INVALID
    li   t0, ORDER_WRITE
    beq  a0, t0, write
    li   t0, ORDER_MUTE
    beq  a0, t0, mute
    li   t0, KT
    bne  a0, t0, serve
    li   s0, 0x434F4E
    j    serve

mute:
    lw   t0, request
    sw   t0, mute_mask, t1
    li   s0, 0
    j    serve

write:
    li   s0, 0
    lw   t0, mute_mask
    srl  t0, t0, a1
    andi t0, t0, 1
    bnez t0, serve
    li   t0, BUFFER
    bleu a2, t0, 1f
    mv   a2, t0                      # the string was cut to our buffer
1:  mv   s1, a2
    la   s2, request
    KCALL_SEND K_DEVICE, CONSOLE_WRITE, s2, s1
    li   t0, RC_STALE
    bne  a0, t0, 2f
    KCALL_GET K_CREATOR, DEVICE_CONSOLE, K_DEVICE
    KCALL_SEND K_DEVICE, CONSOLE_WRITE, s2, s1
2:  mv   s0, a0
    j    serve

    .data
mute_mask: .word 0
    .bss
request: .space BUFFER
