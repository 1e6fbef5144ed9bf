# bank.s: the space bank, after KeyKOS's (Dom/include/sb.h order codes).
#
# The only holder of the range keys: every page and node a domain gets
# after the big bang comes from a bank. Banks form a tree under the prime
# bank; a bank's limits bound what it and its sub-banks hold together
# (buying from a sub-bank debits every bank above it), and destroying a
# bank destroys every object it and its sub-banks hold.
#
# A bank key is a segment key to the bank's front-end node: a red node
# whose keeper slot holds a start key to this domain, so invoking it calls
# the bank domain with key 2 replaced by a node key to the front end, which
# tells the bank which bank was called. Destroying a bank destroys its
# front end, so every key to it becomes DK(0).
#
# Keys: k1 the node range key, k2 the page range key, k3 a start key to
# this domain (the keeper of every front end), k8 the front ends' format
# key, k9 a node key to the prime bank's front end (made by the big bang,
# outside the ranges, also this domain's brand), k10 the returner, through
# which every reply goes, k14 the domain tool. A request's keys 0..2
# arrive in k4..k6, the caller's resume key in k15; k7, k11 and k12 hold
# the keys being returned.
#
# Owner entry of a front end: 0x8000 | (what its keys may not do) << 12 |
# the bank (10 bits).
#
# Memory: CONFIG +0 the nodes in the node range, +4 the pages in the page
# range; NODE_OWNER and PAGE_OWNER a u16 per object of the range: 0 free,
# b held by bank b, 0x8000 + b the front end of bank b, 0xFFFF in use
# outside the bank.
#
# | order        | effect (nodes; pages at order + 16)      | rc, reply |
# |--------------|------------------------------------------|-----------|
# | 0 / 16       | create                                   | 0 + key 0; 1 a limit is reached; 2 the range is exhausted |
# | 1 / 17       | destroy key 0 (bought from this bank)    | 0; 1 not from this bank |
# | 2 / 18       | sever key 0                              | 0 + key 0 a new key; 1 not from this bank |
# | 5 / 21       | query available (limits and free space)  | 0 + u32 |
# | 6 / 22       | statistics                               | 0 + u32 creates, u32 destroys |
# | 7, 8 / 23, 24 | create two, three                       | 0 + keys 0..1 (0..2); 1, 2 as create, none made |
# | 9 / 25       | destroy keys 0 and 1                     | 0; 1 either is not from this bank, none destroyed |
# | 11 / 27      | change the limit by an i32 delta         | 0 + u32 new limit; 1 below what is held |
# | 33..39       | a weaker key to this bank: order - 32 is what it may not do (1 destroy the bank, 2 query: 5, 6, 21, 22, 65, 4 change limits: 11, 27); weaker keys' limits add up | 0 + key 0 |
# | 64           | destroy this bank and all its space      | 0; 1 the prime bank cannot be |
# | 65           | statistics                               | 0 + u64 node creates, node destroys, page creates, page destroys |
# | 66           | verify: is key 0 an official bank key (a key to a bank of this domain)? | 0 yes, 1 no |
# | 67           | create a sub-bank; string: u32 node limit, u32 page limit (none: unlimited) | 0 + key 0; 2 no room for another bank |
# | KT           | alleged type                             | 0x0C |
#
# An order a weakened key may not give answers KT+2. Not provided: 10 / 26
# (destroy three: key 2 of a call through a front end is the front end
# itself), 12..14 / 28..30 (range limits, 64-bit limit changes).
#
# Bank record (64 bytes, banks[b]): +0 parent, +4 flags (1 live, 2 dying),
# +8 node limit, +12 page limit, +16 nodes held, +20 pages held (with its
# sub-banks'), +24 front-end node, +28/+32 node creates/destroys, +36/+40
# page creates/destroys. Limits of 0xFFFFFFFF mean none.

    .include "gnosis.inc"
    .equ K_NODES, 1
    .equ K_PAGES, 2
    .equ K_SELF, 3
    .equ K_ARG, 4
    .equ K_FRONT, 6
    .equ K_OUT, 7
    .equ K_FORMAT, 8
    .equ K_PRIME, 9
    .equ K_RETURNER, 10
    .equ K_OUT1, 11
    .equ K_OUT2, 12
    .equ K_TOOL, 14
    .equ NO_DESTROY, 1                # what a weakened key may not do
    .equ NO_QUERY, 2
    .equ NO_LIMITS, 4
    .equ BANK_BITS, 0x3FF
    .equ REC, 64
    .equ F_PARENT, 0
    .equ F_FLAGS, 4
    .equ F_LIMIT, 8                   # + 4 * kind
    .equ F_HELD, 16                   # + 4 * kind
    .equ F_FRONT, 24
    .equ F_CREATES, 28                # + 8 * kind
    .equ F_DESTROYS, 32               # + 8 * kind
    .equ LIVE, 1
    .equ DYING, 2
    .equ NONE, 0xFFFFFFFF
    .equ FRONT, 0x8000
    .equ FOREIGN, 0xFFFF
    .equ RANGE_IN_USE, 2              # range create: the object is already allocated
    .equ KEEPER_SLOT, 14
    .equ FORMAT_SLOT, 15

    .text
