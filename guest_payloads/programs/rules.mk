# Guest programs: static ELF executables (ET_EXEC at PROGRAM_BASE, programs/program.ld;
# segments R, R+X, R+W) from their sources + ulib, installed as $(OUT)/bin/<name>.
# programs/common/ (child processes from machine code or from a BOOTFS file, with userboot's
# BOOTFS code and ulib's process builder) is compiled into every program.
#
#   $(eval $(call guest_program,NAME,SOURCES))   defines $(OUT)/bin/NAME
#
# Out of tree (README "Guest SDK"): one C file or more, optionally packed into a BOOTFS:
#   make -C guest_payloads ARCH=<a> guest-program NAME=hello SRCS=/abs/hello.c \
#       [BOOTFS=/abs/hello.bootfs]
# builds $(OUT)/bin/hello and, with BOOTFS, a BOOTFS image holding it as bin/hello.
# A shared library and a dynamically linked program (see "Dynamic linking" below):
#   make ... guest-library LIBRARY=1 NAME=greet SRCS=/abs/greet.c      -> $(OUT)/lib/libgreet.so
#   make ... guest-program NAME=hello SRCS=/abs/hello.c DYNAMIC=1 LIBS=greet \
#       [BOOTFS=/abs/hello.bootfs]     (the BOOTFS also gets lib/ld.so.1 and lib/libgreet.so)

PROGRAM_LDSCRIPT := programs/program.ld
PROGRAM_LDFLAGS := $(USER_LDFLAGS) -static -nostdlib --no-dynamic-linker -z nostart-stop-gc \
	-T $(PROGRAM_LDSCRIPT)
PROGRAM_COMMON_SRCS := programs/common/child.c userboot/bootfs.c
PROGRAM_CFLAGS := -Iprograms/common -Iprograms/common/arch/$(ARCH) -Iuserboot

define guest_program
$(OUT)/bin/$(1): $(call uobjs,$(2) $(PROGRAM_COMMON_SRCS)) $(ULIB) $(PROGRAM_LDSCRIPT) \
		$(USER_MAKE_DEPS)
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(LD) $$(PROGRAM_LDFLAGS) -o $$@ $(call uobjs,$(2) $(PROGRAM_COMMON_SRCS)) $$(ULIB)
$(call uobjs,$(2) $(PROGRAM_COMMON_SRCS)): USER_CFLAGS += $(PROGRAM_CFLAGS)
endef

