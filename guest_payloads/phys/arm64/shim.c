// The arm64 boot shim (shim.bin): an arm64 Linux `Image` that QEMU (or any Linux boot loader)
// can start with a devicetree, turning that into a ZBI kernel boot (zircon-reference 6.3).
//
//   1. Read the DTB (board.c): RAM, bootargs, initrd, PL011, PSCI, GIC, timer, PCIe ECAM.
//      Until the PL011 is known, output goes to where QEMU virt has its PL011.
//   2. Take the ZBI: the initrd if /chosen names one, else the one appended to this image
//      (it starts at _end, the 64 KiB boundary right after the "BOOTSHIM" quad).
//      zbi_check() it: a KERNEL_ARM64 item must come first.
//   3. Copy the container header + kernel item to a fresh 64 KiB-aligned block with
//      reserve_memory_size free bytes after it (memory.c keeps clear of the shim, the ZBI,
//      the DTB, the initrd and the firmware's reservations).
//   4. Build the data ZBI in a page-aligned block above the kernel's reserve: every non-kernel
//      item of the booted ZBI (flags and CRC kept), then MEM_CONFIG (RAM from the DT, the
//      DT's reservations as RESERVED, one PERIPHERAL range below the lowest RAM), CMDLINE
//      (bootargs), and KERNEL_DRIVER items PL011_UART, ARM_PSCI, ARM_GIC_V2/V3,
//      ARM_GENERIC_TIMER and the private zhb PCIE_ECAM, then CPU_TOPOLOGY (one PROCESSOR
//      node per /cpus CPU).
//   5. Print "zhb-shim: kernel entry ..., data ZBI ..." and enter the kernel at EL1, MMU and
//      caches off, x0 = data ZBI (start.S phys_boot_kernel).
//
// Any failure prints one line, "zhb-shim: error: <what>", and powers off through PSCI (or
// halts if the DT named no PSCI conduit).

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <arch/arm64/psci.h>
#include <lib/console.h>
#include <lib/string.h>
#include <lib/zbi-format/driver-config.h>
#include <lib/zbi-format/zbi.h>
#include <lib/zbicopy.h>
#include <lib/zbiutil.h>
#include <platform/pcie-ecam.h>
#include <platform/pl011.h>

#include "board.h"
#include "fdt.h"
#include "memory.h"
#include "phys.h"

#define PAGE_SIZE 4096u
// Where the kernel image (container header first) goes: Fuchsia's KERNEL_ALIGN.
#define KERNEL_ALIGN 0x10000u
// Container header + kernel item header in front of the kernel payload.
#define KERNEL_HEADERS (2 * sizeof(zbi_header_t))
#define ITEM_SIZE(payload) (sizeof(zbi_header_t) + ZBI_ALIGN(payload))

// The last 8 bytes of the 64 KiB image (phys.ld places this section there), "BOOTSHIM" in
// memory order. The harness appends the complete ZBI right after it, at _end.
__attribute__((section(".bootshim"), used)) const uint64_t phys_bootshim = 0x4d494853544f4f42ull;
extern const uint8_t _end[];

static uintptr_t shim_uart = PL011_QEMU_VIRT_BASE;
static int shim_psci = -1;  // -1: no conduit known; else the use_hvc value
static bool shim_in_kernel;  // set just before the jump: later exceptions are the kernel's

void lib_putc(char c) {
    pl011_putc(shim_uart, c);
}

// Powers off through PSCI if the DT named a conduit; halts otherwise or if that fails.
__attribute__((noreturn)) static void shim_poweroff(void) {
    if (shim_psci >= 0) {
        psci_call(shim_psci, PSCI_SYSTEM_OFF, 0, 0, 0);
    }
    arm64_halt();
}

// Prints "zhb-shim: error: <formatted message>" and powers off.
__attribute__((noreturn, format(printf, 1, 2))) static void shim_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("zhb-shim: error: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    shim_poweroff();
}

// Reports the exception and powers off; a second exception (say, the PSCI call itself
// faulting) just halts. After the jump, VBAR_EL1 still points here until the kernel installs
// its own vectors: an exception then means a truncated or corrupt kernel image (zbi_kernel_t
// cannot say how long the image should be).
void phys_exception(uint64_t vector, uint64_t esr, uint64_t elr, uint64_t far) {
    static int nested;
    if (nested++ != 0) {
        arm64_halt();
    }
    shim_fail("%s (vector %lu, ESR 0x%lx, ELR 0x%lx, FAR 0x%lx)%s",
              shim_in_kernel ? "exception in the kernel before it installed its own vectors"
                             : "unexpected exception in the shim",
              (unsigned long)vector, (unsigned long)esr, (unsigned long)elr, (unsigned long)far,
              shim_in_kernel ? " (truncated or corrupt kernel image?)" : "");
}

