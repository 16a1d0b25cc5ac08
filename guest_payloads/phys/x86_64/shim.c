// PVH boot shim: boots the ZBI QEMU loaded as -initrd on the x86-64 ZBI boot protocol.
//
// Physical memory while it runs and at the jump (QEMU q35, -m 256M shown):
//
//   0x100000     kernel: container header + the first KERNEL_X64 item, copied from the ZBI,
//                then reserve_memory_size bytes
//   0x1000000    this shim (phys.ld): code, page tables, stack     [__phys_start, __phys_end)
//   data ZBI     page aligned, at max(kernel end + reserve, __phys_end): every item of the
//                booted ZBI after the first (later KERNEL_X64 and STORAGE_KERNEL items
//                included: chain-loading kernels boot those), then MEM_CONFIG, CMDLINE,
//                KERNEL_DRIVER(I8250_PIO_UART), ACPI_RSDP
//   ~top of RAM  the -initrd ZBI as QEMU placed it (read only)
//
// Both x86-64 entry conventions of zbi_kernel_t.entry are accepted, told apart by Fuchsia's
// own rule (IsLegacyEntryAddress in zircon/kernel/phys/trampoline-boot.cc): an entry above
// 1 MiB is the legacy absolute physical address of a kernel that must be loaded at 1 MiB (our
// kernel, and the first kernel of Fuchsia's x86-boot-shim-tests); otherwise it is an offset
// from the container header's load address (arch::ZbiBoot in zircon/kernel/lib/arch/x86/
// include/lib/arch/zbi-boot.h). Loading at 1 MiB is valid for both. The jump follows
// arch::ZbiBootRaw: 64-bit mode on the shim's 1:1 map of the low 4 GiB, %rsi = data ZBI,
// %rsp = %rbp = 0, interrupts off, direction flag clear.
//
// Console: COM1, written directly. Any failure prints one "zhb-shim: error: <what>" line and
// powers the machine off (platform/pc: ACPI S5, then isa-debug-exit). So does a CPU exception
// in the shim, or in the kernel before it has an IDT of its own (exceptions.c: a truncated
// kernel payload faults there; shim_poison_free_ram keeps the handler reachable).
#include <stdarg.h>
#include <stdbool.h>

#include <lib/console.h>
#include <lib/string.h>
#include <lib/zbi-format/driver-config.h>
#include <lib/zbicopy.h>
#include <lib/zbiutil.h>
#include <platform/pc.h>

#include "phys.h"

#define KERNEL_LOAD_PADDR 0x100000u  // also TrampolineBoot::kLegacyLoadAddress
#define PAGE_SIZE 4096u
#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1))
#define SHIM_MAX_MEM_RANGES 64
#define SHIM_CMDLINE_MAX 4096
#define ITEM_SIZE(payload) (sizeof(zbi_header_t) + ZBI_ALIGN((uint64_t)(payload)))

static uint64_t shim_rsdp;  // for the ACPI_RSDP item and for power-off (0: search)
static bool shim_in_kernel;  // set just before the jump: later exceptions are the kernel's
static zbi_mem_range_t shim_mem[SHIM_MAX_MEM_RANGES];

void lib_putc(char c) {
    pc_uart_putc(c);
}

// Prints "zhb-shim: error: <fmt...>" and powers off.
__attribute__((noreturn, format(printf, 1, 2))) static void shim_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("zhb-shim: error: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    pc_uart_flush();
    pc_power_off(shim_rsdp);
}

static const char *const exception_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "coprocessor overrun",
    "#TS", "#NP", "#SS", "#GP", "#PF", "reserved", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
    "reserved", "reserved", "reserved", "reserved", "reserved", "reserved", "#HV", "#VC",
    "#SX", "reserved",
};

// A CPU exception in the shim, or in the kernel before it installed its own IDT (its image is
// then truncated or corrupt: zbi_kernel_t cannot say how long it should be). A second
// exception while reporting the first just halts.
void phys_exception(uint64_t vector, uint64_t error_code, const uint64_t *frame) {
    static int nested;
    if (nested++ != 0) {
        for (;;) {
            __asm__ volatile("cli; hlt");
        }
    }
    uint64_t cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    shim_fail("%s: vector %llu (%s), error code 0x%llx, RIP 0x%llx, CR2 0x%llx%s",
              shim_in_kernel ? "exception in the kernel before it installed its own handlers"
                             : "unexpected exception in the shim",
              (unsigned long long)vector, exception_names[vector % 32],
              (unsigned long long)error_code, (unsigned long long)frame[0],
              (unsigned long long)cr2,
              shim_in_kernel ? " (truncated or corrupt kernel image?)" : "");
}

