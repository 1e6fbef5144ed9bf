# shell.s: the console's input side. Reads lines from the console device
# and runs them as commands against the demo domains, printing the answers
# through the console domain. Device keys are rescinded at every restart:
# when its key answers "stale" (KT+3) it gets a fresh one from the device
# creator and reads on; a read interrupted by a restart is simply retried.
#
# Keys: k1 the device creator, k2 a console device key (for reading),
# k3 the console (channel 3), k4 the key-value store, k5 the console's
# control facet (it mutes the counter's channel for `counter off`).
#
# Commands:
#   help                 what follows
#   set KEY VALUE        store VALUE (the rest of the line) under KEY
#   get KEY              print KEY's value
#   del KEY              delete KEY
#   list                 print every key and value
#   counter on|off       show or hide the counter's lines

    .include "gnosis.inc"
    .equ K_CREATOR, 1
    .equ K_DEVICE, 2
    .equ K_CONSOLE, 3
    .equ K_KV, 4
    .equ K_CONTROL, 5
    .equ LINE, 256
    .equ KV_SET, 1
    .equ KV_GET, 2
    .equ KV_DELETE, 3
    .equ KV_LIST, 4
    .equ CONSOLE_MUTE, 2

    .text
_start:
    la   a0, greeting
    call say
read:
    lw   t0, filled
    li   t1, LINE
    sub  t2, t1, t0
    sw   t2, want, t3
    la   a5, line
    add  a5, a5, t0
    mv   a6, t2
    li   a0, CONSOLE_READ
    EXIT a1, K_DEVICE, CALL, 1
    li   a2, 1
    la   a3, want
    li   a4, 4
    ecall
    beqz a0, got
    li   t0, RC_STALE
    bne  a0, t0, read                 # interrupted by a restart: read again
    KCALL_GET K_CREATOR, DEVICE_CONSOLE, K_DEVICE
    j    read
got:
    lw   t0, want
    bleu a2, t0, 1f
    mv   a2, t0
1:  lw   t0, filled
    add  t0, t0, a2
    sw   t0, filled, t1
next_line:
    la   s0, line
    lw   s1, filled
    li   s2, 0
1:  bgeu s2, s1, 3f
    add  t0, s0, s2
    lbu  t1, 0(t0)
    li   t2, '\n'
    beq  t1, t2, 2f
    addi s2, s2, 1
    j    1b
2:  mv   a0, s0                       # a whole line: run it
    mv   a1, s2
    call command
    addi s2, s2, 1                    # drop it and its newline
    la   a0, line
    add  a1, a0, s2
    sub  a2, s1, s2
    sw   a2, filled, t0
    call memcpy
    j    next_line
3:  li   t0, LINE
    bltu s1, t0, read
    sw   zero, filled, t0             # a line too long for the buffer: dropped
    la   a0, too_long
    call say
    j    read

# command(a0 line, a1 length): runs one command line.
command:
    addi sp, sp, -16
    sw   ra, 12(sp)
    sw   s0, 8(sp)
    sw   s1, 4(sp)
    add  s1, a0, a1                   # end of line, without a trailing '\r'
    beqz a1, 1f
    lbu  t0, -1(s1)
    li   t1, '\r'
    bne  t0, t1, 1f
    addi s1, s1, -1
1:  mv   a1, s1
    call word
    beqz a1, done
    mv   s0, a2                       # the rest of the line
    sw   a0, cmd, t0
    sw   a1, cmd_len, t0
    la   a2, w_help
    call is
    bnez a0, help
    la   a2, w_set
    call is_cmd
    bnez a0, do_set
    la   a2, w_get
    call is_cmd
    bnez a0, do_get
    la   a2, w_del
    call is_cmd
    bnez a0, do_del
    la   a2, w_list
    call is_cmd
    bnez a0, do_list
    la   a2, w_counter
    call is_cmd
    bnez a0, do_counter
    la   a0, unknown
    call emitz
    lw   a0, cmd
    lw   a1, cmd_len
    call emit
    la   a0, try_help
    call say
done:
    lw   ra, 12(sp)
    lw   s0, 8(sp)
    lw   s1, 4(sp)
    addi sp, sp, 16
    ret

