// Self-tests of the VM layer (a suite of kernel/selftest.c): page tables, user copies, VMOs,
// VMARs and the vDSO mapping rules, all on address spaces the test builds itself; and the
// kernel's own mappings (W^X by section, a never-executable physmap) read from its tables.
#include <kernel/selftest.h>

#include <kernel/arch.h>
#include <kernel/arch_mmu.h>
#include <kernel/image.h>
#include <kernel/kstack.h>
#include <kernel/physmap.h>
#include <kernel/pmm.h>
#include <kernel/thread.h>
#include <kernel/usercopy.h>
#include <kernel/vm.h>
#include <lib/string.h>
#include <zircon/errors.h>
#include <zircon/syscalls/object.h>

#define check SELFTEST_CHECK
#define diag SELFTEST_DIAG

#define RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)
#define RX (ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE)
#define RWX (RW | ZX_VM_PERM_EXECUTE)
#define USER_RW (ARCH_MMU_FLAG_USER | ARCH_MMU_FLAG_READ | ARCH_MMU_FLAG_WRITE)

static bool test_mmu_map_protect_unmap(void) {
    struct arch_aspace *as = arch_aspace_create();
    check(as != NULL);
    uintptr_t kpage = pmm_alloc_zeroed_page();
    uintptr_t page = vaddr_to_paddr((const void *)kpage);
    uintptr_t va = USER_ASPACE_BASE + 0x123000;
    uintptr_t pa;
    uint32_t flags;
    check(arch_aspace_query(as, va, &pa, &flags) == ZX_ERR_NOT_FOUND);
    check(arch_aspace_map(as, va, page, USER_RW) == ZX_OK);
    check(arch_aspace_query(as, va + 5, &pa, &flags) == ZX_OK);
    check(pa == page + 5 && flags == USER_RW);
    uint32_t rx = ARCH_MMU_FLAG_USER | ARCH_MMU_FLAG_READ | ARCH_MMU_FLAG_EXECUTE;
    check(arch_aspace_protect(as, va, 1, rx) == ZX_OK);
    check(arch_aspace_query(as, va, &pa, &flags) == ZX_OK && flags == rx);
    check(arch_aspace_map(as, va, page, USER_RW | ARCH_MMU_FLAG_EXECUTE) ==
          ZX_ERR_INVALID_ARGS);                                         // W^X
    check(arch_aspace_map(as, 0x200000, page, USER_RW) == ZX_ERR_INVALID_ARGS);  // below user
    check(arch_aspace_map(as, USER_ASPACE_TOP, page, USER_RW) == ZX_ERR_INVALID_ARGS);
    check(arch_aspace_map(as, kpage, page, USER_RW) == ZX_ERR_INVALID_ARGS);  // the physmap
    arch_aspace_unmap(as, va, 1);
    check(arch_aspace_query(as, va, &pa, &flags) == ZX_ERR_NOT_FOUND);
    arch_aspace_destroy(as);
    pmm_free_page(kpage);
    return true;
}

// The CPU itself walks the new tables: the kernel writes through the user address of an
// active address space (with the user copy routine: SMAP/PAN fault any other kernel access
// to user pages) and finds the bytes in the physical page.
static bool test_mmu_hardware_walk(void) {
    struct arch_aspace *as = arch_aspace_create();
    check(as != NULL);
    uintptr_t page = pmm_alloc_zeroed_page();
    uintptr_t va = USER_ASPACE_BASE + (77ull << 30) + 0x5000;  // fresh upper-level tables
    check(arch_aspace_map(as, va, vaddr_to_paddr((const void *)page), USER_RW) == ZX_OK);
    thread_set_user(thread_current(), NULL, as);
    uint64_t value = 0x1122334455667788ull;
    uint64_t failed = arch_copy_to_user((void *)(va + 8), &value, sizeof(value),
                                        thread_user_copy_resume(thread_current()));
    uint64_t seen = *(volatile uint64_t *)(page + 8);
    // The kernel's mappings are still there (this code and stack run from them).
    thread_set_user(thread_current(), NULL, NULL);
    check(failed == 0 && seen == 0x1122334455667788ull);
    arch_aspace_destroy(as);
    pmm_free_page(page);
    return true;
}

