# User-mode code: the toolchain settings shared by the vDSO, userboot, ulib and the guest
# programs, and ulib itself (the guest SDK runtime). Included from the Makefile's last lines
# (after every generic variable is set) together with vdso/, userboot/ and programs/rules.mk.
#
# User code is compiled position-independent (-fPIC, hidden visibility: nothing goes through a
# PLT or GOT) without floating-point or vector registers (no FPU state to save yet), into
# $(OUT)/uobj/<source path>.o so that lib/ sources shared with the kernel get a user build.
# Include path: ulib/include (libc-style headers, ktap.h), the sysroot, the generated
# headers, include/ (lib/ headers) and ulib/arch/<arch>.

USER_ARCH_CFLAGS_x86_64 := -mno-sse -mno-sse2 -mno-mmx -mno-80387
USER_ARCH_CFLAGS_arm64 := -mgeneral-regs-only
USER_COMMON_FLAGS := --target=$(ARCH_TARGET) -ffreestanding -fno-builtin -nostdlib \
	-fno-stack-protector -fPIC -fvisibility=hidden -fno-asynchronous-unwind-tables \
	-fno-omit-frame-pointer -ffunction-sections -fdata-sections \
	-Wall -Wextra -Werror -O2 -g -MMD -MP $(USER_ARCH_CFLAGS_$(ARCH)) \
	-Iulib/include -Iulib/arch/$(ARCH) -Isysroot/include -I$(GEN) -Iinclude
USER_CFLAGS := $(USER_COMMON_FLAGS) -std=c11 -Wstrict-prototypes -Wmissing-prototypes -Wshadow
USER_ASFLAGS := $(USER_COMMON_FLAGS) -D__ASSEMBLY__
USER_LDFLAGS := --build-id=none -z max-page-size=4096 -z norelro -z noexecstack -z defs \
	--gc-sections
USER_MAKE_DEPS := Makefile ulib/rules.mk vdso/rules.mk userboot/rules.mk programs/rules.mk

uobjs = $(addprefix $(OUT)/uobj/,$(addsuffix .o,$(basename $(1))))

# Shared outputs (defined here because the rules below name them).
VDSO := $(OUT)/vdso.so
VDSO_SYMS := tools/vdso_syms.py
USER_OUTPUTS :=

$(OUT)/uobj/%.o: %.c $(USER_MAKE_DEPS) | $(SYSGEN_STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  UCC     $<")
	$(Q)$(CC) $(USER_CFLAGS) -c -o $@ $<

$(OUT)/uobj/%.o: %.S $(USER_MAKE_DEPS) | $(SYSGEN_STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  UAS     $<")
	$(Q)$(CC) $(USER_ASFLAGS) -c -o $@ $<

# ---- ulib: the guest SDK runtime (static archive, linked into every guest program) -------
# ulib/arch/<arch>/start.S: the program entry; ulib/crt.c: processargs -> main(); printf over
# zx_debug_write; lib/ string and formatting code; the vDSO call thunks generated from vdso.so.
ULIB := $(OUT)/libulib.a
ULIB_SRCS := ulib/arch/$(ARCH)/start.S ulib/crt.c ulib/stdio.c ulib/ktap.c ulib/processargs.c \
	lib/string.c lib/printf.c
ULIB_SRCS += ulib/sync.c  # zhb/sync.h: futex mutex and condition variable
# zhb/process_builder.h: the process builder (with the ELF parser and the fuchsia.ldsvc
# messages); userboot links the same sources.
PROCESS_BUILDER_SRCS := ulib/process_builder/process_builder.c ulib/process_builder/elf.c \
	ulib/process_builder/ldmsg.c
ULIB_SRCS += $(PROCESS_BUILDER_SRCS)
ULIB_THUNKS := $(OUT)/gen/ulib/vdso-thunks.S
ULIB_OBJS := $(call uobjs,$(ULIB_SRCS)) $(OUT)/uobj/gen/vdso-thunks.o

$(ULIB_THUNKS): $(VDSO) $(VDSO_SYMS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  VDSOSYM $@")
	$(Q)$(PYTHON) $(VDSO_SYMS) thunks $(VDSO) -o $@

$(OUT)/uobj/gen/vdso-thunks.o: $(ULIB_THUNKS) $(USER_MAKE_DEPS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  UAS     $<")
	$(Q)$(CC) $(USER_ASFLAGS) -c -o $@ $<

$(ULIB): $(ULIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^
