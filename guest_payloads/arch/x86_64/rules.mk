# x86-64: the kernel (arch/x86_64 + platform/pc) and the PVH boot programs (phys/x86_64).
# See the contract at the top of guest_payloads/Makefile.

ARCH_TARGET := x86_64-unknown-none-elf
# Kernel-style code generation: no red zone (interrupts would clobber it) and no SSE/x87
# (the boot shim never enables them, and the kernel must not touch user FPU state).
# -mcmodel=kernel: the kernel runs in the top 2 GiB (kernel.ld); its sign-extended 32-bit
# addresses also suit the boot programs, which run below 2 GiB.
ARCH_CFLAGS := -mno-red-zone -mno-mmx -mno-sse -mno-sse2 -mno-80387 -mcmodel=kernel
ARCH_INCLUDES := arch/x86_64/include platform/pc/include

# platform/pc pieces linked into the kernel and the PVH programs alike.
PC_SHARED_SRCS := platform/pc/uart.c platform/pc/acpi.c platform/pc/power.c

KERNEL_SRCS += arch/x86_64/start.S arch/x86_64/mmu.c arch/x86_64/arch.c \
	arch/x86_64/exceptions.S arch/x86_64/thread.S arch/x86_64/user.S arch/x86_64/usercopy.S \
	arch/x86_64/trampoline.S platform/pc/smp.c \
	platform/pc/platform.c platform/pc/interrupts.c platform/pc/timer.c $(PC_SHARED_SRCS)
KERNEL_LDSCRIPT := arch/x86_64/kernel.ld

include phys/x86_64/rules.mk
