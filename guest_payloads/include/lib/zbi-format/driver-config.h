// KERNEL_DRIVER item payloads (the item's `extra` names the driver). Values match Fuchsia's
// sdk/lib/zbi-format/include/lib/zbi-format/driver-config.h.
#pragma once

#include <stdint.h>

#define ZBI_KERNEL_DRIVER_ARM_PSCI 0x49435350u           // PSCI
#define ZBI_KERNEL_DRIVER_ARM_GIC_V2 0x32434947u         // GIC2
#define ZBI_KERNEL_DRIVER_ARM_GIC_V3 0x33434947u         // GIC3
#define ZBI_KERNEL_DRIVER_ARM_GENERIC_TIMER 0x4d495441u  // ATIM
#define ZBI_KERNEL_DRIVER_PL011_UART 0x55304c50u         // PL0U
#define ZBI_KERNEL_DRIVER_I8250_PIO_UART 0x30353238u     // 8250
#define ZBI_KERNEL_DRIVER_I8250_MMIO32_UART 0x4d353238u  // 825M

// Simple MMIO UART (PL011, 8250 MMIO).
typedef struct {
    uint64_t mmio_phys;
    uint32_t irq;
    uint32_t reserved;
} zbi_dcfg_simple_t;
_Static_assert(sizeof(zbi_dcfg_simple_t) == 16, "zbi_dcfg_simple_t is 16 bytes");

// Port-I/O UART (16550 on COM1 for x86-64).
typedef struct {
    uint16_t base;
    uint16_t reserved;
    uint32_t irq;
} zbi_dcfg_simple_pio_t;
_Static_assert(sizeof(zbi_dcfg_simple_pio_t) == 8, "zbi_dcfg_simple_pio_t is 8 bytes");

typedef struct {
    uint8_t use_hvc;
    uint8_t reserved[7];
    uint64_t shutdown_args[3];
    uint64_t reboot_args[3];
    uint64_t reboot_bootloader_args[3];
    uint64_t reboot_recovery_args[3];
} zbi_dcfg_arm_psci_driver_t;
_Static_assert(sizeof(zbi_dcfg_arm_psci_driver_t) == 104, "psci config is 104 bytes");

typedef struct {
    uint64_t mmio_phys;
    uint64_t msi_frame_phys;
    uint64_t gicd_offset;
    uint64_t gicc_offset;
    uint64_t gich_offset;
    uint64_t gicv_offset;
    uint32_t ipi_base;
    uint8_t optional;
    uint8_t use_msi;
    uint16_t reserved;
} zbi_dcfg_arm_gic_v2_driver_t;

typedef struct {
    uint64_t mmio_phys;
    uint64_t gicd_offset;
    uint64_t gicr_offset;
    uint64_t gicr_stride;
    uint64_t reserved0;
    uint32_t ipi_base;
    uint8_t optional;
    uint8_t reserved1[3];
} zbi_dcfg_arm_gic_v3_driver_t;

typedef struct {
    uint32_t irq_phys;
    uint32_t irq_virt;
    uint32_t irq_sphys;
    uint32_t freq_override;
} zbi_dcfg_arm_generic_timer_driver_t;
