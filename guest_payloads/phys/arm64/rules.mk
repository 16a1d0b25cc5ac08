# arm64 phys programs (included by arch/arm64/rules.mk), raw binaries with a Linux arm64
# Image header for QEMU's -kernel:
#   shim.bin      boots the ZBI appended to it (or given as initrd) via the devicetree
#                 (phys/arm64/shim.c); exactly 64 KiB, ending in the "BOOTSHIM" quad
#   poweroff.bin  only asks PSCI to power off (benchmark baseline, phys/arm64/poweroff.c)
# Both share the entry code (start.S, vectors.S), the linker script and the DT reader.

PHYS_LDSCRIPT := phys/arm64/phys.ld
PHYS_COMMON_SRCS := phys/arm64/start.S phys/arm64/vectors.S phys/arm64/fdt.c \
	phys/arm64/board.c
SHIM_SRCS := $(PHYS_COMMON_SRCS) phys/arm64/shim.c phys/arm64/memory.c
POWEROFF_SRCS := $(PHYS_COMMON_SRCS) phys/arm64/poweroff.c

ARCH_OUTPUTS += $(OUT)/shim.bin $(OUT)/poweroff.bin

$(OUT)/shim.elf: $(call objs,$(SHIM_SRCS)) $(LIBZHB) $(PHYS_LDSCRIPT) $(MAKE_DEPS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(call link,$(PHYS_LDSCRIPT),-pie $(call objs,$(SHIM_SRCS)))

$(OUT)/poweroff.elf: $(call objs,$(POWEROFF_SRCS)) $(LIBZHB) $(PHYS_LDSCRIPT) $(MAKE_DEPS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(call link,$(PHYS_LDSCRIPT),-pie $(call objs,$(POWEROFF_SRCS)))

$(OUT)/%.bin: $(OUT)/%.elf
	@$(if $(Q),echo "  OBJCOPY $@")
	$(Q)$(OBJCOPY) -O binary $< $@
