// Exception reporting for the x86-64 boot shim: an IDT whose 32 exception gates run on a
// stack of their own (IST1 of the shim's TSS), so that a fault in the shim, or in the kernel
// before it has installed handlers of its own, prints one "zhb-shim: error: ..." line and
// powers off instead of triple-faulting silently. A truncated or otherwise corrupt kernel
// image fails that way: the shim cannot tell from zbi_kernel_t how long the image should be.
// The arm64 shim gets the same from its VBAR_EL1 vectors (phys/arm64/vectors.S).
#include <stdint.h>

#include <arch/x86_64/tss.h>

#include "phys.h"

#define CODE64_SEL 0x08  // start.S's GDT: null, 64-bit code, data; the TSS comes after them
#define TSS_SEL 0x18
#define EXCEPTION_VECTORS 32
#define STUB_SIZE 16  // exceptions.S aligns every stub to 16 bytes
#define IST_STACK_SIZE 8192
#define GATE_INTERRUPT 0x8e  // present, DPL 0, 64-bit interrupt gate

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "a long-mode IDT gate is 16 bytes");


struct __attribute__((packed)) table_pointer {
    uint16_t limit;
    uint64_t base;
};

extern const char phys_exception_stubs[];

static struct idt_gate idt[EXCEPTION_VECTORS];
static struct x86_tss tss;
static uint64_t gdt[5];
static uint8_t ist_stack[IST_STACK_SIZE] __attribute__((aligned(16)));

void phys_install_exception_handlers(void) {
    // The same code and data descriptors as start.S's GDT, plus a 16-byte TSS descriptor.
    uint64_t base = (uintptr_t)&tss;
    uint64_t limit = sizeof(tss) - 1;
    gdt[0] = 0;
    gdt[1] = 0x00af9a000000ffffull;  // CODE64_SEL
    gdt[2] = 0x00cf92000000ffffull;  // data
    gdt[3] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |  // available TSS
             ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
    gdt[4] = base >> 32;
    tss.ist[0] = (uintptr_t)(ist_stack + sizeof(ist_stack));
    tss.iomap_base = sizeof(tss);
    for (unsigned v = 0; v < EXCEPTION_VECTORS; v++) {
        uint64_t stub = (uintptr_t)phys_exception_stubs + v * STUB_SIZE;
        idt[v] = (struct idt_gate){
            .offset_low = (uint16_t)stub,
            .selector = CODE64_SEL,
            .ist = 1,
            .type = GATE_INTERRUPT,
            .offset_mid = (uint16_t)(stub >> 16),
            .offset_high = (uint32_t)(stub >> 32),
        };
    }
    struct table_pointer gdtr = {sizeof(gdt) - 1, (uintptr_t)gdt};
    struct table_pointer idtr = {sizeof(idt) - 1, (uintptr_t)idt};
    __asm__ volatile("lgdt %0" ::"m"(gdtr) : "memory");
    __asm__ volatile("ltr %w0" ::"r"(TSS_SEL) : "memory");
    __asm__ volatile("lidt %0" ::"m"(idtr) : "memory");
}
