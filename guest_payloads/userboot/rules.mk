# userboot.so: an RODSO (vdso/rodso.ld) the kernel embeds and maps at a random address with
# the vDSO right after it. It calls the vDSO through $(USERBOOT_VDSO_SYMS), generated from
# vdso.so: `zx_<name> = _end + <offset>`. It starts its program with ulib's process builder
# (the one ELF loader of the guest tree). Its parsers (lz4, bootfs, elf, processargs) make no
# syscalls; tests/test_userabi.py compiles them natively on the host. The entry is ulib's
# _start (ulib/arch/<arch>/start.S), which calls userboot's own __zhb_start.

USERBOOT := $(OUT)/userboot.so
USERBOOT_SRCS := ulib/arch/$(ARCH)/start.S userboot/userboot.c userboot/ldsvc.c \
	$(PROCESS_BUILDER_SRCS) \
	userboot/lz4.c userboot/bootfs.c ulib/processargs.c lib/string.c lib/printf.c
USERBOOT_OBJS := $(call uobjs,$(USERBOOT_SRCS))
USERBOOT_VDSO_SYMS := $(OUT)/gen/userboot/vdso-syms.ld
USER_OUTPUTS += $(USERBOOT)

$(USERBOOT_VDSO_SYMS): $(VDSO) $(VDSO_SYMS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  VDSOSYM $@")
	$(Q)$(PYTHON) $(VDSO_SYMS) ldscript $(VDSO) -o $@

$(USERBOOT): $(USERBOOT_OBJS) $(USERBOOT_VDSO_SYMS) $(RODSO_LDSCRIPT) $(USER_MAKE_DEPS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LD) $(RODSO_LDFLAGS) -soname userboot.so -e _start -o $@ $(USERBOOT_OBJS) \
		$(USERBOOT_VDSO_SYMS)
