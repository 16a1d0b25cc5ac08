// The vDSO mapping rules: its code maps once per process, only with its exact layout and
// permissions; it cannot be protected, unmapped (partly or wholly) or written.
#include <ktap.h>
#include <zhb/runtime.h>
#include <zircon/process.h>

#include "child.h"
#include "machine-code.h"

KTAP_CASE(vdso_second_mapping_denied) {
    struct vdso_layout layout;
    KTAP_ASSERT_TRUE(vdso_layout(&layout));
    zx_vaddr_t base;
    KTAP_EXPECT_STATUS(vdso_map(zx_vmar_root_self(), &layout, &base), ZX_ERR_ACCESS_DENIED);
}

KTAP_CASE(vdso_protect_denied) {
    struct vdso_layout layout;
    KTAP_ASSERT_TRUE(vdso_layout(&layout));
    const struct elf_segment *code = &layout.elf.segs[1];
    KTAP_EXPECT_STATUS(zx_vmar_protect(zx_vmar_root_self(), ZX_VM_PERM_READ,
                                       __zhb_vdso_base + code->vaddr, CHILD_PAGE_SIZE),
                       ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_TRUE(zx_clock_get_monotonic() > 0);  // still executable
}

// In a fresh process the vDSO is mapped straight into the root VMAR (no sub-VMAR in the way),
// so each unmap below reaches the vDSO mappings themselves.
KTAP_CASE(vdso_unmap_denied) {
    static const uint8_t code[] = MC_SPIN;
    struct vdso_layout layout;
    struct child child;
    zx_info_vmar_t root;
    zx_vaddr_t base;
    zx_vaddr_t addr;
    KTAP_ASSERT_TRUE(vdso_layout(&layout));
    const struct elf_segment *ro = &layout.elf.segs[0];
    const struct elf_segment *text = &layout.elf.segs[1];
    uint64_t span = layout.elf.hi - layout.elf.lo;
    KTAP_ASSERT_OK(child_create(zx_job_default(), "vdso-unmap", code, sizeof(code), false, &child));
    KTAP_ASSERT_OK(zx_object_get_info(child.vmar, ZX_INFO_VMAR, &root, sizeof(root), NULL, NULL));
    KTAP_ASSERT_OK(zx_vmar_map(child.vmar, ZX_VM_PERM_READ, 0, layout.vmo, 0, ro->memsz, &base));
    KTAP_ASSERT_OK(zx_vmar_map(child.vmar, ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE | ZX_VM_SPECIFIC,
                               base + text->vaddr - root.base, layout.vmo, text->offset,
                               span - text->vaddr, &addr));
    KTAP_EXPECT_STATUS(zx_vmar_unmap(child.vmar, addr, CHILD_PAGE_SIZE), ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_STATUS(zx_vmar_unmap(child.vmar, base, span), ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_STATUS(zx_vmar_protect(child.vmar, ZX_VM_PERM_READ, addr, CHILD_PAGE_SIZE),
                       ZX_ERR_ACCESS_DENIED);
    // Our own vDSO too, wholly (it sits in a sub-VMAR userboot made).
    KTAP_EXPECT_STATUS(zx_vmar_unmap(zx_vmar_root_self(), __zhb_vdso_base, span),
                       ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_TRUE(zx_clock_get_monotonic() > 0);
    child_destroy(&child);
}

KTAP_CASE(vdso_vmo_not_writable) {
    struct vdso_layout layout;
    KTAP_ASSERT_TRUE(vdso_layout(&layout));
    static const uint8_t byte = 0xcc;
    zx_handle_t dup;
    KTAP_EXPECT_STATUS(zx_vmo_write(layout.vmo, &byte, 0, 1), ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_EQ(rights_of(layout.vmo) & ZX_RIGHT_WRITE, 0);
    KTAP_EXPECT_STATUS(
        zx_handle_duplicate(layout.vmo, rights_of(layout.vmo) | ZX_RIGHT_WRITE, &dup),
        ZX_ERR_INVALID_ARGS);
}

KTAP_CASE(vdso_exact_layout_only) {
    static const uint8_t code[] = MC_SPIN;
    struct vdso_layout layout;
    struct child child;
    zx_vaddr_t addr;
    KTAP_ASSERT_TRUE(vdso_layout(&layout));
    KTAP_ASSERT_OK(
        child_create(zx_job_default(), "vdso-layout", code, sizeof(code), false, &child));
    uint64_t span = layout.elf.hi - layout.elf.lo;
    // The whole VMO executable, or writable: refused. (Read-only mappings are ordinary, as in
    // Zircon: only the code mapping is constrained.)
    KTAP_EXPECT_STATUS(zx_vmar_map(child.vmar, ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE, 0, layout.vmo,
                                   0, span, &addr),
                       ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_STATUS(zx_vmar_map(child.vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, layout.vmo, 0,
                                   CHILD_PAGE_SIZE, &addr),
                       ZX_ERR_ACCESS_DENIED);
    // The exact layout maps once; a second time is refused.
    KTAP_EXPECT_OK(vdso_map(child.vmar, &layout, &addr));
    KTAP_EXPECT_STATUS(vdso_map(child.vmar, &layout, &addr), ZX_ERR_ACCESS_DENIED);
    child_destroy(&child);
}