static bool test_vmo_read_write_resize(void) {
    struct vmo *vmo;
    check(vmo_create(3 * PAGE_SIZE - 100, 0, &vmo) == ZX_OK);
    check(vmo_get_size(vmo) == 3 * PAGE_SIZE);
    char buf[64], zeros[64] = {0};
    check(vmo_read(vmo, buf, PAGE_SIZE, sizeof(buf)) == ZX_OK);
    check(memcmp(buf, zeros, sizeof(buf)) == 0);
    const char msg[] = "straddles a page boundary";
    check(vmo_write(vmo, msg, PAGE_SIZE - 10, sizeof(msg)) == ZX_OK);
    memset(buf, 0, sizeof(buf));
    check(vmo_read(vmo, buf, PAGE_SIZE - 10, sizeof(msg)) == ZX_OK);
    check(memcmp(buf, msg, sizeof(msg)) == 0);
    check(vmo_read(vmo, buf, 3 * PAGE_SIZE - 8, 16) == ZX_ERR_OUT_OF_RANGE);
    check(vmo_write(vmo, buf, UINT64_MAX - 4, 16) == ZX_ERR_OUT_OF_RANGE);
    check(vmo_set_size(vmo, PAGE_SIZE) == ZX_ERR_UNAVAILABLE);
    kobject_unref(&vmo->obj);

    check(vmo_create(0, 0x80, &vmo) == ZX_ERR_INVALID_ARGS);
    check(vmo_create(PAGE_SIZE, ZX_VMO_RESIZABLE, &vmo) == ZX_OK);
    check(vmo_write(vmo, msg, 0, sizeof(msg)) == ZX_OK);
    check(vmo_set_size(vmo, 5 * PAGE_SIZE + 1) == ZX_OK && vmo_get_size(vmo) == 6 * PAGE_SIZE);
    check(vmo_write(vmo, msg, 5 * PAGE_SIZE, sizeof(msg)) == ZX_OK);
    check(vmo_set_size(vmo, 0) == ZX_OK && vmo_get_size(vmo) == 0);
    check(vmo_set_size(vmo, PAGE_SIZE) == ZX_OK);
    check(vmo_read(vmo, buf, 0, sizeof(msg)) == ZX_OK);
    check(memcmp(buf, zeros, sizeof(msg)) == 0);  // grown again: zeros, not the old bytes
    zx_info_vmo_t info;
    size_t actual = 0;
    check(vmo->obj.ops->get_info(&vmo->obj, ZX_INFO_VMO, &info, sizeof(info), &actual) == ZX_OK);
    check(actual == sizeof(info) && info.koid == vmo->obj.koid);
    check(info.size_bytes == PAGE_SIZE && (info.flags & ZX_INFO_VMO_RESIZABLE));
    kobject_unref(&vmo->obj);
    return true;
}

// One round of test_vmo_snapshot_pages_freed: a parent, a snapshot of it and a snapshot of
// that, each writing some pages, released in the order `order` (a permutation of 0..2).
static bool snapshot_round(const int order[3]) {
    struct vmo *v[3];
    char buf[8];
    check(vmo_create(8 * PAGE_SIZE, 0, &v[0]) == ZX_OK);
    for (size_t i = 0; i < 8; i++) {
        check(vmo_write(v[0], "parent", i * PAGE_SIZE, 6) == ZX_OK);
    }
    check(vmo_create_child(v[0], ZX_VMO_CHILD_SNAPSHOT, 0, 8 * PAGE_SIZE, &v[1]) == ZX_OK);
    check(vmo_write(v[1], "first", 0, 5) == ZX_OK);
    check(vmo_create_child(v[1], ZX_VMO_CHILD_SNAPSHOT, PAGE_SIZE, 8 * PAGE_SIZE, &v[2]) ==
          ZX_OK);
    check(vmo_write(v[2], "second", 0, 6) == ZX_OK);
    check(vmo_write(v[0], "PARENT", 2 * PAGE_SIZE, 6) == ZX_OK);
    check(vmo_read(v[1], buf, 2 * PAGE_SIZE, 6) == ZX_OK && memcmp(buf, "parent", 6) == 0);
    check(vmo_read(v[2], buf, PAGE_SIZE, 6) == ZX_OK && memcmp(buf, "parent", 6) == 0);
    for (int k = 0; k < 3; k++) {
        kobject_unref(&v[order[k]]->obj);
    }
    return true;
}