struct copy_ctx {
    void *data;  // the data ZBI being built
    size_t capacity;
    size_t index;  // items seen so far
};

// zbi_for_each callback: appends every item but the first (the kernel) to the data ZBI
// verbatim (flags such as STORAGE_COMPRESSED and the CRC kept).
static int copy_item(const zbi_header_t *hdr, const void *payload, void *arg) {
    struct copy_ctx *ctx = arg;
    if (ctx->index++ == 0) {
        return 0;
    }
    return zbi_append_item(ctx->data, ctx->capacity, hdr, payload);
}

// Bytes the items shim_append_items() adds can take, at most.
static size_t shim_items_size(const struct board *board) {
    return ITEM_SIZE(sizeof(zbi_mem_range_t) * (board->ram_count + board->reserved_count + 1)) +
           ITEM_SIZE(board->bootargs_len) + ITEM_SIZE(sizeof(zbi_dcfg_simple_t)) +
           ITEM_SIZE(sizeof(zbi_dcfg_arm_psci_driver_t)) +
           ITEM_SIZE(sizeof(zbi_dcfg_arm_gic_v2_driver_t) > sizeof(zbi_dcfg_arm_gic_v3_driver_t)
                         ? sizeof(zbi_dcfg_arm_gic_v2_driver_t)
                         : sizeof(zbi_dcfg_arm_gic_v3_driver_t)) +
           ITEM_SIZE(sizeof(zbi_dcfg_arm_generic_timer_driver_t)) +
           ITEM_SIZE(sizeof(zhb_dcfg_pcie_ecam_t)) +
           ITEM_SIZE(sizeof(zbi_topology_node_t) * board->cpu_count);
}

static void shim_append(void *data, size_t capacity, uint32_t type, uint32_t extra,
                        const void *payload, uint32_t length) {
    if (zbi_append(data, capacity, type, extra, payload, length) != 0) {
        shim_fail("data ZBI full appending item type 0x%08x", type);
    }
}

// MPIDR_EL1's affinity fields Aff0-Aff2 (bits 0-23) and Aff3 (bits 32-39).
#define MPIDR_AFFINITY_MASK 0xff00ffffffull

// One PROCESSOR node per device-tree CPU (none without /cpus), the one running this PRIMARY.
static void shim_append_topology(void *data, size_t capacity, const struct board *board) {
    zbi_topology_node_t nodes[BOARD_MAX_CPUS];
    uint64_t self;
    __asm__ volatile("mrs %0, mpidr_el1" : "=r"(self));
    self &= MPIDR_AFFINITY_MASK;
    for (size_t i = 0; i < board->cpu_count; i++) {
        uint64_t mpidr = board->cpu_mpidr[i];
        nodes[i] = (zbi_topology_node_t){
            .entity_type = ZBI_TOPOLOGY_ENTITY_PROCESSOR,
            .parent_index = ZBI_TOPOLOGY_NO_PARENT,
        };
        zbi_topology_processor_t *p = &nodes[i].entity.processor;
        p->logical_ids[0] = (uint16_t)i;
        p->logical_id_count = 1;
        p->flags = (mpidr & MPIDR_AFFINITY_MASK) == self
                       ? ZBI_TOPOLOGY_PROCESSOR_PRIMARY | ZBI_TOPOLOGY_PROCESSOR_INTERRUPT
                       : 0;
        p->architecture = ZBI_TOPOLOGY_ARCH_ARM;
        p->architecture_info.arm = (zbi_topology_arm_info_t){
            .cluster_1_id = (uint8_t)(mpidr >> 8),
            .cluster_2_id = (uint8_t)(mpidr >> 16),
            .cluster_3_id = (uint8_t)(mpidr >> 32),
            .cpu_id = (uint8_t)mpidr,
            .gic_id = (uint8_t)i,
        };
    }
    if (board->cpu_count > 0) {
        shim_append(data, capacity, ZBI_TYPE_CPU_TOPOLOGY, 0, nodes,
                    (uint32_t)(board->cpu_count * sizeof(nodes[0])));
    }
}

