# console.s: the console multiplexer.
#
# Every domain that prints holds a start key to the console whose databyte
# is its channel (1 to 255). The console writes their strings to the
# console device in the order they arrive. Each channel can be muted: a
# channel's holder can mute only its own channel, so no client can silence
# another; channel 255 is shared (programs beyond the channels `install`
# hands out) and cannot be muted by a holder. The control facet (databyte
# 0, held by the shell alone) mutes any channel. Device keys are rescinded
# at every restart: when its key answers "stale" (KT+3) the console gets a
# fresh one from the device creator and writes again, so clients never see
# the restart.
#
# Keys: k1 the device creator, k2 a console device key, k3 the returner
# (every reply goes through it: REPLY_WAIT), k15 the caller's resume key.
#
# | order | key      | effect                                              | rc |
# |-------|----------|-----------------------------------------------------|----|
# | 1     | channel  | write the string, unless the channel is muted       | 0, or the device's rc |
# | 2     | channel  | string u32: 0 unmute, else mute this channel        | 0; 1 the shared channel |
# | 2     | control  | string u32 channel, u32: 0 unmute, else mute it     | 0; 1 no such channel |
# | KT    | any      | alleged type                                        | 0x434F4E ("CON") |

    .include "gnosis.inc"
    .equ K_CREATOR, 1
    .equ K_DEVICE, 2
    .equ K_RETURNER, 3
    .equ ORDER_WRITE, 1
    .equ ORDER_MUTE, 2
    .equ CONTROL, 0
    .equ SHARED, 255
    .equ BUFFER, 4096

    .text
_start:
    li   s0, 0                       # the return code of the next reply
serve:
    REPLY_WAIT K_RETURNER, s0, request, BUFFER
    li   s0, RC_INVALID
    li   t0, ORDER_WRITE
    beq  a0, t0, write
    li   t0, ORDER_MUTE
    beq  a0, t0, mute
    li   t0, KT
    bne  a0, t0, serve
    li   s0, 0x434F4E
    j    serve

# mute: a1 = the caller's channel. Through the control facet the string
# names the channel; through a channel key it is the caller's own.
mute:
    li   s0, 1
    mv   t1, a1                      # the channel
    la   t2, request
    lw   t3, 0(t2)                   # mute (channel key)
    bnez a1, 1f
    lw   t1, 0(t2)                   # control: the channel named
    lw   t3, 4(t2)
    li   t0, SHARED
    bgtu t1, t0, serve               # no such channel
    j    2f
1:  li   t0, SHARED
    beq  t1, t0, serve               # a shared channel is not one holder's
2:  srli t4, t1, 5                   # word of the mask
    slli t4, t4, 2
    la   t5, muted
    add  t5, t5, t4
    andi t6, t1, 31
    li   t0, 1
    sll  t0, t0, t6                  # the channel's bit
    lw   t4, 0(t5)
    bnez t3, 3f
    xori t0, t0, -1                  # unmute: clear the bit
    and  t4, t4, t0
    j    4f
3:  or   t4, t4, t0                  # mute: set it
4:  sw   t4, 0(t5)
    li   s0, 0
    j    serve

write:
    li   s0, 0
    srli t4, a1, 5                   # is the caller's channel muted?
    slli t4, t4, 2
    la   t5, muted
    add  t5, t5, t4
    lw   t0, 0(t5)
    andi t6, a1, 31
    srl  t0, t0, t6
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
muted: .space 32                     # a bit per channel
    .bss
request: .space BUFFER
