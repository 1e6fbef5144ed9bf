# kv.s: the key-value store demo.
#
# The table lives in the domain's memory, so it persists to the last
# checkpoint like everything else. Writes (set, delete) are also logged in
# the journal page before they are acknowledged: the kernel makes every
# store to the journal page durable before the storing domain can do
# anything visible, so an acknowledged write survives even a crash right
# after it. After a restart the store replays the log records newer than
# its restored table.
#
# Keys: k1 the system timer, k2 the checkpoint key, k3 the returner (every
# reply goes through it: REPLY_WAIT), k15 the caller's resume key. The journal page is mapped read-write at JOURNAL; the log
# uses it from LOG on (the kernel's fields are at its start).
#
# | order | string                         | effect        | rc, reply string |
# |-------|--------------------------------|---------------|------------------|
# | 1     | klen (u8), key, value           | set           | 0 acknowledged (durable); 1 the store is full; 2 key not 1..15 bytes or value over 40 |
# | 2     | key                             | get           | 0 + the value; 1 not set |
# | 3     | key                             | delete        | 0 acknowledged; 1 not set |
# | 4     |                                 | list          | 0 + "key=value\n" lines |
# | 5     |                                 | count         | the number of entries |
# | KT    |                                 | alleged type  | 0x4B56 ("KV") |
#
# Log record (64 bytes, record n at LOG + 64 * (n mod RECORDS)): u32
# sequence number (written last), u8 op (1 set, 3 delete), u8 klen, u8 vlen,
# u8 0, key[16], value[40]. A record is needed until a checkpoint holds the
# table it was applied to: before reusing a slot whose record no checkpoint
# covers yet, the store forces a checkpoint (the checkpoint key) and waits.
#
# Table entry (64 bytes): u8 klen (0: free), u8 vlen, u16 0, key[16],
# value[40], u32 0.

    .include "gnosis.inc"
    .equ K_TIMER, 1
    .equ K_CHECKPOINT, 2
    .equ K_RETURNER, 3
    .equ ENTRIES, 64
    .equ MAX_KEY, 15
    .equ MAX_VALUE, 40
    .equ LOG, JOURNAL + 64
    .equ RECORDS, 63
    .equ OP_SET, 1
    .equ OP_DELETE, 3
    .equ REQUEST, 64                  # bytes of a request we keep
    # entry fields
    .equ E_KLEN, 0
    .equ E_VLEN, 1
    .equ E_KEY, 4
    .equ E_VALUE, 20
    # record fields
    .equ R_SEQ, 0
    .equ R_OP, 4
    .equ R_KLEN, 5
    .equ R_VLEN, 6
    .equ R_KEY, 8
    .equ R_VALUE, 24

    .text
_start:
    li   s0, 0                        # return code
    li   s1, 0                        # reply string
    li   s2, 0                        # its length
serve:
    REPLY_WAIT K_RETURNER, s0, request, REQUEST, s1, s2
    mv   s3, a0                       # order
    mv   s4, a2                       # request length
    li   t0, REQUEST
    bleu s4, t0, 1f
    mv   s4, t0
1:  li   s1, 0
    li   s2, 0
    call recover
    li   s0, RC_INVALID
    li   t0, 1
    beq  s3, t0, set
    li   t0, 2
    beq  s3, t0, get
    li   t0, 3
    beq  s3, t0, delete
    li   t0, 4
    beq  s3, t0, list
    li   t0, 5
    beq  s3, t0, count
    li   t0, KT
    bne  s3, t0, serve
    li   s0, 0x4B56
    j    serve

# set: request = klen, key, value
set:
    li   s0, 2
    beqz s4, serve
    lbu  s5, request                  # klen
    beqz s5, serve
    li   t0, MAX_KEY
    bgtu s5, t0, serve
    addi t0, s5, 1
    bgtu t0, s4, serve
    sub  s6, s4, t0                   # vlen
    li   t0, MAX_VALUE
    bgtu s6, t0, serve
    la   a0, request + 1
    mv   a1, s5
    call find
    bnez a0, 1f
    call find_free
    li   s0, 1
    beqz a0, serve
