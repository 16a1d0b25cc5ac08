// The user-mode images the kernel carries (kernel/userboot_launch.c): the vDSO and userboot,
// both RODSO ELF files built by vdso/rules.mk and userboot/rules.mk. The Makefile passes
// their paths as VDSO_PATH / USERBOOT_PATH and makes this object depend on them.

.section .rodata.userabi, "a"
.balign 4096
.globl userabi_vdso_image, userabi_vdso_image_end
userabi_vdso_image:
.incbin VDSO_PATH
userabi_vdso_image_end:

.balign 4096
.globl userabi_userboot_image, userabi_userboot_image_end
userabi_userboot_image:
.incbin USERBOOT_PATH
userabi_userboot_image_end:
