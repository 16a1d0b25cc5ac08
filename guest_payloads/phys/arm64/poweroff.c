// poweroff.bin: the smallest arm64 Image that turns QEMU off, the benchmark baseline for a
// boot. It asks PSCI for SYSTEM_OFF through the conduit the DT's /psci `method` names (HVC if
// the DT says nothing usable) and halts if that returns. start.S does the usual entry work.

#include <stdint.h>

#include <arch/arm64/psci.h>

#include "board.h"
#include "fdt.h"
#include "phys.h"

void phys_main(uintptr_t dtb, uintptr_t image_base) {
    (void)image_base;
    static struct board board;
    struct fdt fdt;
    const char *why;
    int use_hvc = 1;
    if (fdt_init(&fdt, (const void *)dtb, &why) == 0 && board_from_fdt(&fdt, &board, &why) == 0 &&
        board.has_psci) {
        use_hvc = board.psci.use_hvc;
    }
    psci_call(use_hvc, PSCI_SYSTEM_OFF, 0, 0, 0);
    arm64_halt();
}

// Nothing to report to: a phys exception here just stops the CPU.
void phys_exception(uint64_t vector, uint64_t esr, uint64_t elr, uint64_t far) {
    (void)vector;
    (void)esr;
    (void)elr;
    (void)far;
    arm64_halt();
}
