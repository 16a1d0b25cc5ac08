# arm64: the kernel (arch/arm64 + platform/qemu-virt) and the Linux-Image-headed phys
# programs (phys/arm64). See the contract at the top of guest_payloads/Makefile.
#
# Every arm64 program is a static PIE linked at 0 that relocates itself at entry (start.S),
# so the boot shim may put the kernel at any 64 KiB boundary and QEMU may load the shim
# wherever its Image header allows. Hence -fpie (after the Makefile's -fno-pie, so it wins;
# it keeps pointer tables out of read-only sections) and -pie at link time.
# The phys programs and the kernel's first steps run with the MMU off, where all data accesses
# are Device memory and must be aligned: -mstrict-align. No FP/SIMD registers anywhere:
# -mgeneral-regs-only.

ARCH_TARGET := aarch64-unknown-none-elf
ARCH_CFLAGS := -mgeneral-regs-only -mstrict-align -fpie
ARCH_INCLUDES := arch/arm64/include platform/qemu-virt/include

KERNEL_SRCS += arch/arm64/start.S arch/arm64/vectors.S arch/arm64/exception.c \
	arch/arm64/thread.S arch/arm64/usercopy.S arch/arm64/mmu.c platform/qemu-virt/platform.c \
	platform/qemu-virt/pvpanic.c platform/qemu-virt/gic.c platform/qemu-virt/timer.c \
	platform/qemu-virt/smp.c
KERNEL_LDSCRIPT := arch/arm64/kernel.ld
KERNEL_LDFLAGS := -pie

include phys/arm64/rules.mk