// Shared pages go back to the pmm with their last sharer, whatever the release order.
static bool test_vmo_snapshot_pages_freed(void) {
    static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    check(snapshot_round(orders[0]));  // warms the heap up, so its own pages do not count
    for (int o = 0; o < 6; o++) {
        size_t before = pmm_stats().free_pages;
        check(snapshot_round(orders[o]));
        if (pmm_stats().free_pages != before) {
            diag("order %d: %zu pages free before, %zu after", o, before,
                 pmm_stats().free_pages);
            return false;
        }
    }
    return true;
}

static bool test_usercopy_checks(void) {
    struct vm_aspace *as;
    check(vm_aspace_create("selftest", &as) == ZX_OK);
    struct vmo *vmo;
    check(vmo_create(2 * PAGE_SIZE, 0, &vmo) == ZX_OK);
    zx_vaddr_t rw, ro;
    check(vmar_map(as->root, RW, 0, vmo, 0, PAGE_SIZE, RWX, &rw) == ZX_OK);
    check(vmar_map(as->root, ZX_VM_PERM_READ, 0, vmo, PAGE_SIZE, PAGE_SIZE, RWX, &ro) == ZX_OK);
    const char msg[] = "through the user mapping";
    char buf[sizeof(msg)];
    check(copy_to_aspace(as, rw + PAGE_SIZE - 4, msg, sizeof(msg)) == ZX_ERR_INVALID_ARGS ||
          rw + PAGE_SIZE == ro);  // runs into the read-only page (when adjacent) or a hole
    check(copy_to_aspace(as, rw + 100, msg, sizeof(msg)) == ZX_OK);
    check(vmo_read(vmo, buf, 100, sizeof(msg)) == ZX_OK && memcmp(buf, msg, sizeof(msg)) == 0);
    memset(buf, 0, sizeof(buf));
    check(copy_from_aspace(as, buf, rw + 100, sizeof(msg)) == ZX_OK);
    check(memcmp(buf, msg, sizeof(msg)) == 0);
    check(copy_from_aspace(as, buf, ro, sizeof(buf)) == ZX_OK);
    check(copy_to_aspace(as, ro, msg, sizeof(msg)) == ZX_ERR_INVALID_ARGS);
    check(copy_from_aspace(as, buf, 0, sizeof(buf)) == ZX_ERR_INVALID_ARGS);
    check(copy_from_aspace(as, buf, (uintptr_t)buf, sizeof(buf)) == ZX_ERR_INVALID_ARGS);
    check(copy_from_aspace(as, buf, USER_ASPACE_BASE, 8) == ZX_ERR_INVALID_ARGS ||
          rw == USER_ASPACE_BASE || ro == USER_ASPACE_BASE);
    check(copy_from_aspace(as, buf, rw, SIZE_MAX) == ZX_ERR_INVALID_ARGS);
    check(copy_from_aspace(as, buf, UINTPTR_MAX - 3, 8) == ZX_ERR_INVALID_ARGS);
    check(copy_from_aspace(as, buf, rw, 0) == ZX_OK);
    // No current process on a kernel thread: the syscall-facing form refuses everything.
    check(copy_from_user(buf, (const void *)rw, 8) == ZX_ERR_INVALID_ARGS);
    kobject_unref(&vmo->obj);
    vm_aspace_destroy(as);
    return true;
}