_start:
    li   t0, 1                        # the prime bank: unlimited, live
    la   t1, banks + REC
    li   t2, LIVE
    sw   t2, F_FLAGS(t1)
    li   t2, NONE
    sw   t2, F_LIMIT(t1)
    sw   t2, F_LIMIT + 4(t1)
    li   t0, CONFIG
    lw   t1, 0(t0)
    sw   t1, free_count, t2
    lw   t1, 4(t0)
    sw   t1, free_count + 4, t2
    li   s0, 0                        # return code
    li   s3, 0                        # key mask of the reply
    li   s4, 0                        # reply string length
serve:
    mv   a0, s0
    # Through the returner, passing the caller's resume key as key 3: a
    # bank never invokes a key a client gave it (see REPLY_WAIT).
    li   a1, K_RETURNER | (RETURN << 4) | (1 << 6) | (8 << 8) | (K_OUT << 16) | (K_OUT1 << 20) | (K_OUT2 << 24) | (15 << 28)
    slli t0, s3, 8
    or   a1, a1, t0
    ENTRY a2, 1, 0xF, K_ARG, K_ARG + 1, K_FRONT, 15
    la   a3, out
    mv   a4, s4
    la   a5, request
    li   a6, 16
    ecall
    mv   s1, a0                       # order
    mv   s2, a2                       # request length
    li   s3, 0
    li   s4, 0
    li   s0, RC_INVALID
    call which_bank
    beqz a0, serve                    # not called through a bank key
    mv   s5, a0                       # the bank
    mv   s9, a1                       # what the key called may not do
    li   t0, KT
    bne  s1, t0, 1f
    li   s0, 0x0C
    j    serve
1:  li   t0, 64
    li   t1, NO_DESTROY
    beq  s1, t0, forbidden
    li   t0, 65
    li   t1, NO_QUERY
    beq  s1, t0, forbidden
    li   t0, 66
    beq  s1, t0, verify
    li   t0, 67
    beq  s1, t0, create_bank
    addi t0, s1, -33
    li   t1, 7
    bltu t0, t1, weaken
    li   t0, 32
    bgeu s1, t0, serve
    srli s6, s1, 4                    # kind: 0 nodes, 1 pages
    andi t1, s1, 15
    beqz t1, create
    li   t0, 1
    beq  t1, t0, destroy
    li   t0, 2
    beq  t1, t0, sever
    li   t0, 5
    beq  t1, t0, query
    li   t0, 6
    beq  t1, t0, query
    li   t0, 7
    beq  t1, t0, create_two
    li   t0, 8
    beq  t1, t0, create_three
    li   t0, 9
    beq  t1, t0, destroy_two
    li   t0, 11
    beq  t1, t0, limits
    j    serve

# An order this key may not give (t1 the right it needs) answers KT+2.
forbidden:
    and  t1, t1, s9
    bnez t1, serve
    li   t0, 64
    beq  s1, t0, destroy_bank
    j    statistics
