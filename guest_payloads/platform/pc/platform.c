// The kernel's platform hooks (kernel/platform.h) for a QEMU q35 PC: 16550 console from the
// I8250_PIO_UART driver item, ACPI power-off using the ACPI_RSDP item, pvpanic on panic.
#include <kernel/platform.h>

#include <kernel/physmap.h>
#include <lib/string.h>
#include <lib/zbi-format/driver-config.h>
#include <lib/zbiutil.h>
#include <platform/pc.h>

#include "pc-kernel.h"

const char platform_arch_name[] = "x86_64";

uint64_t pc_rsdp;  // from the ACPI_RSDP item; 0 makes power-off search for it

// zbi_item_fn: stores the ACPI_RSDP item's address into *(uint64_t *)ctx and stops.
// The kernel reaches ACPI tables and the BIOS areas through its physmap (acpi.c's hook).
const void *pc_phys_ptr(uint64_t paddr) {
    return paddr_to_physmap((uintptr_t)paddr);
}

static int pc_find_rsdp_item(const zbi_header_t *hdr, const void *payload, void *ctx) {
    if (hdr->type != ZBI_TYPE_ACPI_RSDP || hdr->length < sizeof(uint64_t)) {
        return 0;
    }
    memcpy(ctx, payload, sizeof(uint64_t));
    return 1;
}

int platform_init(const struct boot_info *bi) {
    const struct boot_driver *uart = boot_find_driver(bi, ZBI_KERNEL_DRIVER_I8250_PIO_UART);
    if (uart == NULL || uart->length < sizeof(zbi_dcfg_simple_pio_t)) {
        return -1;
    }
    const zbi_dcfg_simple_pio_t *cfg = uart->config;
    pc_uart_init(cfg->base);
    zbi_for_each(paddr_to_physmap(bi->zbi_paddr), pc_find_rsdp_item, &pc_rsdp);
    return 0;
}

void platform_putc(char c) {
    pc_uart_putc(c);
}

void platform_panic_signal(void) {
    pc_pvpanic_signal();
}

void platform_poweroff(void) {
    pc_uart_flush();
    pc_power_off(pc_rsdp);
}