// Converts the PVH (E820-style) memory map into shim_mem; returns the number of ranges.
static size_t shim_memory_map(const struct hvm_start_info *si) {
    if (si->version < 1 || si->memmap_paddr == 0 || si->memmap_entries == 0) {
        shim_fail("no memory map in hvm_start_info (version %u)", si->version);
    }
    if (si->memmap_entries > SHIM_MAX_MEM_RANGES) {
        shim_fail("memory map has %u ranges, more than %d", si->memmap_entries,
                  SHIM_MAX_MEM_RANGES);
    }
    const struct hvm_memmap_entry *e = (const void *)(uintptr_t)si->memmap_paddr;
    for (uint32_t i = 0; i < si->memmap_entries; i++) {
        shim_mem[i] = (zbi_mem_range_t){
            .paddr = e[i].addr,
            .length = e[i].size,
            .type = e[i].type == HVM_MEMMAP_TYPE_RAM ? ZBI_MEM_TYPE_RAM : ZBI_MEM_TYPE_RESERVED,
        };
    }
    return si->memmap_entries;
}

// Returns true if [start, end) lies inside one RAM range of the memory map.
static bool shim_is_ram(size_t count, uint64_t start, uint64_t end) {
    for (size_t i = 0; i < count; i++) {
        const zbi_mem_range_t *r = &shim_mem[i];
        if (r->type == ZBI_MEM_TYPE_RAM && start >= r->paddr && end <= r->paddr + r->length) {
            return true;
        }
    }
    return false;
}

static bool overlaps(uint64_t a_start, uint64_t a_end, uint64_t b_start, uint64_t b_end) {
    return a_start < b_end && b_start < a_end;
}

struct copy_ctx {
    void *data_zbi;
    size_t capacity;
    size_t index;  // items seen so far
};

// zbi_item_fn: copies every item but the first (the kernel being booted) into the data ZBI,
// flags and CRC intact; later kernel items are data for a chain-loading kernel.
static int shim_copy_item(const zbi_header_t *hdr, const void *payload, void *ctx) {
    struct copy_ctx *c = ctx;
    if (c->index++ == 0) {
        return 0;
    }
    return zbi_append_item(c->data_zbi, c->capacity, hdr, payload);
}

// Everything the shim decides before it writes any memory outside its own image.
struct boot_plan {
    const void *zbi;  // the -initrd ZBI, checked by zbi_check
    uint64_t zbi_start, zbi_end;
    const zbi_kernel_t *kernel;  // inside the -initrd ZBI
    uint64_t entry;              // physical entry address
    uint64_t kernel_copy;        // bytes copied to KERNEL_LOAD_PADDR: both headers + payload
    uint64_t reserve_end;        // end of the kernel image plus reserve_memory_size
    size_t mem_count;            // ranges in shim_mem
    const char *cmdline;         // the -append string (cmdline_len 0 if none)
    size_t cmdline_len;
    uint64_t data_start;  // the data ZBI: page aligned, data_size bytes
    uint64_t data_size;
};

// Finds the -initrd ZBI and checks it is a bootable x86-64 image.
static void shim_find_zbi(const struct hvm_start_info *si, struct boot_plan *p) {
    if (si->nr_modules < 1 || si->modlist_paddr == 0) {
        shim_fail("no ZBI: boot with -initrd <image.zbi>");
    }
    const struct hvm_modlist_entry *mod = (const void *)(uintptr_t)si->modlist_paddr;
    p->zbi = (const void *)(uintptr_t)mod->paddr;
    const char *why = NULL;
    if (zbi_check(p->zbi, mod->size, ZBI_TYPE_KERNEL_X64, &why) != 0) {
        shim_fail("invalid ZBI: %s", why);
    }
    p->zbi_start = mod->paddr;
    p->zbi_end = p->zbi_start + zbi_size(p->zbi);
}

