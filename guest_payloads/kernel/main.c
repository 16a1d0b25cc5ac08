// Generic kernel entry. arch/<arch>/start.S calls kernel_main with a stack and a zeroed bss:
//
//   arch_init (exception table) -> bootinfo_parse + platform_init (console) -> banner ->
//   pmm_init -> thread_init (heap, idle thread) -> platform_init_interrupts -> timer_init ->
//   interrupts on -> kernel.selftest: selftest_run, else userboot_run (the first user process,
//   waited for until every process of the root job has exited) -> power off
//
// Console lines (the harness matches the first four exactly):
//   zhb kernel: booting on <arch>
//   zhb kernel: cmdline: <CMDLINE items joined by spaces>
//   (zhb kernel: warning: command line truncated: <N> bytes dropped (limit 1023), if so)
//   zhb kernel: memory: <N> MiB RAM in <K> ranges      (K counts the RAM ranges)
//   zhb kernel: powering off
//   zhb kernel: pmm: <F> of <T> pages free (<M> MiB) in <A> arenas
//   zhb kernel: <N> CPUs online           (after the secondaries were started, kernel/smp.c)
// Command-line words: kernel.test.panic panics right after the banner; kernel.test.fault
// executes a trap instruction there (the exception handler must panic naming it);
// kernel.memwatch prints memory and live-object counts every 10 s and at power-off
// (kernel/memwatch.c);
// kernel.selftest runs the KTAP self-tests (kernel/selftest.c) instead of userboot;
// kernel.test.stack-overflow runs a thread that overflows its stack (kernel/vm/kstack.c: the
// guard page must make it panic naming the thread).
#include <stdbool.h>

#include <kernel/arch.h>
#include <kernel/bootinfo.h>
#include <kernel/kstack.h>
#include <kernel/memwatch.h>
#include <kernel/bootinfo_parse.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/platform.h>
#include <kernel/pmm.h>
#include <kernel/selftest.h>
#include <kernel/smp.h>
#include <kernel/thread.h>
#include <kernel/timer.h>
#include <kernel/userboot.h>
#include <lib/console.h>
#include <lib/string.h>

#define MIB (1024u * 1024u)

static struct boot_info boot_info;

// lib/printf's sink: the platform console ("\r\n" is already added by printf).
void lib_putc(char c) {
    platform_putc(c);
}

// Returns true if `word` is one of the space-separated words of `cmdline` (<kernel/bootinfo.h>).
bool cmdline_has_word(const char *cmdline, const char *word) {
    size_t len = strlen(word);
    for (const char *p = cmdline; *p != '\0';) {
        while (*p == ' ') {
            p++;
        }
        const char *end = strchr(p, ' ');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, word, len) == 0) {
            return true;
        }
        p += n;
    }
    return false;
}

// Prints the RAM total (whole MiB) and the number of RAM ranges of the memory map.
static void print_memory(const struct boot_info *bi) {
    uint64_t ram = 0;
    size_t ranges = 0;
    for (size_t i = 0; i < bi->mem_count; i++) {
        if (bi->mem[i].type == ZBI_MEM_TYPE_RAM) {
            ram += bi->mem[i].length;
            ranges++;
        }
    }
    printf("zhb kernel: memory: %llu MiB RAM in %zu ranges\n", (unsigned long long)(ram / MIB),
           ranges);
}

// Prints the page allocator's counts.
static void print_pmm(void) {
    struct pmm_stats s = pmm_stats();
    printf("zhb kernel: pmm: %zu of %zu pages free (%zu MiB) in %zu arenas\n", s.free_pages,
           s.total_pages, s.free_pages / (MIB / PAGE_SIZE), s.ranges);
}

void kernel_main(uintptr_t zbi_paddr) {
    percpu_init_boot();
    arch_init();
    const char *why = NULL;
    int parsed = bootinfo_parse(&boot_info, zbi_paddr, &why);
    if (platform_init(&boot_info) != 0) {
        // No console to print on; the panic still signals the hypervisor and powers off.
        panic("kernel_main: no usable console in the data ZBI");
    }
    if (parsed != 0) {
        panic("bootinfo_parse: %s", why);
    }
    printf("zhb kernel: booting on %s\n", platform_arch_name);
    printf("zhb kernel: cmdline: %s\n", boot_info.cmdline);
    if (boot_info.cmdline_dropped != 0) {
        printf("zhb kernel: warning: command line truncated: %zu bytes dropped (limit %d)\n",
               boot_info.cmdline_dropped, BOOT_CMDLINE_MAX - 1);
    }
    print_memory(&boot_info);
    if (cmdline_has_word(boot_info.cmdline, "kernel.test.panic")) {
        panic("kernel_main: kernel.test.panic on the command line");
    }
    if (cmdline_has_word(boot_info.cmdline, "kernel.test.fault")) {
        __builtin_trap();
    }
    pmm_init(&boot_info);
    print_pmm();
    thread_init();
    platform_init_interrupts(&boot_info);
    timer_init();
    arch_irq_enable();
    smp_init(&boot_info);
    if (cmdline_has_word(boot_info.cmdline, "kernel.test.stack-overflow")) {
        kstack_test_overflow();
    }
    if (cmdline_has_word(boot_info.cmdline, "kernel.memwatch")) {
        memwatch_start();
    }
    if (cmdline_has_word(boot_info.cmdline, "kernel.selftest")) {
        selftest_run();
    } else {
        userboot_run(&boot_info);
    }
    memwatch_at_poweroff();
    arch_irq_disable();
    printf("zhb kernel: powering off\n");
    platform_poweroff();
}
