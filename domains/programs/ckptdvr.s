# ckptdvr.s: the checkpoint driver, after KeyKOS's CKPTDVR.
#
# Forever: if the system restarted since it last looked, record the restart
# in the crash table; then take a checkpoint if the interval has passed
# since the later of the last checkpoint and the restart, or else wait with
# BWAIT until it will have. Checkpoints taken for other reasons (the
# working area filling, `gnosis checkpoint`) move the next one back.
#
# Keys: k1 the system timer, k2 BWAIT object 0, k3 the checkpoint key.
# Memory:
#   CONFIG       word 0: the interval in seconds (0 means 30; at most 300,
#                so there is a checkpoint at least every five minutes)
#   JOURNAL      the journal page, read-only: the kernel's fields at 0 are
#                u64s: last checkpoint, restart checkpoint, restart time,
#                restarts (system times in ns)
#   CRASH_TABLE  the crash table: +0 "CRSH", +4 entries ever recorded,
#                +8 capacity (CRASH_ENTRIES), then at 16 + 32 * (n mod
#                capacity) entry n: u64 time of the checkpoint restarted
#                from, u64 time of the restart, u32 restart number

    .include "gnosis.inc"
    .equ K_TIMER, 1
    .equ K_BWAIT, 2
    .equ K_CHECKPOINT, 3
    .equ DEFAULT_INTERVAL, 30
    .equ MAX_INTERVAL, 300
    .equ NS_PER_S, 1000000000
    .equ CRASH_MAGIC, 0x48535243      # "CRSH" little-endian
    .equ ENTRY_BYTES, 32

    .text
_start:
    call note_restart
    KCALL_STR K_TIMER, TIMER_READ, now, 0, now, 8
    call deadline                     # a0, a1 = the next checkpoint's time
    lw   t0, now
    lw   t1, now + 4
    bltu t1, a1, sleep
    bne  t1, a1, take
    bltu t0, a0, sleep
take:
    KCALL_STR K_CHECKPOINT, CKPT_TAKE, now, 8, now, 0
    j    _start
sleep:
    sw   a0, wake, t2
    sw   a1, wake + 4, t2
    KCALL_STR K_BWAIT, BWAIT_SET, wake, 8, wake, 0
    KCALL K_BWAIT, BWAIT_WAIT
    j    _start

# Appends an entry to the crash table if the kernel's restart count moved.
note_restart:
    li   t0, JOURNAL
    lw   t1, 24(t0)                   # restarts
    lw   t2, seen_restarts
    beq  t1, t2, 1f
    sw   t1, seen_restarts, t3
    li   t3, CRASH_TABLE
    li   t4, CRASH_MAGIC
    sw   t4, 0(t3)
    li   t4, CRASH_ENTRIES
    sw   t4, 8(t3)
    lw   t5, 4(t3)                    # entries ever recorded
    remu t6, t5, t4
    li   t4, ENTRY_BYTES
    mul  t6, t6, t4
    add  t6, t6, t3
    addi t6, t6, 16                   # the entry
    lw   a0, 8(t0)                    # restart checkpoint time
    lw   a1, 12(t0)
    sw   a0, 0(t6)
    sw   a1, 4(t6)
    lw   a0, 16(t0)                   # restart time
    lw   a1, 20(t0)
    sw   a0, 8(t6)
    sw   a1, 12(t6)
    sw   t1, 16(t6)
    addi t5, t5, 1
    sw   t5, 4(t3)
1:  ret

# deadline() -> a0, a1: max(last checkpoint, restart) + interval, as a u64.
deadline:
    li   t0, JOURNAL
    lw   a0, 0(t0)                    # last checkpoint
    lw   a1, 4(t0)
    lw   t1, 16(t0)                   # restart
    lw   t2, 20(t0)
    bltu a1, t2, 1f
    bne  a1, t2, 2f
    bgeu a0, t1, 2f
1:  mv   a0, t1
    mv   a1, t2
2:  li   t0, CONFIG
    lw   t3, 0(t0)
    bnez t3, 3f
    li   t3, DEFAULT_INTERVAL
3:  li   t4, MAX_INTERVAL
    bleu t3, t4, 4f
    mv   t3, t4
4:  li   t4, NS_PER_S
    mul  t5, t3, t4
    mulhu t6, t3, t4
    add  a0, a0, t5
    sltu t5, a0, t5
    add  a1, a1, t6
    add  a1, a1, t5
    ret

    .data
    .align 2
seen_restarts: .word 0
now:  .word 0, 0
wake: .word 0, 0
