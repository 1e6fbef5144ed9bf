# gnosis.mk: building C domains with clang and lld (Debian: apt-get install
# clang lld). A project's Makefile sets GNOSIS_SDK (this directory), PROGRAM
# (the ELF to make) and SOURCES, then includes this file:
#
#     GNOSIS_SDK ?= sdk/c
#     PROGRAM := hello.elf
#     SOURCES := hello.c
#     include $(GNOSIS_SDK)/gnosis.mk
#
# RV32IM only: -march=rv32im, no compressed instructions (the loader
# refuses RVC executables).
CC := clang
GNOSIS_CFLAGS := --target=riscv32-unknown-elf -march=rv32im -mabi=ilp32 -Os -g \
	-ffreestanding -fno-pic -fno-common -ffunction-sections -fdata-sections \
	-Wall -Wextra -Wno-unused-parameter -I$(GNOSIS_SDK)/include
GNOSIS_LDFLAGS := --target=riscv32-unknown-elf -march=rv32im -nostdlib -static -fuse-ld=lld \
	-Wl,-T,$(GNOSIS_SDK)/../gnosis.ld -Wl,--gc-sections
GNOSIS_RUNTIME := $(GNOSIS_SDK)/crt0.S $(GNOSIS_SDK)/libgnosis.c

$(PROGRAM): $(SOURCES) $(GNOSIS_RUNTIME) $(wildcard $(GNOSIS_SDK)/include/*.h) $(GNOSIS_SDK)/../gnosis.ld
	$(CC) $(GNOSIS_CFLAGS) $(CFLAGS) $(GNOSIS_LDFLAGS) $(LDFLAGS) -o $@ $(SOURCES) $(GNOSIS_RUNTIME)

.PHONY: clean
clean:
	rm -f $(PROGRAM)
