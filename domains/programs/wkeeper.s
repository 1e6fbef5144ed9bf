# wkeeper.s: the keeper of system servers' windows.
#
# A server that works on one object's segment at a time sees it through a
# window: a red node in its own address space whose slot 0 holds the
# object's segment (domains/system/src/window.rs). If the object's bank is
# destroyed while the server is in the middle of that work, the segment's
# nodes and pages are gone and the server's next access faults. The fault
# comes here (the window's keeper slot holds a start key to this domain):
# the window is pointed at the scratch segment, 1 MiB that all read and
# write one shared page, and the server goes on, finds its view taken away
# (Window::shows) or its data meaningless, and answers its client with an
# error. So a destroyed bank can never stop a server for everyone.
#
# A fault while the window already shows the scratch segment is no such
# race (the scratch segment cannot fault inside the window): the server is
# left faulted, visibly, rather than made to fault again for ever.
#
# Keys: k1 the returner, k2 the scratch segment (an lss-4 node key), k3
# discrim; a fault's key 2 (a node key to the window) arrives in k12, its
# key 3 (the fault key) in k15.

    .include "gnosis.inc"
    .equ K_RETURNER, 1
    .equ K_SCRATCH, 2
    .equ K_DISCRIM, 3
    .equ K_WINDOW, 12
    .equ K_FETCHED, 13
    .equ DISCRIM_COMPARE, 2

    .text
_start:
    li   s0, 0
serve:
    REPLY_WAIT K_RETURNER, s0, info, 12, zero, zero, 0, 0, 0xC, 0, 0, K_WINDOW
    KCALL_GET K_WINDOW, NODE_FETCH + 0, K_FETCHED
    li   a0, DISCRIM_COMPARE
    EXIT a1, K_DISCRIM, CALL, 0, 3, K_FETCHED, K_SCRATCH
    li   a2, 0
    ecall
    beqz a0, stuck                    # already the scratch segment
    KCALL_KEY K_WINDOW, NODE_SWAP + 0, K_SCRATCH, 0
    li   s0, 0                        # the fault key restarts the server
    j    serve

stuck:
    li   s0, 0                        # reply to no one: k15 := DK(0)
    KMOVE 0, 15
    j    serve

    .data
info: .space 12
