// The processargs bootstrap message, as Zircon's <zircon/processargs.h>.
//
// A new process's first channel message (on the handle it gets as its first start argument):
//
//   zx_proc_args_t            header; every *_off is a byte offset from the message start
//   uint32_t handle_info[N]   at handle_info_off: one PA_HND() per handle, in message order
//   args                      at args_off: args_num NUL-terminated strings, back to back
//   environ                   at environ_off: environ_num strings ("NAME=VALUE" by convention)
//   names                     at names_off: names_num strings, indexed by PA_NS_* entries
#pragma once

#include <stdint.h>

#define ZX_PROCARGS_PROTOCOL ((uint32_t)0x4150585du)  // "MXPA"
#define ZX_PROCARGS_VERSION ((uint32_t)0x0001000u)

typedef struct zx_proc_args {
    uint32_t protocol;  // ZX_PROCARGS_PROTOCOL
    uint32_t version;   // ZX_PROCARGS_VERSION
    uint32_t handle_info_off;
    uint32_t args_off;
    uint32_t args_num;
    uint32_t environ_off;
    uint32_t environ_num;
    uint32_t names_off;
    uint32_t names_num;
} zx_proc_args_t;

// A handle_info entry: the handle's type and a 16-bit argument.
#define PA_HND(type, arg) (((type) & 0xFF) | (((arg) & 0xFFFF) << 16))
#define PA_HND_TYPE(n) ((n) & 0xFF)
#define PA_HND_ARG(n) (((n) >> 16) & 0xFFFF)

// Core runtime handles.
#define PA_PROC_SELF 0x01u
#define PA_THREAD_SELF 0x02u
#define PA_JOB_DEFAULT 0x03u
#define PA_VMAR_ROOT 0x04u
#define PA_VMAR_LOADED 0x05u

// Loader service and VMOs.
#define PA_LDSVC_LOADER 0x10u
#define PA_VMO_VDSO 0x11u  // arg: vDSO variant index
#define PA_VMO_STACK 0x13u
#define PA_VMO_EXECUTABLE 0x14u
#define PA_VMO_BOOTDATA 0x1Au     // the ZBI (kernel -> userboot)
#define PA_VMO_BOOTFS 0x1Bu       // the decompressed BOOTFS (userboot -> next)
#define PA_VMO_KERNEL_FILE 0x1Cu  // arg: dense index from 0
#define PA_VMO_COMPONENT_CONFIG 0x1Du

#define PA_NS_DIR 0x20u  // arg: index into the name table
#define PA_FD 0x30u
#define PA_LIFECYCLE 0x3Au
#define PA_DIRECTORY_REQUEST 0x3Bu
#define PA_RESOURCE 0x3Fu
#define PA_CLOCK_UTC 0x40u

#define PA_MMIO_RESOURCE 0x50
#define PA_IRQ_RESOURCE 0x51
#define PA_IOPORT_RESOURCE 0x52
#define PA_SMC_RESOURCE 0x53
#define PA_SYSTEM_RESOURCE 0x54

#define PA_USER0 0xF0u
#define PA_USER1 0xF1u
#define PA_USER2 0xF2u
