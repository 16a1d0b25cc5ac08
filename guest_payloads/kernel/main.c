// Generic kernel entry: decode the data ZBI, bring up the console, print the boot banner,
// power off. arch/<arch>/start.S calls kernel_main with a stack and a zeroed bss.
//
// Console lines (the harness matches them exactly):
//   zhb kernel: booting on <arch>
//   zhb kernel: cmdline: <CMDLINE items joined by spaces>
//   zhb kernel: memory: <N> MiB RAM in <K> ranges      (K counts the RAM ranges)
//   zhb kernel: powering off
// The command-line word kernel.test.panic makes it panic right after the banner instead.
#include <stdbool.h>

#include <kernel/bootinfo.h>
#include <kernel/bootinfo_parse.h>
#include <kernel/panic.h>
#include <kernel/platform.h>
#include <lib/console.h>
#include <lib/string.h>

#define MIB (1024u * 1024u)

static struct boot_info boot_info;

// lib/printf's sink: the platform console ("\r\n" is already added by printf).
void lib_putc(char c) {
    platform_putc(c);
}

// Returns true if `word` is one of the space-separated words of `cmdline`.
static bool cmdline_has_word(const char *cmdline, const char *word) {
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

void kernel_main(uintptr_t zbi_paddr) {
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
    print_memory(&boot_info);
    if (cmdline_has_word(boot_info.cmdline, "kernel.test.panic")) {
        panic("kernel_main: kernel.test.panic on the command line");
    }
    printf("zhb kernel: powering off\n");
    platform_poweroff();
}
