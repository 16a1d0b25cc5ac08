// Reads the arm64 boot shim's view of the machine out of the devicetree (see board.h), in one
// walk over the nodes:
//
//   (reservation block) and /reserved-memory/* reg -> reserved ranges
//   /memory*           device_type "memory", not disabled (secure-only RAM): reg -> RAM
//   /chosen            bootargs, linux,initrd-start, linux,initrd-end
//   /psci              method "hvc" | "smc" -> ARM_PSCI use_hvc
//   /cpus/*            device_type "cpu", not disabled: reg (MPIDR affinity) -> CPU_TOPOLOGY
//   arm,pl011          reg, interrupts -> PL011_UART {mmio_phys, irq}
//   arm,gic-v3         reg[0] GICD, reg[1] GICR -> ARM_GIC_V3
//   arm,cortex-a15-gic / arm,gic-400: reg GICD, GICC[, GICH, GICV] -> ARM_GIC_V2,
//     with an arm,gic-v2m-frame child as the MSI frame
//   arm,armv8-timer    interrupts (secure phys, phys, virt, hyp PPIs) -> ARM_GENERIC_TIMER
//   pci-host-ecam-generic  reg (ECAM), bus-range, ranges (32-bit memory) -> zhb PCIE_ECAM
//
// Interrupt specifiers are the GIC's three cells <type number flags>: type 0 is an SPI, type 1
// a PPI, and `number` counts from the first interrupt id of that type.

#include "board.h"

#include <lib/string.h>

#define GIC_SPI_BASE 32u       // interrupt id of SPI 0
#define GIC_PPI_BASE 16u       // interrupt id of PPI 0
#define GIC_IRQ_SPEC_SIZE 12u  // bytes of one <type number flags> specifier
// GICv3 redistributor frames per CPU (RD_base + SGI_base, 64 KiB each) when the DT has no
// redistributor-stride property.
#define GICV3_DEFAULT_STRIDE 0x20000u
// PCI `ranges` space code (bits 25:24 of the first child cell) of 32-bit memory space.
#define PCI_SPACE_MEM32 2u

// The interrupt id of GIC interrupt specifier `index` in the node's `interrupts`, or 0.
static uint32_t gic_irq(const struct fdt_node *node, uint32_t index) {
    uint32_t len;
    const uint8_t *irqs = fdt_prop(node, "interrupts", &len);
    if (irqs == NULL || index >= len / GIC_IRQ_SPEC_SIZE) {
        return 0;
    }
    const uint8_t *spec = irqs + GIC_IRQ_SPEC_SIZE * index;
    uint32_t type = (uint32_t)fdt_read_cells(spec, 1);
    uint32_t number = (uint32_t)fdt_read_cells(spec + 4, 1);
    return number + (type == 1 ? GIC_PPI_BASE : GIC_SPI_BASE);
}

static int node_disabled(const struct fdt_node *node) {
    uint32_t len;
    const char *status = fdt_prop(node, "status", &len);
    return status != NULL && len >= 8 && memcmp(status, "disabled", 8) == 0;
}

struct board_walk {
    struct board *board;
    int in_reserved_memory;  // the last depth-1 node was /reserved-memory
    int in_cpus;             // the last depth-1 node was /cpus
    const char *why;         // why the walk stopped, when a visitor stops it
};

static int add_reserved(struct board_walk *walk, uint64_t base, uint64_t size) {
    struct board *board = walk->board;
    if (board->reserved_count == BOARD_MAX_RESERVED) {
        walk->why = "more memory reservations than BOARD_MAX_RESERVED";
        return -1;
    }
    board->reserved[board->reserved_count].base = base;
    board->reserved[board->reserved_count].size = size;
    board->reserved_count++;
    return 0;
}

// A /reserved-memory child: each reg entry is kept away from. (Dynamic reservations, with a
// size but no reg, are for an OS allocator to place; they constrain nothing yet.)
static int visit_reserved(const struct fdt_node *node, struct board_walk *walk) {
    uint64_t base, size;
    for (uint32_t i = 0; fdt_reg(node, i, &base, &size) == 0; i++) {
        if (size != 0 && add_reserved(walk, base, size) != 0) {
            return -1;
        }
    }
    return 0;
}

static void visit_memory(const struct fdt_node *node, struct board *board) {
    uint64_t base, size;
    for (uint32_t i = 0; board->ram_count < BOARD_MAX_RAM && fdt_reg(node, i, &base, &size) == 0;
         i++) {
        if (size != 0) {
            board->ram[board->ram_count].base = base;
            board->ram[board->ram_count].size = size;
            board->ram_count++;
        }
    }
}

