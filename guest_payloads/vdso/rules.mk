# The vDSO, libzircon.so: an RODSO (vdso/rodso.ld) linked at 0 from the generated syscall
# stubs and vdso/vdso.c (the vdso-only calls), exporting zx_* and _zx_*. -Bsymbolic binds
# its internal calls directly; -z rodynamic keeps .dynamic read-only. Its .symtab keeps the
# hidden CODE_SYSRET_* labels, from which `sysgen.py sysret` writes the kernel's table of
# approved syscall return addresses, $(VDSO_SYSRET) (an initializer for
# vdso_sysret_offset[ZX_SYS_COUNT]).

RODSO_LDSCRIPT := vdso/rodso.ld
RODSO_LDFLAGS := $(USER_LDFLAGS) -shared -Bsymbolic -z rodynamic --hash-style=gnu \
	-T $(RODSO_LDSCRIPT)
VDSO_OBJS := $(OUT)/uobj/gen/vdso-stubs.o $(call uobjs,vdso/vdso.c)
VDSO_SYSRET := $(GEN)/vdso-sysret.inc
USER_OUTPUTS += $(VDSO) $(VDSO_SYSRET)

$(OUT)/uobj/gen/vdso-stubs.o: $(SYSGEN_STAMP) $(USER_MAKE_DEPS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  UAS     $(GEN)/vdso-stubs-$(ARCH).S")
	$(Q)$(CC) $(USER_ASFLAGS) -c -o $@ $(GEN)/vdso-stubs-$(ARCH).S

$(VDSO): $(VDSO_OBJS) $(RODSO_LDSCRIPT) $(USER_MAKE_DEPS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LD) $(RODSO_LDFLAGS) -soname libzircon.so -o $@ $(VDSO_OBJS)

$(VDSO_SYSRET): $(VDSO) $(SYSGEN) $(SYSCALL_DEFS)
	@$(if $(Q),echo "  SYSRET  $@")
	$(Q)$(PYTHON) $(SYSGEN) sysret $(SYSCALL_DEFS) $(VDSO) -o $@