CORE_TESTS_SRCS := $(sort $(wildcard programs/core-tests/*.c)) programs/common/testkit.c \
	programs/common/pbcheck.c
$(eval $(call guest_program,core-tests,$(CORE_TESTS_SRCS)))
$(eval $(call guest_program,microbench,programs/microbench/microbench.c \
	programs/microbench/ipc.c programs/microbench/launch.c programs/microbench/vm.c \
	programs/microbench/parallel.c programs/common/testkit.c programs/common/pbcheck.c))
STRESS_TESTS_SRCS := $(sort $(wildcard programs/stress-tests/*.c)) programs/common/testkit.c
$(eval $(call guest_program,stress-tests,$(STRESS_TESTS_SRCS)))
SYSCALL_FUZZ_SRCS := programs/syscall-fuzz/fuzz.c programs/common/testkit.c
$(eval $(call guest_program,syscall-fuzz,$(SYSCALL_FUZZ_SRCS)))
USER_OUTPUTS += $(OUT)/bin/core-tests $(OUT)/bin/microbench $(OUT)/bin/stress-tests \
	$(OUT)/bin/syscall-fuzz

# ---- Dynamic linking ------------------------------------------------------------------------
# ld.so.1 (ldso/): the dynamic linker, an ET_DYN without dynamic relocations (hidden code,
# ulib's vDSO thunks), installed as $(OUT)/lib/ld.so.1 and put in BOOTFS as lib/ld.so.1.
# Shared libraries ($(OUT)/lib/lib<NAME>.so) and dynamically linked programs (PIE, PT_INTERP
# ld.so.1, ulib linked statically) use RELRO, eager binding (-z now) and DT_GNU_HASH, the
# only hash table ld.so reads. Both are linked against vdso.so (DT_NEEDED libzircon.so: ld.so
# finds it already mapped), so zx_* calls in a library, and _zx_* in a program, bind to the
# vDSO at load time.
#
#   $(eval $(call shared_library,NAME,SOURCES,LIBS))     $(OUT)/lib/libNAME.so, needing LIBS
#   $(eval $(call dynamic_program,NAME,SOURCES,LIBS))    $(OUT)/bin/NAME, needing LIBS

LDSO := $(OUT)/lib/ld.so.1
LDSO_SRCS := ulib/arch/$(ARCH)/start.S ldso/ldso.c ldso/arch/$(ARCH)/switch.S \
	$(PROCESS_BUILDER_SRCS) ulib/processargs.c lib/string.c lib/printf.c
LDSO_OBJS := $(call uobjs,$(LDSO_SRCS)) $(OUT)/uobj/gen/vdso-thunks.o
DYNAMIC_COMMON_LDFLAGS := $(USER_LDFLAGS) -z relro -z now -z text --hash-style=gnu
SHLIB_LDFLAGS := $(DYNAMIC_COMMON_LDFLAGS) -shared
DYNAMIC_PROGRAM_LDFLAGS := $(DYNAMIC_COMMON_LDFLAGS) -pie --dynamic-linker ld.so.1 \
	-z nostart-stop-gc
USER_OUTPUTS += $(LDSO)

$(LDSO): $(LDSO_OBJS) $(USER_MAKE_DEPS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LD) $(USER_LDFLAGS) -shared -Bsymbolic -z text --hash-style=gnu -soname ld.so.1 \
		-e _start -o $@ $(LDSO_OBJS)

shlib_paths = $(foreach l,$(1),$(OUT)/lib/lib$(l).so)

define shared_library
$(OUT)/lib/lib$(1).so: $(call uobjs,$(2)) $(call shlib_paths,$(3)) $(VDSO) $(USER_MAKE_DEPS)
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(LD) $$(SHLIB_LDFLAGS) -soname lib$(1).so -o $$@ $(call uobjs,$(2)) \
		$(call shlib_paths,$(3)) $$(VDSO)
endef

define dynamic_program
$(OUT)/bin/$(1): $(call uobjs,$(2)) $(ULIB) $(call shlib_paths,$(3)) $(VDSO) $(USER_MAKE_DEPS)
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(LD) $$(DYNAMIC_PROGRAM_LDFLAGS) -o $$@ $(call uobjs,$(2)) $$(ULIB) \
		$(call shlib_paths,$(3)) $$(VDSO)
$(call uobjs,$(2)): USER_CFLAGS += $(PROGRAM_CFLAGS)
endef

# bin/dyn-tests needs libdyn-a.so, which needs libdyn-b.so (tests/test_dynamic.py).
$(eval $(call shared_library,dyn-b,programs/dyn-tests/dynb.c,))
$(eval $(call shared_library,dyn-a,programs/dyn-tests/dyna.c,dyn-b))
DYN_TESTS_SRCS := programs/dyn-tests/main.c programs/common/pbcheck.c programs/common/testkit.c \
	$(PROGRAM_COMMON_SRCS)
$(eval $(call dynamic_program,dyn-tests,$(DYN_TESTS_SRCS),dyn-a))
USER_OUTPUTS += $(OUT)/lib/libdyn-b.so $(OUT)/lib/libdyn-a.so $(OUT)/bin/dyn-tests
# What microbench's pb_launch_static / pb_launch_dynamic rows start.
$(eval $(call guest_program,pb-exit0,programs/pb-bench/exit0.c))
$(eval $(call dynamic_program,pb-exit0-dyn,programs/pb-bench/exit0-dyn.c,dyn-a))
USER_OUTPUTS += $(OUT)/bin/pb-exit0 $(OUT)/bin/pb-exit0-dyn

.PHONY: guest-program guest-library
ifneq ($(NAME),)
ifeq ($(LIBRARY),1)
$(eval $(call shared_library,$(NAME),$(SRCS),$(LIBS)))
guest-library: $(OUT)/lib/lib$(NAME).so
else ifeq ($(DYNAMIC),1)
$(eval $(call dynamic_program,$(NAME),$(SRCS),$(LIBS)))
else
$(eval $(call guest_program,$(NAME),$(SRCS)))
endif
guest-program: $(OUT)/bin/$(NAME) $(BOOTFS)
ifneq ($(BOOTFS),)
BOOTFS_EXTRA := $(if $(filter 1,$(DYNAMIC)),$(LDSO) $(call shlib_paths,$(LIBS)))
$(BOOTFS): $(OUT)/bin/$(NAME) $(BOOTFS_EXTRA)
	@mkdir -p $(OUT)/gen
	@echo "bin/$(NAME)=$(OUT)/bin/$(NAME)" > $(OUT)/gen/$(NAME).manifest
	@$(foreach f,$(BOOTFS_EXTRA),echo "lib/$(notdir $(f))=$(f)" >> $(OUT)/gen/$(NAME).manifest;)
	@$(if $(Q),echo "  BOOTFS  $@")
	$(Q)cd $(SRC_ROOT)/.. && $(PYTHON) -m bootfs_tools create -o $@ -m $(OUT)/gen/$(NAME).manifest
endif
else
guest-program guest-library:
	$(error guest-program needs NAME=<name> SRCS=<sources> [DYNAMIC=1 LIBS=<names>] [BOOTFS=<image>]; guest-library needs LIBRARY=1 NAME=<name> SRCS=<sources> [LIBS=<names>])
endif

all: $(USER_OUTPUTS)

-include $(shell find $(OUT)/uobj -name '*.d' 2>/dev/null)