// A /chosen linux,initrd-* value: one or two cells, whichever the property's length says.
static uint64_t chosen_addr(const struct fdt_node *node, const char *name) {
    uint32_t len;
    const void *value = fdt_prop(node, name, &len);
    return value != NULL && (len == 4 || len == 8) ? fdt_read_cells(value, len / 4) : 0;
}

static void visit_chosen(const struct fdt_node *node, struct board *board) {
    uint32_t len;
    const char *bootargs = fdt_prop(node, "bootargs", &len);
    if (bootargs != NULL && len > 0 && bootargs[len - 1] == '\0') {
        board->bootargs = bootargs;
        board->bootargs_len = len;
    }
    board->initrd_start = chosen_addr(node, "linux,initrd-start");
    board->initrd_end = chosen_addr(node, "linux,initrd-end");
    if (board->initrd_end <= board->initrd_start) {
        board->initrd_start = board->initrd_end = 0;
    }
}

static void visit_psci(const struct fdt_node *node, struct board *board) {
    uint32_t len;
    const char *method = fdt_prop(node, "method", &len);
    if (method == NULL || len != 4) {
        return;
    }
    if (memcmp(method, "hvc", 4) == 0 || memcmp(method, "smc", 4) == 0) {
        board->has_psci = 1;
        board->psci.use_hvc = method[0] == 'h';
    }
}

// A /cpus child with device_type "cpu": its reg is the MPIDR affinity (#address-cells of
// /cpus, 1 or 2 cells).
static void visit_cpu(const struct fdt_node *node, struct board *board) {
    uint32_t len;
    const uint8_t *reg = fdt_prop(node, "reg", &len);
    if (reg == NULL || node->addr_cells < 1 || node->addr_cells > 2 ||
        len < 4 * node->addr_cells || node_disabled(node) ||
        board->cpu_count == BOARD_MAX_CPUS) {
        return;
    }
    board->cpu_mpidr[board->cpu_count++] = fdt_read_cells(reg, node->addr_cells);
}

static void visit_uart(const struct fdt_node *node, struct board *board) {
    uint64_t base, size;
    if (board->has_uart || node_disabled(node) || fdt_reg(node, 0, &base, &size) != 0) {
        return;
    }
    board->has_uart = 1;
    board->uart.mmio_phys = base;
    board->uart.irq = gic_irq(node, 0);
}

static void visit_gic_v3(const struct fdt_node *node, struct board *board) {
    uint64_t gicd, gicr, size;
    if (fdt_reg(node, 0, &gicd, &size) != 0 || fdt_reg(node, 1, &gicr, &size) != 0) {
        return;
    }
    uint64_t base = gicd < gicr ? gicd : gicr;
    uint32_t len;
    const void *stride = fdt_prop(node, "redistributor-stride", &len);
    board->gic_version = 3;
    board->gic3.mmio_phys = base;
    board->gic3.gicd_offset = gicd - base;
    board->gic3.gicr_offset = gicr - base;
    board->gic3.gicr_stride =
        stride != NULL && len == 8 ? fdt_read_cells(stride, 2) : GICV3_DEFAULT_STRIDE;
}

static void visit_gic_v2(const struct fdt_node *node, struct board *board) {
    uint64_t regs[4] = {0, 0, 0, 0};
    uint64_t size;
    uint32_t count = 0;
    while (count < 4 && fdt_reg(node, count, &regs[count], &size) == 0) {
        count++;
    }
    if (count < 2) {
        return;
    }
    uint64_t base = regs[0];
    for (uint32_t i = 1; i < count; i++) {
        base = regs[i] < base ? regs[i] : base;
    }
    board->gic_version = 2;
    board->gic2.mmio_phys = base;
    board->gic2.gicd_offset = regs[0] - base;
    board->gic2.gicc_offset = regs[1] - base;
    board->gic2.gich_offset = count > 2 ? regs[2] - base : 0;
    board->gic2.gicv_offset = count > 3 ? regs[3] - base : 0;
}

static void visit_gic_v2m(const struct fdt_node *node, struct board *board) {
    uint64_t base, size;
    if (board->gic_version == 2 && fdt_reg(node, 0, &base, &size) == 0) {
        board->gic2.msi_frame_phys = base;
        board->gic2.use_msi = 1;
    }
}

static void visit_timer(const struct fdt_node *node, struct board *board) {
    uint32_t len;
    const void *freq = fdt_prop(node, "clock-frequency", &len);
    board->has_timer = 1;
    board->timer.irq_sphys = gic_irq(node, 0);
    board->timer.irq_phys = gic_irq(node, 1);
    board->timer.irq_virt = gic_irq(node, 2);
    board->timer.freq_override = freq != NULL && len == 4 ? (uint32_t)fdt_read_cells(freq, 1) : 0;
}