// Appends what the kernel learns from the DT: MEM_CONFIG, CMDLINE and the KERNEL_DRIVERs.
static void shim_append_items(void *data, size_t capacity, const struct board *board) {
    zbi_mem_range_t ranges[BOARD_MAX_RAM + BOARD_MAX_RESERVED + 1];
    uint64_t lowest_ram = board->ram[0].base;
    for (size_t i = 0; i < board->ram_count; i++) {
        ranges[i] = (zbi_mem_range_t){
            .paddr = board->ram[i].base,
            .length = board->ram[i].size,
            .type = ZBI_MEM_TYPE_RAM,
        };
        lowest_ram = board->ram[i].base < lowest_ram ? board->ram[i].base : lowest_ram;
    }
    size_t count = board->ram_count;
    for (size_t i = 0; i < board->reserved_count; i++) {
        ranges[count++] = (zbi_mem_range_t){
            .paddr = board->reserved[i].base,
            .length = board->reserved[i].size,
            .type = ZBI_MEM_TYPE_RESERVED,
        };
    }
    // Device registers live below RAM ([0, 0x40000000) on QEMU virt).
    if (lowest_ram != 0) {
        ranges[count++] = (zbi_mem_range_t){
            .paddr = 0,
            .length = lowest_ram,
            .type = ZBI_MEM_TYPE_PERIPHERAL,
        };
    }
    shim_append(data, capacity, ZBI_TYPE_MEM_CONFIG, 0, ranges,
                (uint32_t)(count * sizeof(zbi_mem_range_t)));
    if (board->bootargs_len > 1) {
        shim_append(data, capacity, ZBI_TYPE_CMDLINE, 0, board->bootargs, board->bootargs_len);
    }
    shim_append(data, capacity, ZBI_TYPE_KERNEL_DRIVER, ZBI_KERNEL_DRIVER_PL011_UART, &board->uart,
                sizeof(board->uart));
    shim_append(data, capacity, ZBI_TYPE_KERNEL_DRIVER, ZBI_KERNEL_DRIVER_ARM_PSCI, &board->psci,
                sizeof(board->psci));
    if (board->gic_version == 3) {
        shim_append(data, capacity, ZBI_TYPE_KERNEL_DRIVER, ZBI_KERNEL_DRIVER_ARM_GIC_V3,
                    &board->gic3, sizeof(board->gic3));
    } else if (board->gic_version == 2) {
        shim_append(data, capacity, ZBI_TYPE_KERNEL_DRIVER, ZBI_KERNEL_DRIVER_ARM_GIC_V2,
                    &board->gic2, sizeof(board->gic2));
    }
    if (board->has_timer) {
        shim_append(data, capacity, ZBI_TYPE_KERNEL_DRIVER, ZBI_KERNEL_DRIVER_ARM_GENERIC_TIMER,
                    &board->timer, sizeof(board->timer));
    }
    if (board->has_pcie) {
        shim_append(data, capacity, ZBI_TYPE_KERNEL_DRIVER, ZHB_KERNEL_DRIVER_PCIE_ECAM,
                    &board->pcie, sizeof(board->pcie));
    }
    shim_append_topology(data, capacity, board);
}

// Marks everything the boot loader handed us, and the firmware's reservations, as in use, so
// nothing we allocate overlaps them.
static void shim_reserve_inputs(struct memory *mem, const struct fdt *fdt, uintptr_t dtb,
                                uintptr_t image_base, const struct board *board) {
    int failed =
        memory_reserve(mem, image_base, (uintptr_t)_end - image_base) != 0 ||
        memory_reserve(mem, dtb, fdt->size) != 0 ||
        memory_reserve(mem, board->initrd_start, board->initrd_end - board->initrd_start) != 0;
    for (size_t i = 0; !failed && i < board->reserved_count; i++) {
        failed = memory_reserve(mem, board->reserved[i].base, board->reserved[i].size) != 0;
    }
    if (failed) {
        shim_fail("too many reserved memory ranges");
    }
}

// Reads the DT into *board and points the error path at its UART and PSCI conduit; fails
// unless the board has a UART, PSCI and RAM.
static void shim_read_board(uintptr_t dtb, struct fdt *fdt, struct board *board) {
    const char *why;
    if (fdt_init(fdt, (const void *)dtb, &why) != 0) {
        shim_fail("devicetree at 0x%lx: %s", (unsigned long)dtb, why);
    }
    if (board_from_fdt(fdt, board, &why) != 0) {
        shim_fail("devicetree: %s", why);
    }
    if (board->has_uart) {
        shim_uart = (uintptr_t)board->uart.mmio_phys;
    }
    if (board->has_psci) {
        shim_psci = board->psci.use_hvc;
    }
    if (!board->has_uart) {
        shim_fail("devicetree: no enabled arm,pl011 UART");
    }
    if (!board->has_psci) {
        shim_fail("devicetree: no /psci node with method hvc or smc");
    }
    if (board->ram_count == 0) {
        shim_fail("devicetree: no /memory ranges");
    }
}

