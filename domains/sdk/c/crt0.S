# crt0.S: the entry of a C domain (design.md §23, the loader ABI). The
# loader maps the program, zeroes .bss (its pages are fresh) and sets
# sp = STACK_TOP (0x7FFF0000, a 256 KiB stack below it), pc = e_entry; every
# other register is 0. Here: set gp for linker relaxation of small data,
# keep sp 16-byte aligned, call main(a0 order, a3 string, a4 length) and
# stop with its return value.
    .section .text.start, "ax"
    .globl _start
_start:
    .option push
    .option norelax
    la   gp, __global_pointer$
    .option pop
    andi sp, sp, -16
    mv   a1, a3
    mv   a2, a4
    call main
    tail gn_exit