help:
    la   a0, help_text
    call say
    j    done

# The key (the next word) into req + 1 and its length into req[0];
# a0 = its length (0 if missing or too long, after printing why).
key_arg:
    addi sp, sp, -16
    sw   ra, 12(sp)
    mv   a0, s0
    mv   a1, s1
    call word
    mv   s0, a2
    beqz a1, 1f
    li   t0, 15
    bgtu a1, t0, 2f
    sb   a1, req, t0
    mv   t1, a1
    sw   t1, key_len, t0
    mv   a2, a1
    mv   a1, a0
    la   a0, req + 1
    call memcpy
    lw   a0, key_len
    j    3f
1:  la   a0, need_key
    call say
    li   a0, 0
    j    3f
2:  la   a0, bad_key
    call say
    li   a0, 0
3:  lw   ra, 12(sp)
    addi sp, sp, 16
    ret

do_set:
    call key_arg
    beqz a0, done
1:  bgeu s0, s1, 2f                   # the value: the rest, after the spaces
    lbu  t0, 0(s0)
    li   t1, ' '
    bne  t0, t1, 2f
    addi s0, s0, 1
    j    1b
2:  sub  a2, s1, s0
    li   t0, LINE
    bgtu a2, t0, 5f
    lw   t1, key_len
    la   a0, req + 1
    add  a0, a0, t1
    mv   a1, s0
    add  s0, t1, a2                   # request length - 1
    call memcpy
    li   a0, KV_SET
    addi a1, s0, 1
    call kv_call
    beqz a0, 3f
    li   t0, 1
    beq  a0, t0, 4f
5:  la   a0, bad_value
    call say
    j    done
3:  la   a0, ok
    call say
    j    done
4:  la   a0, full
    call say
    j    done

do_get:
    call key_arg
    beqz a0, done
    la   t0, req + 1                  # the key alone
    la   a0, req
    mv   a2, a0
    lw   a1, key_len
    mv   s0, a1
    mv   a1, t0
    mv   a2, s0
    call memcpy
    li   a0, KV_GET
    mv   a1, s0
    call kv_call
    mv   s1, a1
    bnez a0, not_set
    la   a0, req
    mv   a1, s0
    call emit
    la   a0, equals
    call emitz
    la   a0, reply
    mv   a1, s1
    call emit
    la   a0, newline
    call say
    j    done

not_set:
    la   a0, req
    mv   a1, s0
    call emit
    la   a0, is_not_set
    call say
    j    done

do_del:
    call key_arg
    beqz a0, done
    la   a0, req
    la   a1, req + 1
    lw   s0, key_len
    mv   a2, s0
    call memcpy
    li   a0, KV_DELETE
    mv   a1, s0
    call kv_call
    bnez a0, not_set
    la   a0, ok
    call say
    j    done

do_list:
    li   a0, KV_LIST
    li   a1, 0
    call kv_call
    beqz a1, 1f
    la   a0, reply
    call emit
    call flush
    j    done
1:  la   a0, empty
    call say
    j    done

do_counter:
    mv   a0, s0
    mv   a1, s1
    call word
    sw   a0, cmd, t0
    sw   a1, cmd_len, t0
    la   a2, w_on
    call is
    li   s0, 0
    bnez a0, 1f
    lw   a0, cmd
    lw   a1, cmd_len
    la   a2, w_off
    call is
    li   s0, 1                      # muted
    bnez a0, 1f
    la   a0, counter_usage
    call say
    j    done
1:  sw   s0, mute + 4, t0
    KCALL_STR K_CONTROL, CONSOLE_MUTE, mute, 8, mute, 0
    la   a0, ok
    call say
    j    done

# is_cmd(a2 literal) -> a0 = 1 if the command word is that literal
is_cmd:
    lw   a0, cmd
    lw   a1, cmd_len
# is(a0 word, a1 length, a2 NUL-terminated literal) -> a0 = 1 if equal
is:
    mv   t0, a2
    li   t1, 0
1:  lbu  t2, 0(t0)                    # literal's length
    beqz t2, 2f
    addi t0, t0, 1
    addi t1, t1, 1
    j    1b