// The physical entry address of a kernel loaded at KERNEL_LOAD_PADDR (see the top comment).
static uint64_t shim_entry_paddr(uint64_t entry) {
    return entry > KERNEL_LOAD_PADDR ? entry : KERNEL_LOAD_PADDR + entry;
}

// Checks the kernel header: the entry lies in the image past zbi_kernel_t, the kernel asks
// for a reserve, and the image plus its reserve fit in RAM between KERNEL_LOAD_PADDR and the
// shim, clear of the ZBI.
static void shim_place_kernel(struct boot_plan *p) {
    const zbi_header_t *hdr = (const zbi_header_t *)p->zbi + 1;
    p->kernel = (const zbi_kernel_t *)(hdr + 1);
    p->kernel_copy = 2 * sizeof(zbi_header_t) + ZBI_ALIGN((uint64_t)hdr->length);
    uint64_t image_start = KERNEL_LOAD_PADDR + 2 * sizeof(zbi_header_t);
    uint64_t image_end = image_start + hdr->length;
    p->entry = shim_entry_paddr(p->kernel->entry);
    if (p->entry < image_start + sizeof(zbi_kernel_t) || p->entry >= image_end) {
        shim_fail("kernel entry 0x%llx (physical 0x%llx) outside the %u-byte kernel image "
                  "at [0x%llx, 0x%llx): truncated kernel item?",
                  (unsigned long long)p->kernel->entry, (unsigned long long)p->entry,
                  hdr->length, (unsigned long long)image_start, (unsigned long long)image_end);
    }
    if (p->kernel->reserve_memory_size == 0) {
        shim_fail("kernel reserve_memory_size is 0: no room for the kernel's bss and stack");
    }
    uint64_t phys_start = (uintptr_t)__phys_start;
    if (image_end > phys_start || p->kernel->reserve_memory_size > phys_start - image_end) {
        shim_fail("kernel image and reserve_memory_size 0x%llx reach into the shim at 0x%llx",
                  (unsigned long long)p->kernel->reserve_memory_size,
                  (unsigned long long)phys_start);
    }
    p->reserve_end = image_end + p->kernel->reserve_memory_size;
    if (!shim_is_ram(p->mem_count, KERNEL_LOAD_PADDR, p->reserve_end) ||
        overlaps(KERNEL_LOAD_PADDR, p->reserve_end, p->zbi_start, p->zbi_end)) {
        shim_fail("no room for the kernel at 0x%x", KERNEL_LOAD_PADDR);
    }
}

// Sizes the data ZBI exactly and places it at the first page past both the kernel's reserve
// and the shim, in RAM and clear of the ZBI.
static void shim_place_data_zbi(const struct hvm_start_info *si, struct boot_plan *p) {
    p->cmdline = (const char *)(uintptr_t)si->cmdline_paddr;
    p->cmdline_len = p->cmdline != NULL ? strnlen(p->cmdline, SHIM_CMDLINE_MAX) : 0;
    p->data_size = sizeof(zbi_header_t) + zbi_size(p->zbi) - p->kernel_copy +
                   ITEM_SIZE(p->mem_count * sizeof(zbi_mem_range_t)) +
                   (p->cmdline_len > 0 ? ITEM_SIZE(p->cmdline_len) : 0) +
                   ITEM_SIZE(sizeof(zbi_dcfg_simple_pio_t)) +
                   (shim_rsdp != 0 ? ITEM_SIZE(sizeof(shim_rsdp)) : 0);
    uint64_t phys_end = (uintptr_t)__phys_end;
    p->data_start = PAGE_ALIGN(p->reserve_end > phys_end ? p->reserve_end : phys_end);
    uint64_t data_end = p->data_start + p->data_size;
    if (!shim_is_ram(p->mem_count, p->data_start, data_end) ||
        overlaps(p->data_start, data_end, p->zbi_start, p->zbi_end)) {
        shim_fail("no room for the 0x%llx-byte data ZBI at 0x%llx",
                  (unsigned long long)p->data_size, (unsigned long long)p->data_start);
    }
}