query:
    andi t0, s9, NO_QUERY
    bnez t0, serve
    andi t1, s1, 15
    li   t0, 5
    beq  t1, t0, available
    j    kind_statistics
limits:
    andi t0, s9, NO_LIMITS
    bnez t0, serve
    j    change_limit

# which_bank() -> a0 the bank whose front end k6 designates, or 0; a1 what
# keys to that front end may not do
which_bank:
    addi sp, sp, -16
    sw   ra, 12(sp)
    KCALL_KEY K_PRIME, NODE_COMPARE, K_FRONT, 0
    li   t0, 1
    li   a1, 0                        # the prime bank's key: unrestricted
    beqz a0, 9f
    li   a0, 0                        # identify k6 in the node range
    li   a1, RANGE_IDENTIFY
    li   a2, K_FRONT
    call range_with_key
    bnez a0, 8f
    lw   a0, scratch                  # its offset
    call owner_at_node
    lhu  t1, 0(a0)
    li   t2, FRONT
    and  t3, t1, t2
    beqz t3, 8f
    li   t2, FOREIGN
    beq  t1, t2, 8f
    srli t2, t1, 12
    andi t2, t2, 7
    sw   t2, 4(sp)
    andi t1, t1, BANK_BITS
    sw   t1, 8(sp)
    mv   a0, t1
    call record
    lw   t1, F_FLAGS(a0)
    andi t1, t1, LIVE
    beqz t1, 8f
    lw   t0, 8(sp)
    lw   a1, 4(sp)
    j    9f
8:  li   t0, 0
9:  mv   a0, t0
    lw   ra, 12(sp)
    addi sp, sp, 16
    ret

# record(a0 bank) -> a0 its record
record:
    slli a0, a0, 6
    la   t0, banks
    add  a0, a0, t0
    ret

# owner_at_node(a0 offset) -> a0 the node owner entry's address
owner_at_node:
    slli a0, a0, 1
    li   t0, NODE_OWNER
    add  a0, a0, t0
    ret

# owner_at(a0 kind, a1 offset) -> a0 the owner entry's address
owner_at:
    slli a1, a1, 1
    li   t0, NODE_OWNER
    beqz a0, 1f
    li   t0, PAGE_OWNER
1:  add  a0, a1, t0
    ret

# range_with_key(a0 kind, a1 order, a2 key register passed as key 0) ->
# a0 rc; key 0 of the reply in k7, its string (up to 8 bytes) at scratch
range_with_key:
    slli a2, a2, 16
    li   t0, K_NODES | (1 << 8)
    beqz a0, 1f
    li   t0, K_PAGES | (1 << 8)
1:  or   a2, a2, t0                   # exit block: CALL the range, key 0 passed
    mv   a0, a1
    mv   a1, a2
    ENTRY a2, 1, 1, K_OUT
    la   a5, scratch
    li   a6, 8
    ecall
    ret

# range_at(a0 kind, a1 order, a2 offset) -> a0 rc; key 0 of the reply in k7
range_at:
    sw   a2, scratch, t0
    sw   zero, scratch + 4, t0
    li   t0, K_PAGES | (1 << 6)
    bnez a0, 1f
    li   t0, K_NODES | (1 << 6)
1:  mv   a0, a1
    mv   a1, t0
    ENTRY a2, 0, 1, K_OUT
    la   a3, scratch
    li   a4, 8
    ecall
    ret

# limited(a0 bank, a1 kind) -> a0 = 1 if the bank or one above it holds its limit
limited:
    slli t3, a1, 2
1:  beqz a0, 2f
    slli t0, a0, 6
    la   t1, banks
    add  t0, t0, t1
    add  t1, t0, t3
    lw   t2, F_LIMIT(t1)
    lw   t4, F_HELD(t1)
    bgeu t4, t2, 3f
    lw   a0, F_PARENT(t0)
    j    1b
2:  li   a0, 0
    ret
3:  li   a0, 1
    ret

# debit(a0 bank, a1 kind, a2 amount): adds amount to what the bank and
# every bank above it hold (amount may be negative).
debit:
    slli t3, a1, 2
