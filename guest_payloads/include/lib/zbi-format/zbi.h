// ZBI (Zircon Boot Image) on-disk format, shared by the boot shims and the kernel.
//
// Values match Fuchsia's sdk/lib/zbi-format headers; the host-side twin of this file is
// zbi_tools/format.py. An image is a container header followed by items; every header
// starts 8-byte aligned and payloads are zero-padded to ZBI_ALIGNMENT.
#pragma once

#include <stdint.h>

#define ZBI_ALIGNMENT 8u
#define ZBI_ALIGN(n) (((n) + ZBI_ALIGNMENT - 1) & ~(ZBI_ALIGNMENT - 1))

typedef struct {
    uint32_t type;
    uint32_t length;  // payload bytes, excluding this header and the trailing padding
    uint32_t extra;
    uint32_t flags;
    uint32_t reserved0;
    uint32_t reserved1;
    uint32_t magic;
    uint32_t crc32;
} zbi_header_t;
_Static_assert(sizeof(zbi_header_t) == 32, "zbi_header_t is 32 bytes");

#define ZBI_CONTAINER_MAGIC 0x868cf7e6u
#define ZBI_ITEM_MAGIC 0xb5781729u
#define ZBI_ITEM_NO_CRC32 0x4a87e8d6u

#define ZBI_FLAGS_VERSION 0x00010000u
#define ZBI_FLAGS_CRC32 0x00020000u
#define ZBI_FLAGS_STORAGE_COMPRESSED 0x00000001u

#define ZBI_TYPE_CONTAINER 0x544f4f42u       // BOOT
#define ZBI_TYPE_KERNEL_PREFIX 0x004e524bu   // KRN\0
#define ZBI_TYPE_KERNEL_MASK 0x00ffffffu
#define ZBI_TYPE_KERNEL_X64 0x4c4e524bu      // KRNL
#define ZBI_TYPE_KERNEL_ARM64 0x384e524bu    // KRN8
#define ZBI_TYPE_KERNEL_RISCV64 0x564e524bu  // KRNV
#define ZBI_TYPE_DISCARD 0x50494b53u         // SKIP
#define ZBI_TYPE_STORAGE_RAMDISK 0x4b534452u // RDSK
#define ZBI_TYPE_STORAGE_BOOTFS 0x42534642u  // BFSB
#define ZBI_TYPE_STORAGE_KERNEL 0x5254534bu  // KSTR
#define ZBI_TYPE_CMDLINE 0x4c444d43u         // CMDL
#define ZBI_TYPE_CRASHLOG 0x4d4f4f42u        // BOOM
#define ZBI_TYPE_NVRAM 0x4c4c564eu           // NVLL
#define ZBI_TYPE_PLATFORM_ID 0x44494c50u     // PLID
#define ZBI_TYPE_MEM_CONFIG 0x434d454du      // MEMC
#define ZBI_TYPE_KERNEL_DRIVER 0x5652444bu   // KDRV
#define ZBI_TYPE_ACPI_RSDP 0x50445352u       // RSDP
#define ZBI_TYPE_CPU_TOPOLOGY 0x544f504fu    // TOPO (in memory "OPOT"): zbi_topology_node_t[]
#define ZBI_TYPE_SERIAL_NUMBER 0x4e4c5253u   // SRLN
#define ZBI_TYPE_DEVICETREE 0xd00dfeedu
#define ZBI_TYPE_SECURE_ENTROPY 0x444e4152u  // RAND

#define ZBI_IS_KERNEL_TYPE(t) (((t) & ZBI_TYPE_KERNEL_MASK) == ZBI_TYPE_KERNEL_PREFIX)

// Start of every KERNEL_<ARCH> payload.
typedef struct {
    uint64_t entry;                // x86-64: absolute physical address; arm64: offset from
                                   // the container header in front of the kernel item
    uint64_t reserve_memory_size;  // scratch bytes the kernel needs past its load image
} zbi_kernel_t;
_Static_assert(sizeof(zbi_kernel_t) == 16, "zbi_kernel_t is 16 bytes");

// MEM_CONFIG payload: an array of these.
typedef struct {
    uint64_t paddr;
    uint64_t length;
    uint32_t type;
    uint32_t reserved;
} zbi_mem_range_t;
_Static_assert(sizeof(zbi_mem_range_t) == 24, "zbi_mem_range_t is 24 bytes");

#define ZBI_MEM_TYPE_RAM 1u
#define ZBI_MEM_TYPE_PERIPHERAL 2u
#define ZBI_MEM_TYPE_RESERVED 3u

// CPU_TOPOLOGY payload: a flat array of nodes, each naming its parent by index. zhb's arm64
// shim writes one PROCESSOR node per CPU of the device tree, without parents.
#define ZBI_MAX_SMT 4
#define ZBI_TOPOLOGY_NO_PARENT 0xffffu
#define ZBI_TOPOLOGY_ENTITY_PROCESSOR 1u
#define ZBI_TOPOLOGY_ARCH_X86 1u
#define ZBI_TOPOLOGY_ARCH_ARM 2u
#define ZBI_TOPOLOGY_PROCESSOR_PRIMARY 1u    // the CPU that boots the system
#define ZBI_TOPOLOGY_PROCESSOR_INTERRUPT 2u  // the CPU that takes every interrupt

typedef struct {
    uint8_t cluster_1_id;  // MPIDR Aff1
    uint8_t cluster_2_id;  // Aff2
    uint8_t cluster_3_id;  // Aff3
    uint8_t cpu_id;        // Aff0
    uint8_t gic_id;        // GICv2 CPU interface number
} zbi_topology_arm_info_t;

typedef struct {
    uint32_t apic_ids[ZBI_MAX_SMT];
    uint32_t apic_id_count;
} zbi_topology_x86_info_t;

typedef struct {
    uint16_t logical_ids[ZBI_MAX_SMT];
    uint8_t logical_id_count;
    uint16_t flags;        // ZBI_TOPOLOGY_PROCESSOR_*
    uint8_t architecture;  // ZBI_TOPOLOGY_ARCH_*
    union {
        zbi_topology_arm_info_t arm;
        zbi_topology_x86_info_t x86;
    } architecture_info;
} zbi_topology_processor_t;

typedef struct {
    uint64_t start_address;
    uint64_t end_address;
} zbi_topology_numa_region_t;

typedef struct {
    uint8_t entity_type;  // ZBI_TOPOLOGY_ENTITY_*
    uint16_t parent_index;
    union {
        zbi_topology_processor_t processor;
        zbi_topology_numa_region_t numa_region;
    } entity;
} zbi_topology_node_t;
_Static_assert(sizeof(zbi_topology_processor_t) == 36, "zbi_topology_processor_t is 36 bytes");
_Static_assert(sizeof(zbi_topology_node_t) == 48, "zbi_topology_node_t is 48 bytes");