static bool test_vmar_allocate_map_unmap_protect(void) {
    struct vm_aspace *as;
    check(vm_aspace_create("selftest", &as) == ZX_OK);
    struct vmar *sub;
    zx_vaddr_t sub_base;
    zx_vm_option_t can_rw = ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_SPECIFIC;
    check(vmar_allocate(as->root, can_rw, 0, 16 * PAGE_SIZE, &sub, &sub_base) == ZX_OK);
    check(sub_base >= USER_ASPACE_BASE && sub_base + 16 * PAGE_SIZE <= USER_ASPACE_TOP);
    struct vmar *sub2;
    zx_vaddr_t b2;
    check(vmar_allocate(sub, ZX_VM_CAN_MAP_EXECUTE, 0, PAGE_SIZE, &sub2, &b2) ==
          ZX_ERR_ACCESS_DENIED);
    check(vmar_allocate(sub, 0, 0, 0, &sub2, &b2) == ZX_ERR_INVALID_ARGS);
    check(vmar_allocate(sub, 0, PAGE_SIZE, PAGE_SIZE, &sub2, &b2) == ZX_ERR_INVALID_ARGS);
    struct vmo *vmo;
    check(vmo_create(8 * PAGE_SIZE, 0, &vmo) == ZX_OK);
    zx_vaddr_t m;
    check(vmar_map(sub, RX, 0, vmo, 0, PAGE_SIZE, RWX, &m) == ZX_ERR_ACCESS_DENIED);
    check(vmar_map(sub, RW, 0, vmo, 0, PAGE_SIZE, ZX_VM_PERM_READ, &m) == ZX_ERR_ACCESS_DENIED);
    check(vmar_map(as->root, RWX, 0, vmo, 0, PAGE_SIZE, RWX, &m) == ZX_ERR_ACCESS_DENIED);
    check(vmar_map(sub, RW, 0, vmo, 0, 0, RWX, &m) == ZX_ERR_INVALID_ARGS);
    check(vmar_map(sub, RW, 0, vmo, 4 * PAGE_SIZE, 8 * PAGE_SIZE, RWX, &m) ==
          ZX_ERR_OUT_OF_RANGE);
    check(vmar_map(sub, RW | ZX_VM_SPECIFIC, 4 * PAGE_SIZE, vmo, 0, 8 * PAGE_SIZE, RWX, &m) ==
          ZX_OK);
    check(m == sub_base + 4 * PAGE_SIZE);
    check(vmar_map(sub, RW | ZX_VM_SPECIFIC, 8 * PAGE_SIZE, vmo, 0, PAGE_SIZE, RWX, &m) ==
          ZX_ERR_ALREADY_EXISTS);
    check(vmar_map(sub, RW | ZX_VM_SPECIFIC, 15 * PAGE_SIZE, vmo, 0, 2 * PAGE_SIZE, RWX, &m) ==
          ZX_ERR_INVALID_ARGS);
    uintptr_t base = sub_base + 4 * PAGE_SIZE;
    // Demand paging: nothing is committed or mapped until touched; a touch maps one page.
    check(arch_aspace_query(as->arch, base, NULL, NULL) == ZX_ERR_NOT_FOUND);
    check(vmo_committed_bytes(vmo) == 0);
    for (size_t i = 0; i < 8; i++) {
        check(vm_fault(as, base + i * PAGE_SIZE + 8, ARCH_MMU_FLAG_WRITE) == ZX_OK);
        check(vmo_committed_bytes(vmo) == (i + 1) * PAGE_SIZE);
    }
    check(vm_fault(as, base + PAGE_SIZE, ARCH_MMU_FLAG_EXECUTE) == ZX_ERR_ACCESS_DENIED);
    check(vm_fault(as, sub_base, ARCH_MMU_FLAG_READ) == ZX_ERR_NOT_FOUND);
    // Punch a hole in the middle: pages 2-3 of the mapping go, the rest stays.
    check(vmar_unmap(sub, base + 2 * PAGE_SIZE, 2 * PAGE_SIZE) == ZX_OK);
    check(arch_aspace_query(as->arch, base + 2 * PAGE_SIZE, NULL, NULL) == ZX_ERR_NOT_FOUND);
    check(arch_aspace_query(as->arch, base + 4 * PAGE_SIZE, NULL, NULL) == ZX_OK);
    check(vmo->mapping_count == 2);
    uint32_t flags;
    check(vmar_protect(sub, ZX_VM_PERM_READ, base, PAGE_SIZE) == ZX_OK);
    check(arch_aspace_query(as->arch, base, NULL, &flags) == ZX_OK);
    check(flags == (ARCH_MMU_FLAG_USER | ARCH_MMU_FLAG_READ));
    check(arch_aspace_query(as->arch, base + PAGE_SIZE, NULL, &flags) == ZX_OK);
    check(flags == USER_RW);
    check(vmar_protect(sub, RW, base, 4 * PAGE_SIZE) == ZX_ERR_NOT_FOUND);  // over the hole
    check(vmar_protect(sub, RX, base, PAGE_SIZE) == ZX_ERR_ACCESS_DENIED);
    check(vmar_destroy(sub) == ZX_OK);
    check(arch_aspace_query(as->arch, base, NULL, NULL) == ZX_ERR_NOT_FOUND);
    check(vmo->mapping_count == 0);
    check(vmar_map(sub, ZX_VM_PERM_READ, 0, vmo, 0, PAGE_SIZE, RWX, &m) == ZX_ERR_BAD_STATE);
    zx_info_vmar_t info;
    size_t actual;
    check(sub->obj.ops->get_info(&sub->obj, ZX_INFO_VMAR, &info, sizeof(info), &actual) == ZX_OK);
    check(info.base == sub_base && info.len == 16 * PAGE_SIZE);
    kobject_unref(&sub->obj);
    kobject_unref(&vmo->obj);
    vm_aspace_destroy(as);
    return true;
}