1:  beqz a0, 2f
    slli t0, a0, 6
    la   t1, banks
    add  t0, t0, t1
    add  t1, t0, t3
    lw   t2, F_HELD(t1)
    add  t2, t2, a2
    sw   t2, F_HELD(t1)
    lw   a0, F_PARENT(t0)
    j    1b
2:  ret

# count_stat(a0 bank, a1 field offset)
count_stat:
    slli a0, a0, 6
    la   t0, banks
    add  a0, a0, t0
    add  a0, a0, a1
    lw   t0, 0(a0)
    addi t0, t0, 1
    sw   t0, 0(a0)
    ret

# claim(a0 kind, a1 owner entry value) -> a0 offset of a new object (its key
# in k7), or -1 if the range is exhausted. Skips objects allocated by others.
claim:
    addi sp, sp, -32
    sw   ra, 28(sp)
    sw   s0, 24(sp)
    sw   s1, 20(sp)
    sw   s2, 16(sp)
    sw   s3, 12(sp)
    sw   s4, 8(sp)
    mv   s0, a0
    mv   s4, a1
    slli t0, s0, 2
    li   t1, CONFIG
    add  t1, t1, t0
    lw   s1, 0(t1)                    # objects in the range
    la   s3, cursor
    add  s3, s3, t0                   # where this kind's search goes on
    li   s2, 0                        # objects tried
1:  bgeu s2, s1, 8f
    lw   t1, 0(s3)
    bltu t1, s1, 2f
    li   t1, 0
2:  addi t2, t1, 1
    sw   t2, 0(s3)
    addi s2, s2, 1
    sw   t1, 4(sp)                    # the candidate
    mv   a0, s0
    mv   a1, t1
    call owner_at
    lhu  t2, 0(a0)
    bnez t2, 1b
    mv   a0, s0
    li   a1, RANGE_CREATE
    lw   a2, 4(sp)
    call range_at
    beqz a0, 3f
    li   t2, RANGE_IN_USE
    bne  a0, t2, 8f
    mv   a0, s0                       # allocated outside the bank: skip it for good
    lw   a1, 4(sp)
    call owner_at
    li   t2, FOREIGN
    sh   t2, 0(a0)
    j    1b
3:  mv   a0, s0
    lw   a1, 4(sp)
    call owner_at
    sh   s4, 0(a0)
    slli t0, s0, 2
    la   t1, free_count
    add  t1, t1, t0
    lw   t2, 0(t1)
    addi t2, t2, -1
    sw   t2, 0(t1)
    lw   a0, 4(sp)
    j    9f
8:  li   a0, -1
9:  lw   ra, 28(sp)
    lw   s0, 24(sp)
    lw   s1, 20(sp)
    lw   s2, 16(sp)
    lw   s3, 12(sp)
    lw   s4, 8(sp)
    addi sp, sp, 32
    ret

# release(a0 kind, a1 offset): destroys the object and frees its entry.
release:
    addi sp, sp, -16
    sw   ra, 12(sp)
    sw   s0, 8(sp)
    sw   s1, 4(sp)
    mv   s0, a0
    mv   s1, a1
    mv   a2, a1
    li   a1, RANGE_DESTROY_AT
    call range_at
    mv   a0, s0
    mv   a1, s1
    call owner_at
    sh   zero, 0(a0)
    slli t0, s0, 2
    la   t1, free_count
    add  t1, t1, t0
    lw   t2, 0(t1)
    addi t2, t2, 1
    sw   t2, 0(t1)
    lw   ra, 12(sp)
    lw   s0, 8(sp)
    lw   s1, 4(sp)
    addi sp, sp, 16
    ret

# mine() -> a0 the offset of key 0's object if this bank (s5) sold it, else -1
mine:
    li   a2, K_ARG
