// zx_system_powerctl (Zircon semantics; handler shape in kernel/syscalls/util.h). Needs a
// handle to the power resource (include/kernel/resource.h). Supported commands:
// ZX_SYSTEM_POWERCTL_SHUTDOWN (prints "zhb kernel: powering off", then the platform powers the
// machine off; never returns). Every other command: ZX_ERR_NOT_SUPPORTED.
#include "util.h"

#include <kernel/arch.h>
#include <kernel/memwatch.h>
#include <kernel/platform.h>
#include <kernel/resource.h>
#include <lib/console.h>
#include <zircon/syscalls/system.h>

zx_status_t sys_system_powerctl(zx_handle_t resource, uint32_t cmd, user_in_ptr_t arg) {
    (void)arg;  // only ZX_SYSTEM_POWERCTL_ACPI_TRANSITION_S_STATE and X86_SET_PKG_PL1 read it
    zx_status_t st = resource_check_power(&process_current()->handles, resource);
    if (st != ZX_OK) {
        return st;
    }
    if (cmd != ZX_SYSTEM_POWERCTL_SHUTDOWN) {
        return ZX_ERR_NOT_SUPPORTED;
    }
    memwatch_at_poweroff();
    arch_irq_disable();
    printf("zhb kernel: powering off\n");
    platform_poweroff();
}
