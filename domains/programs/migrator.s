# migrator.s: the migrator, after KeyKOS's EMIGC.
#
# Forever: wait until a committed checkpoint needs migrating (the migrate
# key's Wait); read the checkpoint's directory in chunks, sort each chunk by
# checkpoint-area frame so the copies home read the area sequentially, and
# hand the home frames to the kernel in batches (MigrateThese), which moves
# them to the front of its migration queue. The kernel migrates whatever
# the migrator does not name, so a slow or stopped migrator costs speed,
# never correctness.
#
# Keys: k1 the migrate key.

    .include "gnosis.inc"
    .equ K_MIGRATE, 1
    .equ ENTRY, 16                    # directory entry: u64 home frame, u64 area frame
    .equ PER_READ, 256                # entries one ReadDirectory returns at most
    .equ CHUNK, 4096                  # entries sorted together
    .equ BATCH, 512                   # home frames per MigrateThese

    .text
_start:
    KCALL_STR K_MIGRATE, MIGRATE_WAIT, position, 0, scratch, 4
    bnez a0, _start                   # woken by a restart: wait again
    sw   zero, position, t0
chunk:
    li   s0, 0                        # entries in the buffer
    li   s2, 0                        # 1 if the directory has more after this chunk
read:
    li   t0, CHUNK - PER_READ
    bleu s0, t0, 1f
    li   s2, 1
    j    sort
1:  la   a5, entries
    slli t0, s0, 4
    add  a5, a5, t0
    li   a0, MIGRATE_READ
    EXIT a1, K_MIGRATE, CALL, 1
    li   a2, 1
    la   a3, position
    li   a4, 4
    li   a6, PER_READ * ENTRY
    ecall
    bnez a0, sort                     # past the end
    srli t0, a2, 4
    beqz t0, sort
    add  s0, s0, t0
    lw   t1, position
    add  t1, t1, t0
    sw   t1, position, t2
    j    read
sort:
    beqz s0, _start
    mv   a0, s0
    call sort_entries
    li   s1, 0                        # next entry to send
send:
    bgeu s1, s0, sent
    la   t0, entries                  # copy up to BATCH home frames
    slli t1, s1, 4
    add  t0, t0, t1
    la   t2, batch
    li   t3, 0
1:  bgeu s1, s0, 2f
    li   t4, BATCH
    bgeu t3, t4, 2f
    lw   t5, 0(t0)
    lw   t6, 4(t0)
    sw   t5, 0(t2)
    sw   t6, 4(t2)
    addi t0, t0, ENTRY
    addi t2, t2, 8
    addi t3, t3, 1
    addi s1, s1, 1
    j    1b
2:  slli s3, t3, 3
    la   s4, batch
    KCALL_SEND K_MIGRATE, MIGRATE_THESE, s4, s3
    bnez a0, _start                   # migration already finished
    j    send
sent:
    bnez s2, chunk
    j    _start

# sort_entries(a0 n): insertion sort of entries[0..n) by area frame. The
# directory comes nearly in area order, so this is close to linear.
sort_entries:
    la   t0, entries
    li   t1, 1
1:  bgeu t1, a0, 9f
    slli t2, t1, 4
    add  t2, t2, t0
    lw   a1, 0(t2)                    # the entry being placed
    lw   a2, 4(t2)
    lw   a3, 8(t2)
    lw   a4, 12(t2)
    mv   t3, t2                       # the hole
2:  beq  t3, t0, 4f
    lw   t4, -8(t3)                   # the previous entry's area frame
    lw   t5, -4(t3)
    bltu a4, t5, 3f
    bne  a4, t5, 4f
    bgeu a3, t4, 4f
3:  lw   t4, -16(t3)                  # move the previous entry up
    lw   t5, -12(t3)
    lw   t6, -8(t3)
    lw   a5, -4(t3)
    sw   t4, 0(t3)
    sw   t5, 4(t3)
    sw   t6, 8(t3)
    sw   a5, 12(t3)
    addi t3, t3, -ENTRY
    j    2b
4:  sw   a1, 0(t3)
    sw   a2, 4(t3)
    sw   a3, 8(t3)
    sw   a4, 12(t3)
    addi t1, t1, 1
    j    1b
9:  ret

    .data
    .align 2
position: .word 0
scratch:  .word 0
    .bss
    .align 3
entries: .space CHUNK * ENTRY
batch:   .space BATCH * 8
