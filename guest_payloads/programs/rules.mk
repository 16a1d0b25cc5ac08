# Guest programs: static ELF executables (ET_EXEC at PROGRAM_BASE, programs/program.ld;
# segments R, R+X, R+W) from their sources + ulib, installed as $(OUT)/bin/<name>.
# programs/common/ (child processes from machine code or from a BOOTFS file, with userboot's
# ELF, BOOTFS and loader code) is compiled into every program.
#
#   $(eval $(call guest_program,NAME,SOURCES))   defines $(OUT)/bin/NAME
#
# Out of tree (README "Guest SDK"): one C file or more, optionally packed into a BOOTFS:
#   make -C guest_payloads ARCH=<a> guest-program NAME=hello SRCS=/abs/hello.c \
#       [BOOTFS=/abs/hello.bootfs]
# builds $(OUT)/bin/hello and, with BOOTFS, a BOOTFS image holding it as bin/hello.

PROGRAM_LDSCRIPT := programs/program.ld
PROGRAM_LDFLAGS := $(USER_LDFLAGS) -static -nostdlib --no-dynamic-linker -z nostart-stop-gc \
	-T $(PROGRAM_LDSCRIPT)
PROGRAM_COMMON_SRCS := programs/common/child.c userboot/elf.c userboot/bootfs.c userboot/loader.c
PROGRAM_CFLAGS := -Iprograms/common -Iprograms/common/arch/$(ARCH) -Iuserboot

define guest_program
$(OUT)/bin/$(1): $(call uobjs,$(2) $(PROGRAM_COMMON_SRCS)) $(ULIB) $(PROGRAM_LDSCRIPT) \
		$(USER_MAKE_DEPS)
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(LD) $$(PROGRAM_LDFLAGS) -o $$@ $(call uobjs,$(2) $(PROGRAM_COMMON_SRCS)) $$(ULIB)
$(call uobjs,$(2) $(PROGRAM_COMMON_SRCS)): USER_CFLAGS += $(PROGRAM_CFLAGS)
endef

CORE_TESTS_SRCS := $(sort $(wildcard programs/core-tests/*.c)) programs/common/testkit.c
$(eval $(call guest_program,core-tests,$(CORE_TESTS_SRCS)))
$(eval $(call guest_program,microbench,programs/microbench/microbench.c \
	programs/microbench/ipc.c programs/microbench/parallel.c programs/common/testkit.c))
STRESS_TESTS_SRCS := $(sort $(wildcard programs/stress-tests/*.c)) programs/common/testkit.c
$(eval $(call guest_program,stress-tests,$(STRESS_TESTS_SRCS)))
SYSCALL_FUZZ_SRCS := programs/syscall-fuzz/fuzz.c programs/common/testkit.c
$(eval $(call guest_program,syscall-fuzz,$(SYSCALL_FUZZ_SRCS)))
USER_OUTPUTS += $(OUT)/bin/core-tests $(OUT)/bin/microbench $(OUT)/bin/stress-tests \
	$(OUT)/bin/syscall-fuzz

.PHONY: guest-program
ifneq ($(NAME),)
$(eval $(call guest_program,$(NAME),$(SRCS)))
guest-program: $(OUT)/bin/$(NAME) $(BOOTFS)
ifneq ($(BOOTFS),)
$(BOOTFS): $(OUT)/bin/$(NAME)
	@mkdir -p $(OUT)/gen
	@echo "bin/$(NAME)=$(OUT)/bin/$(NAME)" > $(OUT)/gen/$(NAME).manifest
	@$(if $(Q),echo "  BOOTFS  $@")
	$(Q)cd $(SRC_ROOT)/.. && $(PYTHON) -m bootfs_tools create -o $@ -m $(OUT)/gen/$(NAME).manifest
endif
else
guest-program:
	$(error guest-program needs NAME=<name> SRCS=<sources> [BOOTFS=<image>])
endif

all: $(USER_OUTPUTS)

-include $(shell find $(OUT)/uobj -name '*.d' 2>/dev/null)