1:  li   a0, OP_SET
    la   a1, request + 1
    mv   a2, s5
    add  a3, a1, s5
    mv   a4, s6
    call log_and_apply
    li   s0, 0
    j    serve

# get: request = key
get:
    la   a0, request
    mv   a1, s4
    call find
    li   s0, 1
    beqz a0, serve
    lbu  s2, E_VLEN(a0)
    addi s1, a0, E_VALUE
    li   s0, 0
    j    serve

# delete: request = key
delete:
    li   s0, 1
    beqz s4, serve
    li   t0, MAX_KEY
    bgtu s4, t0, serve
    la   a0, request
    mv   a1, s4
    call find
    beqz a0, serve
    li   a0, OP_DELETE
    la   a1, request
    mv   a2, s4
    li   a3, 0
    li   a4, 0
    call log_and_apply
    li   s0, 0
    j    serve

# list: every entry as "key=value\n"
list:
    la   s5, table
    li   s6, 0                        # entries done
    la   s7, text                     # end of the text so far
1:  li   t0, ENTRIES
    bgeu s6, t0, 2f
    lbu  t1, E_KLEN(s5)
    beqz t1, 3f
    mv   a0, s7
    addi a1, s5, E_KEY
    mv   a2, t1
    add  s7, s7, t1
    call memcpy
    li   t0, '='
    sb   t0, 0(s7)
    addi s7, s7, 1
    lbu  a2, E_VLEN(s5)
    mv   a0, s7
    addi a1, s5, E_VALUE
    add  s7, s7, a2
    call memcpy
    li   t0, '\n'
    sb   t0, 0(s7)
    addi s7, s7, 1
3:  addi s5, s5, 64
    addi s6, s6, 1
    j    1b
2:  la   s1, text
    sub  s2, s7, s1
    li   s0, 0
    j    serve

count:
    la   t0, table
    li   t1, 0
    li   s0, 0
1:  li   t2, ENTRIES
    bgeu t1, t2, serve
    lbu  t3, E_KLEN(t0)
    snez t3, t3
    add  s0, s0, t3
    addi t0, t0, 64
    addi t1, t1, 1
    j    1b

# log_and_apply(a0 op, a1 key, a2 klen, a3 value, a4 vlen): writes the log
# record of the next write, then applies it. Forces a checkpoint first if
# the record's slot still holds a record no checkpoint covers.
log_and_apply:
    addi sp, sp, -32
    sw   ra, 28(sp)
    sw   s0, 24(sp)
    sw   s1, 20(sp)
    sw   a0, 0(sp)
    sw   a1, 4(sp)
    sw   a2, 8(sp)
    sw   a3, 12(sp)
    sw   a4, 16(sp)
    lw   s0, applied
    addi s0, s0, 1                    # this write's sequence number
    lw   t0, covered
    sub  t0, s0, t0
    li   t1, RECORDS
    bleu t0, t1, 1f
    call force_checkpoint
1:  li   t0, RECORDS                  # s1 = the record
    remu t1, s0, t0
    slli t1, t1, 6
    li   s1, LOG
    add  s1, s1, t1
    lw   t0, 0(sp)
    sb   t0, R_OP(s1)
    lw   t0, 8(sp)
    sb   t0, R_KLEN(s1)
    lw   t0, 16(sp)
    sb   t0, R_VLEN(s1)
    addi a0, s1, R_KEY
    lw   a1, 4(sp)
    lw   a2, 8(sp)
    call memcpy
    addi a0, s1, R_VALUE
    lw   a1, 12(sp)
    lw   a2, 16(sp)
    call memcpy
    sw   s0, R_SEQ(s1)                # last: the record is now valid
    mv   a0, s1
    call apply
    sw   s0, applied, t0
    lw   ra, 28(sp)
    lw   s0, 24(sp)
    lw   s1, 20(sp)
    addi sp, sp, 32
    ret

# force_checkpoint(): takes a checkpoint and waits for it to commit; it
# holds the table with every write applied so far.
force_checkpoint:
    addi sp, sp, -16
    sw   ra, 12(sp)
