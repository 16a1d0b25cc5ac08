# PVH boot programs for QEMU's -kernel (included by arch/x86_64/rules.mk):
#   shim.elf      boots a ZBI given as -initrd (phys/x86_64/shim.c)
#   poweroff.elf  only powers the machine off (benchmark baseline, phys/x86_64/poweroff.c)
# Both share the 32-bit PVH entry (start.S) and linker script, and platform/pc's power-off.

PHYS_LDSCRIPT := phys/x86_64/phys.ld
SHIM_SRCS := phys/x86_64/start.S phys/x86_64/exception_stubs.S phys/x86_64/exceptions.c \
	phys/x86_64/shim.c $(PC_SHARED_SRCS)
POWEROFF_SRCS := phys/x86_64/start.S phys/x86_64/poweroff.c $(PC_SHARED_SRCS)

ARCH_OUTPUTS += $(OUT)/shim.elf $(OUT)/poweroff.elf

$(OUT)/shim.elf: $(call objs,$(SHIM_SRCS)) $(LIBZHB) $(PHYS_LDSCRIPT) $(MAKE_DEPS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(call link,$(PHYS_LDSCRIPT),$(call objs,$(SHIM_SRCS)))

$(OUT)/poweroff.elf: $(call objs,$(POWEROFF_SRCS)) $(LIBZHB) $(PHYS_LDSCRIPT) $(MAKE_DEPS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(call link,$(PHYS_LDSCRIPT),$(call objs,$(POWEROFF_SRCS)))