// Writes the data ZBI: the booted image's non-kernel items, then MEM_CONFIG, CMDLINE,
// KERNEL_DRIVER(I8250_PIO_UART) and ACPI_RSDP.
static void shim_build_data_zbi(const struct boot_plan *p) {
    void *data = (void *)(uintptr_t)p->data_start;
    size_t cap = p->data_size;
    zbi_init(data);
    struct copy_ctx copy = {.data_zbi = data, .capacity = cap, .index = 0};
    zbi_dcfg_simple_pio_t uart = {.base = PC_COM1_PORT, .irq = PC_COM1_IRQ};
    uint32_t mem_bytes = (uint32_t)(p->mem_count * sizeof(zbi_mem_range_t));
    if (zbi_for_each(p->zbi, shim_copy_item, &copy) != 0 ||
        zbi_append(data, cap, ZBI_TYPE_MEM_CONFIG, 0, shim_mem, mem_bytes) != 0 ||
        (p->cmdline_len > 0 &&
         zbi_append(data, cap, ZBI_TYPE_CMDLINE, 0, p->cmdline, (uint32_t)p->cmdline_len) != 0) ||
        zbi_append(data, cap, ZBI_TYPE_KERNEL_DRIVER, ZBI_KERNEL_DRIVER_I8250_PIO_UART, &uart,
                   sizeof(uart)) != 0 ||
        (shim_rsdp != 0 &&
         zbi_append(data, cap, ZBI_TYPE_ACPI_RSDP, 0, &shim_rsdp, sizeof(shim_rsdp)) != 0)) {
        shim_fail("data ZBI larger than planned (shim bug)");
    }
}

// Fills the free RAM between the kernel image and the shim (the kernel's reserve and beyond:
// memory whose contents the kernel must not expect) with copies of one page-table entry that
// points at the shim's identity PDPT. A kernel whose payload was cut short then finds its
// missing page tables made of that entry: loaded as CR3, they still map the low 4 GiB 1:1
// (every PML4 slot does), so its first fault reaches phys_exception and the console says what
// happened instead of the CPU triple-faulting in silence. An intact kernel never reads it.
static void shim_poison_free_ram(uint64_t start, uint64_t end) {
    uint64_t entry = (uintptr_t)phys_identity_pdpt | 0x3;  // present, writable
    uint64_t count = (end - start) / sizeof(uint64_t);
    __asm__ volatile("rep stosq"
                     : "+D"(start), "+c"(count)
                     : "a"(entry)
                     : "memory");
}

void phys_main(uint32_t start_info) {
    pc_uart_init(PC_COM1_PORT);
    phys_install_exception_handlers();
    printf("\n");  // the firmware leaves its last line ("Booting from ROM..") unterminated
    const struct hvm_start_info *si = (const void *)(uintptr_t)start_info;
    if (si->magic != HVM_START_MAGIC) {
        shim_fail("bad hvm_start_info magic 0x%x: not started by a PVH loader", si->magic);
    }
    shim_rsdp = pc_acpi_find_rsdp(si->rsdp_paddr);

    struct boot_plan plan = {0};
    shim_find_zbi(si, &plan);
    plan.mem_count = shim_memory_map(si);
    shim_place_kernel(&plan);
    shim_place_data_zbi(si, &plan);
    shim_build_data_zbi(&plan);

    // Container header + kernel item at 1 MiB, the container trimmed to just that item.
    memmove((void *)(uintptr_t)KERNEL_LOAD_PADDR, plan.zbi, plan.kernel_copy);
    ((zbi_header_t *)(uintptr_t)KERNEL_LOAD_PADDR)->length =
        (uint32_t)(plan.kernel_copy - sizeof(zbi_header_t));
    uint64_t free_start = KERNEL_LOAD_PADDR + plan.kernel_copy;
    if (shim_is_ram(plan.mem_count, free_start, (uintptr_t)__phys_start)) {
        shim_poison_free_ram(free_start, (uintptr_t)__phys_start);
    }

    printf("zhb-shim: kernel entry 0x%llx, data ZBI 0x%llx (%llu bytes)\n",
           (unsigned long long)plan.entry, (unsigned long long)plan.data_start,
           (unsigned long long)plan.data_size);
    pc_uart_flush();
    shim_in_kernel = true;
    phys_enter_kernel(plan.entry, plan.data_start);
}