# mine_in(a2 key register) -> as mine, for the key in that register
mine_in:
    addi sp, sp, -16
    sw   ra, 12(sp)
    sw   s0, 8(sp)
    mv   a0, s6
    li   a1, RANGE_IDENTIFY
    call range_with_key
    bnez a0, 8f
    lw   s0, scratch
    mv   a0, s6
    mv   a1, s0
    call owner_at
    lhu  t0, 0(a0)
    bne  t0, s5, 8f
    mv   a0, s0
    j    9f
8:  li   a0, -1
9:  lw   ra, 12(sp)
    lw   s0, 8(sp)
    addi sp, sp, 16
    ret

create:
    call create_one
    mv   s0, a0
    bnez a0, serve
    li   s3, 1
    j    serve

# create_one() -> a0 rc (0, 1 a limit, 2 exhausted); the object's key in
# k7 and its offset in a1
create_one:
    addi sp, sp, -16
    sw   ra, 12(sp)
    mv   a0, s5
    mv   a1, s6
    call limited
    li   t0, 1
    bnez a0, 9f
    mv   a0, s6
    mv   a1, s5
    call claim
    li   t0, 2
    bltz a0, 9f
    sw   a0, 8(sp)
    mv   a0, s5
    mv   a1, s6
    li   a2, 1
    call debit
    mv   a0, s5
    slli a1, s6, 3
    addi a1, a1, F_CREATES
    call count_stat
    li   t0, 0
    lw   a1, 8(sp)
9:  mv   a0, t0
    lw   ra, 12(sp)
    addi sp, sp, 16
    ret

# create_two / create_three: the keys in k11 (k12) and k7; on failure what
# was made is given back and nothing is returned.
create_two:
    li   s7, 2
    j    1f
create_three:
    li   s7, 3
1:  li   s8, 0                        # made so far
2:  call create_one
    mv   s0, a0
    bnez a0, 5f
    slli t0, s8, 2
    la   t1, made
    add  t1, t1, t0
    sw   a1, 0(t1)
    addi s8, s8, 1
    beq  s8, s7, 4f
    li   t0, 1
    beq  s8, t0, 3f
    KMOVE K_OUT, K_OUT2
    j    2b
3:  KMOVE K_OUT, K_OUT1
    j    2b
4:  li   s3, 3
    li   t0, 2
    beq  s7, t0, serve
    li   s3, 7
    j    serve
5:  beqz s8, serve                    # give back what was made
    addi s8, s8, -1
    slli t0, s8, 2
    la   t1, made
    add  t1, t1, t0
    lw   a0, 0(t1)
    call destroy_at
    j    5b

# destroy_at(a0 offset of an object of kind s6 bank s5 holds)
destroy_at:
    addi sp, sp, -16
    sw   ra, 12(sp)
    mv   a1, a0
    mv   a0, s6
    call release
    mv   a0, s5
    mv   a1, s6
    li   a2, -1
    call debit
    mv   a0, s5
    slli a1, s6, 3
    addi a1, a1, F_DESTROYS
    call count_stat
    lw   ra, 12(sp)
    addi sp, sp, 16
    ret

destroy:
    call mine
    li   s0, 1
    bltz a0, serve
    call destroy_at
    li   s0, 0
    j    serve

destroy_two:
    li   s0, 1
    call mine
    bltz a0, serve
    mv   s7, a0
    li   a2, K_ARG + 1
    call mine_in
    bltz a0, serve
    beq  a0, s7, serve                # the same object twice
    mv   s8, a0
    mv   a0, s7
    call destroy_at
    mv   a0, s8
    call destroy_at
    li   s0, 0
    j    serve

# verify: is k4 a segment key whose keeper is a start key to this domain,
# whose brand is k9? (Every bank's front end is such a node, and only
# this domain makes them; a destroyed bank's front ends are gone.)
verify:
    li   a0, DOMAIN_TOOL_IDENTIFY_SEGMENT_START
    EXIT a1, K_TOOL, CALL, 0, 3, K_ARG, K_PRIME
    li   a2, 0
    ecall
    li   s0, 1
    li   t0, DOMAIN_TOOL_RC_NO
    beq  a0, t0, serve
    li   s0, 0
    j    serve

