// microbench rows for the VM (see microbench.c):
//
//   demand_zero_fault    first write to a page of a fresh mapping: fault, commit a zeroed
//                        page, map it (per page)
//   cow_write_fault      first write to a page of a mapped snapshot that shares it with its
//                        parent: fault, copy the page, map the copy (per page)
//   zygote_clone_start   tk_zygote_spawn (ZX_INFO_PROCESS_MAPS, a clone of every mapping,
//                        mapped into a new process) + start a thread there that exits
//                        + wait for ZX_PROCESS_TERMINATED: our fork + exit + wait
#include <zircon/process.h>

#include "child.h"
#include "microbench.h"
#include "testkit.h"

#define FAULT_PAGES 256u
#define FAULT_ROUNDS 4
#define ZYGOTE_ITERATIONS 10
#define ZYGOTE_STACK (16u * 4096u)
#define ZYGOTE_WAIT_MS 10000

__attribute__((noreturn)) static void zygote_exit(zx_handle_t channel, uintptr_t arg2) {
    (void)channel;
    (void)arg2;
    zx_process_exit(0);
}

// Maps `vmo` (FAULT_PAGES pages) and writes one byte per page; *ns: time of the writes.
static zx_status_t touch_pages(zx_handle_t vmo, zx_duration_t *ns) {
    zx_vaddr_t addr;
    zx_status_t status = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0,
                                     vmo, 0, FAULT_PAGES * TK_PAGE, &addr);
    if (status != ZX_OK) {
        return status;
    }
    zx_time_t start = zx_clock_get_monotonic();
    for (uint32_t i = 0; i < FAULT_PAGES; i++) {
        ((volatile uint8_t *)addr)[i * TK_PAGE] = 1;
    }
    *ns += zx_clock_get_monotonic() - start;
    return zx_vmar_unmap(zx_vmar_root_self(), addr, FAULT_PAGES * TK_PAGE);
}

// One round of `cow` (a snapshot of a fully committed parent) or demand-zero faults.
static zx_status_t fault_round(bool cow, zx_duration_t *ns) {
    zx_handle_t vmo;
    zx_handle_t parent = ZX_HANDLE_INVALID;
    zx_status_t status = zx_vmo_create(FAULT_PAGES * TK_PAGE, 0, cow ? &parent : &vmo);
    for (uint32_t i = 0; cow && status == ZX_OK && i < FAULT_PAGES; i++) {
        status = zx_vmo_write(parent, "p", i * TK_PAGE, 1);
    }
    if (cow && status == ZX_OK) {
        status = zx_vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, FAULT_PAGES * TK_PAGE,
                                     &vmo);
    }
    if (status == ZX_OK) {
        status = touch_pages(vmo, ns);
        zx_handle_close(vmo);
    }
    zx_handle_close(parent);
    return status;
}

static int fault_row(const char *name, bool cow) {
    zx_duration_t ns = 0;
    for (int r = 0; r < FAULT_ROUNDS; r++) {
        zx_status_t status = fault_round(cow, &ns);
        if (status != ZX_OK) {
            return bench_fail(name, status);
        }
    }
    bench_report(name, zx_clock_get_monotonic() - ns, FAULT_ROUNDS * (int)FAULT_PAGES);
    return 0;
}

static zx_status_t one_zygote(zx_vaddr_t stack_top) {
    zx_handle_t ours;
    zx_handle_t theirs;
    zx_handle_t proc;
    zx_status_t status = zx_channel_create(0, &ours, &theirs);
    if (status != ZX_OK) {
        return status;
    }
    status = tk_zygote_spawn(zygote_exit, stack_top, NULL, 0, theirs, 0, &proc);
    if (status == ZX_OK) {
        status = wait_ms(proc, ZX_PROCESS_TERMINATED, ZYGOTE_WAIT_MS);
        zx_handle_close(proc);
    }
    zx_handle_close(ours);
    return status;
}

int bench_vm(void) {
    if (fault_row("demand_zero_fault", false) != 0 || fault_row("cow_write_fault", true) != 0) {
        return 1;
    }
    // The clone's stack: a mapping of ours, cloned with the rest.
    zx_handle_t stack_vmo;
    zx_vaddr_t stack = 0;
    zx_status_t status = zx_vmo_create(ZYGOTE_STACK, 0, &stack_vmo);
    if (status == ZX_OK) {
        status = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0,
                             stack_vmo, 0, ZYGOTE_STACK, &stack);
        zx_handle_close(stack_vmo);
    }
    if (status != ZX_OK) {
        return bench_fail("zygote stack", status);
    }
    zx_time_t start = zx_clock_get_monotonic();
    for (int i = 0; i < ZYGOTE_ITERATIONS; i++) {
        status = one_zygote(stack + ZYGOTE_STACK);
        if (status != ZX_OK) {
            return bench_fail("zygote_clone_start", status);
        }
    }
    bench_report("zygote_clone_start", start, ZYGOTE_ITERATIONS);
    return 0;
}