static bool test_vdso_mapping_rules(void) {
    static const char image[3 * PAGE_SIZE] = {0x7f, 'E', 'L', 'F'};
    struct vmo *vdso;
    check(vmo_create_from_kernel(image, sizeof(image), VMO_FLAG_VDSO, &vdso) == ZX_OK);
    vdso->vdso_code_start = PAGE_SIZE;
    check(vmo_write(vdso, "x", 0, 1) == ZX_ERR_ACCESS_DENIED);
    struct vm_aspace *as;
    check(vm_aspace_create("selftest", &as) == ZX_OK);
    struct vmar *v;
    zx_vaddr_t vb;
    zx_vm_option_t can = ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_EXECUTE | ZX_VM_CAN_MAP_SPECIFIC;
    check(vmar_allocate(as->root, can, 0, 3 * PAGE_SIZE, &v, &vb) == ZX_OK);
    zx_vaddr_t m;
    zx_vm_option_t vdso_max = RX;  // the vDSO handle has no WRITE right
    zx_vm_option_t spec = ZX_VM_SPECIFIC;
    check(vmar_map(v, spec | RW, 0, vdso, 0, PAGE_SIZE, RWX, &m) == ZX_ERR_ACCESS_DENIED);
    check(vmar_map(v, spec | RX, 0, vdso, 0, 3 * PAGE_SIZE, vdso_max, &m) ==
          ZX_ERR_ACCESS_DENIED);  // not the code segment's exact layout
    check(vmar_map(v, spec | ZX_VM_PERM_READ, 0, vdso, 0, PAGE_SIZE, vdso_max, &m) == ZX_OK);
    check(vmar_map(v, spec | RX, PAGE_SIZE, vdso, PAGE_SIZE, 2 * PAGE_SIZE, vdso_max, &m) ==
          ZX_OK);
    check(as->vdso_base == vb && as->vdso_code != NULL);
    zx_vaddr_t m2;
    check(vmar_map(as->root, RX, 0, vdso, PAGE_SIZE, 2 * PAGE_SIZE, vdso_max, &m2) ==
          ZX_ERR_ACCESS_DENIED);  // only one code mapping per process
    check(vmar_protect(v, ZX_VM_PERM_READ, m, PAGE_SIZE) == ZX_ERR_ACCESS_DENIED);
    check(vmar_unmap(v, m + PAGE_SIZE, PAGE_SIZE) == ZX_ERR_ACCESS_DENIED);
    check(vmar_unmap(as->root, vb, 3 * PAGE_SIZE) == ZX_ERR_ACCESS_DENIED);
    check(vmar_destroy(v) == ZX_ERR_ACCESS_DENIED);
    check(vmar_unmap(v, vb, PAGE_SIZE) == ZX_OK);  // the read-only part is ordinary
    check(as->vdso_base == vb);
    kobject_unref(&v->obj);
    vm_aspace_destroy(as);  // process exit is the one way the code mapping goes
    check(vdso->mapping_count == 0);
    kobject_unref(&vdso->obj);
    return true;
}