1:  KCALL_STR K_TIMER, TIMER_READ, now, 0, now, 8
    KCALL_STR K_CHECKPOINT, CKPT_TAKE, now, 8, now, 0
    bnez a0, 1b
    lw   t0, applied
    sw   t0, covered, t1
    lw   ra, 12(sp)
    addi sp, sp, 16
    ret

# apply(a0 record): applies a log record to the table.
apply:
    addi sp, sp, -16
    sw   ra, 12(sp)
    sw   s0, 8(sp)
    sw   s1, 4(sp)
    mv   s0, a0
    addi a0, s0, R_KEY
    lbu  a1, R_KLEN(s0)
    call find
    mv   s1, a0
    lbu  t0, R_OP(s0)
    li   t1, OP_DELETE
    bne  t0, t1, 1f
    beqz s1, 9f
    sb   zero, E_KLEN(s1)
    j    9f
1:  bnez s1, 2f
    call find_free
    mv   s1, a0
    beqz s1, 9f
2:  lbu  t0, R_KLEN(s0)
    sb   t0, E_KLEN(s1)
    lbu  t0, R_VLEN(s0)
    sb   t0, E_VLEN(s1)
    addi a0, s1, E_KEY
    addi a1, s0, R_KEY
    li   a2, 16
    call memcpy
    addi a0, s1, E_VALUE
    addi a1, s0, R_VALUE
    li   a2, MAX_VALUE
    call memcpy
9:  lw   ra, 12(sp)
    lw   s0, 8(sp)
    lw   s1, 4(sp)
    addi sp, sp, 16
    ret

# recover(): after a restart, replays the log records newer than the table.
recover:
    li   t0, JOURNAL
    lw   t1, 24(t0)                   # the kernel's restart count
    lw   t2, seen_restarts
    beq  t1, t2, 9f
    addi sp, sp, -16
    sw   ra, 12(sp)
    sw   s0, 8(sp)
    sw   t1, 4(sp)
1:  lw   s0, applied
    addi s0, s0, 1
    li   t0, RECORDS
    remu t1, s0, t0
    slli t1, t1, 6
    li   a0, LOG
    add  a0, a0, t1
    lw   t2, R_SEQ(a0)
    bne  t2, s0, 2f
    call apply
    sw   s0, applied, t0
    j    1b
2:  lw   t1, 4(sp)
    sw   t1, seen_restarts, t0
    lw   ra, 12(sp)
    lw   s0, 8(sp)
    addi sp, sp, 16
9:  ret

# find(a0 key, a1 klen) -> a0 the entry holding the key, or 0
find:
    addi sp, sp, -32
    sw   ra, 28(sp)
    sw   s0, 24(sp)
    sw   s1, 20(sp)
    sw   s2, 16(sp)
    sw   s3, 12(sp)
    mv   s0, a0
    mv   s1, a1
    la   s2, table
    li   s3, ENTRIES
1:  beqz s3, 3f
    lbu  t0, E_KLEN(s2)
    bne  t0, s1, 2f
    addi a0, s2, E_KEY
    mv   a1, s0
    mv   a2, s1
    call memeq
    bnez a0, 4f
2:  addi s2, s2, 64
    addi s3, s3, -1
    j    1b
3:  li   s2, 0
4:  mv   a0, s2
    lw   ra, 28(sp)
    lw   s0, 24(sp)
    lw   s1, 20(sp)
    lw   s2, 16(sp)
    lw   s3, 12(sp)
    addi sp, sp, 32
    ret

# find_free() -> a0 a free entry, or 0
find_free:
    la   a0, table
    li   t0, ENTRIES
1:  lbu  t1, E_KLEN(a0)
    beqz t1, 2f
    addi a0, a0, 64
    addi t0, t0, -1
    bnez t0, 1b
    li   a0, 0
2:  ret

    .data
    .align 2
applied:       .word 0                # sequence number of the last write applied
covered:       .word 0                # the newest one a checkpoint is known to hold
seen_restarts: .word 0
now:           .word 0, 0
    .bss
    .align 3
table:   .space ENTRIES * 64
request: .space REQUEST
text:    .space 4096

    .include "runtime.s"