2:  bne  t1, a1, 3f
    mv   t0, a0
    mv   a0, a2
    mv   a1, t0
    mv   a2, t1
    tail memeq
3:  li   a0, 0
    ret

# word(a0 from, a1 end) -> a0 start, a1 length, a2 after the word
word:
1:  bgeu a0, a1, 3f                   # skip spaces
    lbu  t0, 0(a0)
    li   t1, ' '
    bne  t0, t1, 3f
    addi a0, a0, 1
    j    1b
3:  mv   a2, a0
4:  bgeu a2, a1, 5f
    lbu  t0, 0(a2)
    li   t1, ' '
    beq  t0, t1, 5f
    addi a2, a2, 1
    j    4b
5:  sub  a1, a2, a0
    ret

# kv_call(a0 order, a1 request length) -> a0 rc, a1 reply length
kv_call:
    mv   a4, a1
    la   a3, req
    EXIT a1, K_KV, CALL, 1
    li   a2, 1
    la   a5, reply
    li   a6, 4096
    ecall
    mv   a1, a2
    li   t0, 4096
    bleu a1, t0, 1f
    mv   a1, t0
1:  ret

# emit(a0 bytes, a1 length): appends to the output line.
emit:
    lw   t0, out_len
    li   t1, 4096
    sub  t1, t1, t0
    bleu a1, t1, 1f
    mv   a1, t1
1:  add  t2, t0, a1
    sw   t2, out_len, t3
    mv   a2, a1
    mv   a1, a0
    la   a0, out
    add  a0, a0, t0
    tail memcpy

# emitz(a0 NUL-terminated text): appends it.
emitz:
    mv   t0, a0
    li   a1, 0
1:  add  t1, t0, a1
    lbu  t1, 0(t1)
    beqz t1, 2f
    addi a1, a1, 1
    j    1b
2:  tail emit

# say(a0 NUL-terminated text): appends it and prints the output line.
say:
    addi sp, sp, -16
    sw   ra, 12(sp)
    call emitz
    lw   ra, 12(sp)
    addi sp, sp, 16
# flush(): prints the output line through the console.
flush:
    la   a3, out
    lw   a4, out_len
    li   a0, CONSOLE_WRITE
    EXIT a1, K_CONSOLE, CALL, 1
    li   a2, 0
    ecall
    sw   zero, out_len, t0
    ret

    .rodata
greeting:   .asciz "gnosis shell: type help for commands\n"
help_text:  .ascii "  set KEY VALUE    store VALUE under KEY (durable once ok is printed)\n"
            .ascii "  get KEY          print KEY's value\n"
            .ascii "  del KEY          delete KEY\n"
            .ascii "  list             print every key and value\n"
            .asciz "  counter on|off   show or hide the counter\n"
w_help:     .asciz "help"
w_set:      .asciz "set"
w_get:      .asciz "get"
w_del:      .asciz "del"
w_list:     .asciz "list"
w_counter:  .asciz "counter"
w_on:       .asciz "on"
w_off:      .asciz "off"
ok:         .asciz "ok\n"
equals:     .asciz " = "
newline:    .asciz "\n"
is_not_set: .asciz " is not set\n"
empty:      .asciz "(no keys)\n"
full:       .asciz "error: the store is full (64 keys)\n"
bad_value:  .asciz "error: values are at most 40 bytes\n"
bad_key:    .asciz "error: keys are 1 to 15 bytes\n"
need_key:   .asciz "error: which key?\n"
too_long:   .asciz "error: line too long (256 bytes at most)\n"
unknown:    .asciz "unknown command: "
try_help:   .asciz " (try help)\n"
counter_usage: .asciz "usage: counter on|off\n"

    .data
    .align 2
filled:  .word 0
want:    .word 0
cmd:     .word 0
cmd_len: .word 0
key_len: .word 0
mute:    .word CHANNEL_COUNTER, 0    # console control: channel, muted
out_len: .word 0
    .bss
line:  .space LINE
req:   .space LINE + 32
reply: .space 4096
out:   .space 4096

    .include "runtime.s"