// Kernel flags of `vaddr` without USER; 0 if unmapped.
static uint32_t kernel_flags(uintptr_t vaddr) {
    uint32_t flags = 0;
    return arch_mmu_kernel_query(vaddr, &flags) ? flags : 0;
}

static const uint32_t wx_rodata_probe[4] = {1, 2, 3, 4};
static uint32_t wx_data_probe = 5;
static uint32_t wx_bss_probe;

// The kernel's own tables: every image page has exactly its section's permissions (text R X,
// rodata R, data and bss R W, never USER; the boot stack's guard unmapped), the physmap is
// R W and never executable, and no kernel address is both writable and executable,
// including the physmap alias of the text.
static bool test_kernel_wx_mappings(void) {
    const uint32_t r = ARCH_MMU_FLAG_READ, w = ARCH_MMU_FLAG_WRITE, x = ARCH_MMU_FLAG_EXECUTE;
    uintptr_t first = (uintptr_t)__kernel_text_start & ~(uintptr_t)(PAGE_SIZE - 1);
    size_t text = 0, rodata = 0, data = 0, guard = 0;
    for (uintptr_t v = first; v < (uintptr_t)_end; v += PAGE_SIZE) {
        uint32_t want = r | w;
        if (v - (uintptr_t)kstack_boot_guard < KSTACK_GUARD_SIZE) {
            want = 0;
            guard++;
        } else if (v < (uintptr_t)__kernel_text_end) {
            want = r | x;
            text++;
        } else if (v < (uintptr_t)__kernel_rodata_end) {
            want = r;
            rodata++;
        } else {
            data++;
        }
        uint32_t got = kernel_flags(v);
        if (got != want) {
            diag("image page 0x%lx: flags 0x%x, want 0x%x", (unsigned long)v, got, want);
            return false;
        }
    }
    diag("image pages: %zu text (R X), %zu rodata (R), %zu data and bss (R W), %zu guard",
         text, rodata, data, guard);
    check(text > 0 && rodata > 0 && data > 0 && guard == KSTACK_GUARD_SIZE / PAGE_SIZE);
    check(kernel_flags((uintptr_t)&test_kernel_wx_mappings) == (r | x));
    check(kernel_flags((uintptr_t)wx_rodata_probe) == r);
    check(kernel_flags((uintptr_t)&wx_data_probe) == (r | w));
    check(kernel_flags((uintptr_t)&wx_bss_probe) == (r | w));
    uintptr_t page = pmm_alloc_page();
    check(page != 0);
    check(kernel_flags(page) == (r | w));  // pmm pages are physmap addresses
    pmm_free_page(page);
    uintptr_t text_alias = (uintptr_t)paddr_to_physmap(vaddr_to_paddr(__kernel_text_end - 1));
    uint32_t alias = kernel_flags(text_alias);
    diag("physmap alias of the text: flags 0x%x", alias);
    check(alias != 0 && (alias & (w | x)) != (w | x));
    check((kernel_flags((uintptr_t)paddr_to_physmap(0)) & x) == 0);
    check((kernel_flags((uintptr_t)_end + PAGE_SIZE) & x) == 0);
    return true;
}