# weaken: a new front end of this bank whose keys may not do (order - 32)
# on top of what the key called may not do.
weaken:
    addi t0, s1, -32
    or   t0, t0, s9
    slli t0, t0, 12
    li   t1, FRONT
    or   t0, t0, t1
    or   a1, t0, s5
    li   a0, 0
    call claim
    li   s0, 2
    bltz a0, serve
    call make_front
    li   s0, 0
    li   s3, 1
    j    serve

# make_front(): makes the node in k7 a front end (format, keeper) and k7 a
# red segment key to it.
make_front:
    addi sp, sp, -16
    sw   ra, 12(sp)
    KCALL_KEY K_OUT, NODE_SWAP + FORMAT_SLOT, K_FORMAT, 0
    KCALL_KEY K_OUT, NODE_SWAP + KEEPER_SLOT, K_SELF, 0
    sb   zero, scratch, t0            # databyte 0: a red segment key, lss 0
    li   a0, NODE_MAKE_SEGMENT
    EXIT a1, K_OUT, CALL, 1
    ENTRY a2, 0, 1, K_OUT
    la   a3, scratch
    li   a4, 1
    ecall
    lw   ra, 12(sp)
    addi sp, sp, 16
    ret

sever:
    call mine
    li   s0, 1
    bltz a0, serve
    mv   a0, s6
    li   a1, RANGE_SEVER
    li   a2, K_ARG
    call range_with_key
    mv   s0, a0
    seqz s3, a0
    j    serve

available:
    slli t6, s6, 2
    la   t0, free_count
    add  t0, t0, t6
    lw   a0, 0(t0)                    # at most what is free
    mv   t5, s5
1:  beqz t5, 3f
    slli t0, t5, 6
    la   t1, banks
    add  t0, t0, t1
    add  t1, t0, t6
    lw   t2, F_LIMIT(t1)
    lw   t3, F_HELD(t1)
    sub  t2, t2, t3                   # room under this bank's limit
    bgeu t2, a0, 2f
    mv   a0, t2
2:  lw   t5, F_PARENT(t0)
    j    1b
3:  sw   a0, out, t0
    li   s4, 4
    li   s0, 0
    j    serve

kind_statistics:
    mv   a0, s5
    call record
    slli t0, s6, 3
    add  a0, a0, t0
    lw   t1, F_CREATES(a0)
    lw   t2, F_DESTROYS(a0)
    sw   t1, out, t0
    sw   t2, out + 4, t0
    li   s4, 8
    li   s0, 0
    j    serve

change_limit:
    lw   t4, request                  # delta
    mv   a0, s5
    call record
    slli t0, s6, 2
    add  a0, a0, t0
    lw   t1, F_LIMIT(a0)
    lw   t2, F_HELD(a0)
    add  t3, t1, t4
    li   s0, 1
    bltz t4, 1f
    bgeu t3, t1, 2f                   # growing: saturate at none
    li   t3, NONE
    j    2f
1:  bgtu t3, t1, serve                # shrinking below zero
    bltu t3, t2, serve                # shrinking below what is held
2:  sw   t3, F_LIMIT(a0)
    sw   t3, out, t0
    li   s4, 4
    li   s0, 0
    j    serve

statistics:
    mv   a0, s5
    call record
    la   t0, out
    lw   t1, F_CREATES(a0)
    sw   t1, 0(t0)
    lw   t1, F_DESTROYS(a0)
    sw   t1, 8(t0)
    lw   t1, F_CREATES + 8(a0)
    sw   t1, 16(t0)
    lw   t1, F_DESTROYS + 8(a0)
    sw   t1, 24(t0)
    sw   zero, 4(t0)
    sw   zero, 12(t0)
    sw   zero, 20(t0)
    sw   zero, 28(t0)
    li   s4, 32
    li   s0, 0
    j    serve

create_bank:
    li   s7, 2                        # a free record
    li   s0, 2
1:  li   t0, MAX_BANKS
    bgeu s7, t0, serve
    mv   a0, s7
    call record
    lw   t1, F_FLAGS(a0)
    beqz t1, 2f
    addi s7, s7, 1
    j    1b
