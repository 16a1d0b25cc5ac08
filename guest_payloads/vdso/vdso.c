// The vDSO's C half: the syscalls that never enter the kernel (flag `vdso` in
// syscalls/zircon.syscalls). The kernel-entering stubs are the generated
// $(OUT)/gen/vdso-stubs-<arch>.S. Like the stubs, each function is global _zx_<name> with a
// weak alias zx_<name>. Nothing here may need writable data or a relocation (RODSO layout);
// the vDSO is linked -Bsymbolic, so the call below is a direct branch.
#include <zircon/syscalls.h>
#include <zircon/time.h>

// Exported (the build's default visibility is hidden), with its weak zx_ alias.
#define VDSO_EXPORT __attribute__((visibility("default")))
#define VDSO_ALIAS(name)                                                                           \
    extern __typeof(_zx_##name) zx_##name VDSO_EXPORT __attribute__((weak, alias("_zx_" #name)))

VDSO_EXPORT zx_time_t _zx_deadline_after(zx_duration_t nanoseconds) {
    return zx_time_add_duration(_zx_clock_get_monotonic(), nanoseconds);
}
VDSO_ALIAS(deadline_after);