// Returns the ZBI to boot (the initrd if there is one, else the appended image) after
// zbi_check() accepted it as a KERNEL_ARM64 image, and marks it in use.
static uintptr_t shim_take_zbi(struct memory *mem, const struct board *board) {
    const char *source = board->initrd_start != 0 ? "initrd" : "appended";
    uintptr_t zbi = board->initrd_start != 0 ? (uintptr_t)board->initrd_start : (uintptr_t)_end;
    // The most bytes the image may span: the rest of its RAM range, or of the initrd.
    uint64_t room = memory_room(mem, zbi);
    if (board->initrd_start != 0) {
        uint64_t initrd_size = board->initrd_end - board->initrd_start;
        room = initrd_size < room ? initrd_size : room;
    }
    if (room < sizeof(zbi_header_t) || zbi % ZBI_ALIGNMENT != 0) {
        shim_fail("%s ZBI at 0x%lx is not 8-byte-aligned RAM", source, (unsigned long)zbi);
    }
    const char *why;
    if (zbi_check((const void *)zbi, (size_t)room, ZBI_TYPE_KERNEL_ARM64, &why) != 0) {
        shim_fail("invalid ZBI: %s (%s image at 0x%lx)", why, source, (unsigned long)zbi);
    }
    if (memory_reserve(mem, zbi, zbi_size((const void *)zbi)) != 0) {
        shim_fail("too many reserved memory ranges");
    }
    return zbi;
}

// Copies the container header and kernel item of the checked ZBI to a KERNEL_ALIGN block
// followed by reserve_memory_size free bytes (the container's length then covers the kernel
// item only). Returns the physical entry point; *end gets the end of the reserve.
static uintptr_t shim_place_kernel(struct memory *mem, uintptr_t zbi, uintptr_t *end) {
    const zbi_header_t *hdr = (const zbi_header_t *)(zbi + sizeof(zbi_header_t));
    const zbi_kernel_t *kernel = (const zbi_kernel_t *)(zbi + KERNEL_HEADERS);
    size_t image = KERNEL_HEADERS + ZBI_ALIGN(hdr->length);
    if (kernel->entry < KERNEL_HEADERS || kernel->entry >= KERNEL_HEADERS + hdr->length ||
        kernel->entry % 4 != 0) {
        shim_fail("kernel entry 0x%lx is not an instruction of the %u-byte kernel item",
                  (unsigned long)kernel->entry, hdr->length);
    }
    uint64_t reserve = kernel->reserve_memory_size;
    if (reserve == 0) {
        shim_fail("kernel reserve_memory_size is 0: no room for the kernel's bss and stack");
    }
    uintptr_t paddr = reserve < UINT64_MAX - image
                          ? (uintptr_t)memory_alloc(mem, image + reserve, KERNEL_ALIGN, 0)
                          : 0;
    if (paddr == 0) {
        shim_fail("no room for the kernel (%lu bytes + %lu reserved)", (unsigned long)image,
                  (unsigned long)reserve);
    }
    memcpy((void *)paddr, (const void *)zbi, image);
    ((zbi_header_t *)paddr)->length = (uint32_t)(image - sizeof(zbi_header_t));
    *end = paddr + image + reserve;
    return paddr + (uintptr_t)kernel->entry;
}

// Builds the data ZBI at a page boundary at or above `min`: the booted ZBI's items but the
// kernel, then the shim's own. Returns its address.
static uintptr_t shim_build_data_zbi(struct memory *mem, uintptr_t zbi, uintptr_t min,
                                     const struct board *board) {
    const zbi_header_t *kernel_hdr = (const zbi_header_t *)(zbi + sizeof(zbi_header_t));
    size_t copied = zbi_size((const void *)zbi) - KERNEL_HEADERS - ZBI_ALIGN(kernel_hdr->length);
    size_t capacity = sizeof(zbi_header_t) + copied + shim_items_size(board);
    uintptr_t data = (uintptr_t)memory_alloc(mem, capacity, PAGE_SIZE, min);
    if (data == 0) {
        shim_fail("no room for a %lu-byte data ZBI", (unsigned long)capacity);
    }
    zbi_init((void *)data);
    struct copy_ctx ctx = {.data = (void *)data, .capacity = capacity, .index = 0};
    if (zbi_for_each((const void *)zbi, copy_item, &ctx) != 0) {
        shim_fail("data ZBI full copying the booted ZBI's items");
    }
    shim_append_items((void *)data, capacity, board);
    return data;
}

void phys_main(uintptr_t dtb, uintptr_t image_base) {
    static struct board board;
    struct fdt fdt;
    shim_read_board(dtb, &fdt, &board);

    struct memory mem;
    memory_init(&mem, &board);
    shim_reserve_inputs(&mem, &fdt, dtb, image_base, &board);

    uintptr_t zbi = shim_take_zbi(&mem, &board);
    uintptr_t kernel_end;
    uintptr_t entry = shim_place_kernel(&mem, zbi, &kernel_end);
    uintptr_t data = shim_build_data_zbi(&mem, zbi, kernel_end, &board);
    printf("zhb-shim: kernel entry 0x%lx, data ZBI 0x%lx (%zu bytes)\n", (unsigned long)entry,
           (unsigned long)data, zbi_size((const void *)data));
    shim_in_kernel = true;
    phys_boot_kernel(entry, data);
}