// Kernel stacks (<kernel/kstack.h>): a stack is KSTACK_SIZE of mapped R W pages in the
// kernel-stack region with KSTACK_GUARD_SIZE unmapped below it (and above: the next slot's
// guard) whose owner the fault handlers can name; a freed stack is cached with its pages up
// to KSTACK_CACHE_MAX and unmapped beyond that.
static bool test_kstack_guard_pages(void) {
    const uint32_t rw = ARCH_MMU_FLAG_READ | ARCH_MMU_FLAG_WRITE;
    enum { N = KSTACK_CACHE_MAX + 4 };
    static uintptr_t stacks[N];
    static const char owner[] = "kstack-test";
    for (size_t i = 0; i < N; i++) {
        uintptr_t s = kstack_alloc(owner);
        check(s != 0);
        stacks[i] = s;
        check(s >= ARCH_KSTACK_BASE &&
              s + KSTACK_SIZE <= ARCH_KSTACK_BASE + ARCH_KSTACK_REGION_SIZE);
        check(((s >> KSTACK_GUARD_BIT) & 1) == 1 && (((s - 1) >> KSTACK_GUARD_BIT) & 1) == 0);
        for (uintptr_t p = s; p < s + KSTACK_SIZE; p += PAGE_SIZE) {
            check(kernel_flags(p) == rw);
            *(volatile uint64_t *)p = p;  // every page is writable memory of its own
        }
        for (uintptr_t p = s - KSTACK_GUARD_SIZE; p < s; p += PAGE_SIZE) {
            check(kernel_flags(p) == 0);
        }
        check(kernel_flags(s + KSTACK_SIZE) == 0);
        check(kstack_guard_owner(s - 1) == owner);
        check(kstack_guard_owner(s - KSTACK_GUARD_SIZE) == owner);
        check(kstack_guard_owner(s) == NULL);
        check(kstack_guard_owner(s + KSTACK_SIZE - 1) == NULL);
    }
    for (size_t i = 0; i < N; i++) {
        for (uintptr_t p = stacks[i]; p < stacks[i] + KSTACK_SIZE; p += PAGE_SIZE) {
            check(*(volatile uint64_t *)p == p);
        }
    }
    check(kstack_guard_owner((uintptr_t)kstack_boot_guard) != NULL);
    check(kernel_flags((uintptr_t)kstack_boot_guard) == 0);
    check(kernel_flags((uintptr_t)kstack_boot_guard + KSTACK_GUARD_SIZE) == rw);
    struct pmm_stats before = pmm_stats();
    for (size_t i = 0; i < N; i++) {
        kstack_free(stacks[i]);
        check(kstack_guard_owner(stacks[i] - 1) == NULL);
    }
    struct kstack_stats ks = kstack_stats();
    size_t unmapped = 0;
    for (size_t i = 0; i < N; i++) {
        unmapped += kernel_flags(stacks[i]) == 0;
    }
    diag("after freeing %d stacks: %zu cached, %zu unmapped; %zu pages back to the pmm", N,
         ks.cached, unmapped, pmm_stats().free_pages - before.free_pages);
    check(ks.cached == KSTACK_CACHE_MAX && unmapped >= N - KSTACK_CACHE_MAX);
    check(pmm_stats().free_pages - before.free_pages == unmapped * (KSTACK_SIZE / PAGE_SIZE));
    // Allocating again takes cached stacks first: no new mappings.
    size_t mapped = ks.mapped;
    uintptr_t again = kstack_alloc(owner);
    check(again != 0 && kernel_flags(again) == rw && kstack_stats().mapped == mapped);
    kstack_free(again);
    return true;
}

static const struct selftest_case vm_cases[] = {
    {"mmu_map_protect_unmap", test_mmu_map_protect_unmap},
    {"mmu_hardware_walk", test_mmu_hardware_walk},
    {"vmo_read_write_resize", test_vmo_read_write_resize},
    {"vmo_snapshot_pages_freed", test_vmo_snapshot_pages_freed},
    {"usercopy_checks", test_usercopy_checks},
    {"vmar_allocate_map_unmap_protect", test_vmar_allocate_map_unmap_protect},
    {"vdso_mapping_rules", test_vdso_mapping_rules},
    {"kernel_wx_mappings", test_kernel_wx_mappings},
    {"kstack_guard_pages", test_kstack_guard_pages},
};

const struct selftest_suite selftest_vm_suite = {vm_cases, sizeof(vm_cases) / sizeof(vm_cases[0])};