// The generic ECAM host bridge: `ranges` entries are <child (own_addr_cells) parent
// (addr_cells) size (own_size_cells)>; the child address's first cell carries the space code.
static void visit_pcie(const struct fdt_node *node, struct board *board) {
    uint64_t ecam, ecam_size;
    if (board->has_pcie || fdt_reg(node, 0, &ecam, &ecam_size) != 0 || node->own_addr_cells != 3 ||
        node->addr_cells > 2 || node->own_size_cells > 2) {
        return;
    }
    board->has_pcie = 1;
    board->pcie.ecam_phys = ecam;
    board->pcie.ecam_size = ecam_size;
    uint32_t len;
    const uint8_t *bus_range = fdt_prop(node, "bus-range", &len);
    board->pcie.bus_start =
        bus_range != NULL && len == 8 ? (uint8_t)fdt_read_cells(bus_range, 1) : 0;
    board->pcie.bus_end = bus_range != NULL && len == 8 ? (uint8_t)fdt_read_cells(bus_range + 4, 1)
                                                        : (uint8_t)((ecam_size >> 20) - 1);
    const uint8_t *ranges = fdt_prop(node, "ranges", &len);
    uint32_t entry = 4 * (3 + node->addr_cells + node->own_size_cells);
    for (uint32_t off = 0; ranges != NULL && off + entry <= len; off += entry) {
        uint32_t space = ((uint32_t)fdt_read_cells(ranges + off, 1) >> 24) & 3;
        if (space == PCI_SPACE_MEM32) {
            board->pcie.mmio32_pci = fdt_read_cells(ranges + off + 4, 2);
            board->pcie.mmio32_cpu = fdt_read_cells(ranges + off + 12, node->addr_cells);
            board->pcie.mmio32_size =
                fdt_read_cells(ranges + off + 12 + 4 * node->addr_cells, node->own_size_cells);
            break;
        }
    }
}

static int visit(const struct fdt_node *node, void *ctx) {
    struct board_walk *walk = ctx;
    struct board *board = walk->board;
    if (node->depth == 1) {
        walk->in_reserved_memory = fdt_name_is(node, "reserved-memory");
        walk->in_cpus = fdt_name_is(node, "cpus");
    }
    uint32_t len;
    const char *device_type = fdt_prop(node, "device_type", &len);
    if (node->depth == 2 && walk->in_reserved_memory) {
        return visit_reserved(node, walk);
    }
    if (node->depth == 2 && walk->in_cpus && device_type != NULL && len == 4 &&
        memcmp(device_type, "cpu", 4) == 0) {
        visit_cpu(node, board);
        return 0;
    }
    if (node->depth == 1 && device_type != NULL && len == 7 &&
        memcmp(device_type, "memory", 7) == 0 && !node_disabled(node)) {
        visit_memory(node, board);
    } else if (node->depth == 1 && fdt_name_is(node, "chosen")) {
        visit_chosen(node, board);
    } else if (node->depth == 1 && fdt_name_is(node, "psci")) {
        visit_psci(node, board);
    } else if (fdt_is_compatible(node, "arm,pl011")) {
        visit_uart(node, board);
    } else if (fdt_is_compatible(node, "arm,gic-v3")) {
        visit_gic_v3(node, board);
    } else if (fdt_is_compatible(node, "arm,cortex-a15-gic") ||
               fdt_is_compatible(node, "arm,gic-400")) {
        visit_gic_v2(node, board);
    } else if (fdt_is_compatible(node, "arm,gic-v2m-frame")) {
        visit_gic_v2m(node, board);
    } else if (fdt_is_compatible(node, "arm,armv8-timer")) {
        visit_timer(node, board);
    } else if (fdt_is_compatible(node, "pci-host-ecam-generic")) {
        visit_pcie(node, board);
    }
    return 0;
}

int board_from_fdt(const struct fdt *fdt, struct board *board, const char **why) {
    memset(board, 0, sizeof(*board));
    struct board_walk walk = {.board = board, .in_reserved_memory = 0, .why = NULL};
    uint64_t base, size;
    for (uint32_t i = 0; fdt_rsv(fdt, i, &base, &size) == 0; i++) {
        if (add_reserved(&walk, base, size) != 0) {
            *why = walk.why;
            return -1;
        }
    }
    if (fdt_walk(fdt, visit, &walk, why) != 0) {
        *why = walk.why != NULL ? walk.why : *why;
        return -1;
    }
    return 0;
}