2:  li   a0, 0                        # its front end
    li   a1, FRONT
    or   a1, a1, s7
    call claim
    bltz a0, serve
    mv   s8, a0
    call make_front
    mv   a0, s7
    call record
    sw   s5, F_PARENT(a0)
    li   t0, LIVE
    sw   t0, F_FLAGS(a0)
    li   t0, NONE
    li   t1, NONE
    li   t2, 8
    bltu s2, t2, 3f
    lw   t0, request
    lw   t1, request + 4
3:  sw   t0, F_LIMIT(a0)
    sw   t1, F_LIMIT + 4(a0)
    sw   s8, F_FRONT(a0)
    addi t0, a0, F_HELD               # held and statistics start at zero
    addi t1, a0, REC
4:  sw   zero, 0(t0)
    addi t0, t0, 4
    bltu t0, t1, 4b
    sw   s8, F_FRONT(a0)
    li   s0, 0
    li   s3, 1
    j    serve

destroy_bank:
    li   s0, 1
    li   t0, 1
    beq  s5, t0, serve
    li   s7, 2                        # mark the bank and every bank below it
1:  li   t0, MAX_BANKS
    bgeu s7, t0, 4f
    mv   a0, s7
    call record
    lw   t1, F_FLAGS(a0)
    beqz t1, 3f
    mv   t2, s7
2:  beqz t2, 3f
    beq  t2, s5, 5f
    slli t3, t2, 6
    la   t4, banks
    add  t3, t3, t4
    lw   t2, F_PARENT(t3)
    j    2b
5:  li   t1, LIVE | DYING
    sw   t1, F_FLAGS(a0)
3:  addi s7, s7, 1
    j    1b
4:  li   a0, 0                        # destroy what they hold
    call destroy_held
    li   a0, 1
    call destroy_held
    mv   a0, s5                       # credit the banks above
    call record
    lw   s7, F_PARENT(a0)
    lw   a2, F_HELD(a0)
    neg  a2, a2
    mv   a0, s7
    li   a1, 0
    call debit
    mv   a0, s5
    call record
    lw   a2, F_HELD + 4(a0)
    neg  a2, a2
    mv   a0, s7
    li   a1, 1
    call debit
    li   s7, 2                        # and free their records
6:  li   t0, MAX_BANKS
    bgeu s7, t0, 7f
    mv   a0, s7
    call record
    lw   t1, F_FLAGS(a0)
    andi t1, t1, DYING
    beqz t1, 8f
    sw   zero, F_FLAGS(a0)
8:  addi s7, s7, 1
    j    6b
7:  li   s0, 0
    j    serve

# destroy_held(a0 kind): destroys every object of that kind held by a dying bank.
destroy_held:
    addi sp, sp, -16
    sw   ra, 12(sp)
    sw   s0, 8(sp)
    sw   s1, 4(sp)
    sw   s2, 0(sp)
    mv   s0, a0
    slli t0, s0, 2
    li   t1, CONFIG
    add  t1, t1, t0
    lw   s1, 0(t1)
    li   s2, 0
1:  bgeu s2, s1, 9f
    mv   a0, s0
    mv   a1, s2
    call owner_at
    lhu  t0, 0(a0)
    beqz t0, 2f
    li   t1, FOREIGN
    beq  t0, t1, 2f
    andi a0, t0, BANK_BITS
    call record
    lw   t1, F_FLAGS(a0)
    andi t1, t1, DYING
    beqz t1, 2f
    mv   a0, s0
    mv   a1, s2
    call release
2:  addi s2, s2, 1
    j    1b
9:  lw   ra, 12(sp)
    lw   s0, 8(sp)
    lw   s1, 4(sp)
    lw   s2, 0(sp)
    addi sp, sp, 16
    ret

    .data
    .align 2
free_count: .word 0, 0                # free nodes, free pages
cursor:     .word 0, 0                # where the next search starts
scratch:    .word 0, 0
made:       .word 0, 0, 0             # offsets create_two/three made
    .bss
    .align 3
banks:   .space MAX_BANKS * REC
request: .space 16
out:     .space 32
