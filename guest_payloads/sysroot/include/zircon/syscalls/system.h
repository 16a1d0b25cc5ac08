// zx_system_powerctl() commands and argument, as Zircon's <zircon/syscalls/system.h>.
#pragma once

#include <stdint.h>

#define ZX_SYSTEM_POWERCTL_ENABLE_ALL_CPUS 1u
#define ZX_SYSTEM_POWERCTL_DISABLE_ALL_CPUS_BUT_PRIMARY 2u
#define ZX_SYSTEM_POWERCTL_ACPI_TRANSITION_S_STATE 3u
#define ZX_SYSTEM_POWERCTL_X86_SET_PKG_PL1 4u
#define ZX_SYSTEM_POWERCTL_REBOOT 5u
#define ZX_SYSTEM_POWERCTL_REBOOT_BOOTLOADER 6u
#define ZX_SYSTEM_POWERCTL_REBOOT_RECOVERY 7u
#define ZX_SYSTEM_POWERCTL_SHUTDOWN 8u
#define ZX_SYSTEM_POWERCTL_ACK_KERNEL_INITIATED_REBOOT 9u

// Only ACPI_TRANSITION_S_STATE and X86_SET_PKG_PL1 read it; the others accept NULL.
typedef struct zx_system_powerctl_arg {
    union {
        struct {
            struct {
                uint8_t target_s_state;  // 1..5
                uint8_t sleep_type_a;    // SLP_TYPa
                uint8_t sleep_type_b;    // SLP_TYPb
            } acpi_transition_s_state;
            uint8_t padding1[9];
        };
        struct {
            uint32_t power_limit;  // PL1, milliwatts
            uint32_t time_window;  // PL1 time window, microseconds
            uint8_t clamp;
            uint8_t enable;
            uint8_t padding2[2];
        } x86_power_limit;
    };
} zx_system_powerctl_arg_t;
