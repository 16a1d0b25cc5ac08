// RFC-0013's zx_vmar_create_vmo_child: options, ranges, rights, the security flags and the
// vDSO rule, and snapshot isolation of a mapping's clone.
#include <ktap.h>
#include <string.h>
#include <zhb/runtime.h>
#include <zircon/process.h>

#include "child.h"

#define PG CHILD_PAGE_SIZE
#define RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)

struct mapped {
    zx_handle_t vmo;
    zx_vaddr_t addr;
};

// A `pages`-page VMO mapped with `options` into `vmar`, each page starting with 'A' + i.
static struct mapped map_lettered(zx_handle_t vmar, zx_vm_option_t options, size_t pages) {
    struct mapped m = {ZX_HANDLE_INVALID, 0};
    if (zx_vmo_create(pages * PG, 0, &m.vmo) != ZX_OK) {
        return m;
    }
    for (size_t i = 0; i < pages; i++) {
        char c = (char)('A' + i);
        (void)zx_vmo_write(m.vmo, &c, i * PG, 1);
    }
    if (zx_vmar_map(vmar, options, 0, m.vmo, 0, pages * PG, &m.addr) != ZX_OK) {
        m.addr = 0;
    }
    return m;
}

static void unmap_lettered(zx_handle_t vmar, struct mapped m, size_t pages) {
    (void)zx_vmar_unmap(vmar, m.addr, pages * PG);
    (void)zx_handle_close(m.vmo);
}

static zx_status_t clone_status(zx_handle_t vmar, uint32_t options, zx_vaddr_t addr,
                                size_t size) {
    zx_handle_t out = ZX_HANDLE_INVALID;
    zx_status_t st = zx_vmar_create_vmo_child(vmar, options, addr, size, &out);
    if (st == ZX_OK) {
        zx_handle_close(out);
    }
    return st;
}

KTAP_CASE(vmar_vmo_child_errors) {
    zx_handle_t root = zx_vmar_root_self();
    struct mapped m = map_lettered(root, RW, 4);
    zx_handle_t weak;
    zx_handle_t event;
    KTAP_ASSERT_TRUE(m.addr != 0);
    // Options: one snapshot type, maybe NO_WRITE; nothing else.
    KTAP_EXPECT_STATUS(clone_status(root, 0, m.addr, PG), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(clone_status(root, ZX_VMO_CHILD_SLICE, m.addr, PG), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(clone_status(root, ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_RESIZABLE, m.addr,
                                    PG),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(clone_status(root,
                                    ZX_VMO_CHILD_SNAPSHOT |
                                        ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE,
                                    m.addr, PG),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(clone_status(root, ZX_VMO_CHILD_NO_WRITE, m.addr, PG),
                       ZX_ERR_INVALID_ARGS);
    // Alignment, size, and the range inside one mapping with no unmapped pages.
    KTAP_EXPECT_STATUS(clone_status(root, ZX_VMO_CHILD_SNAPSHOT, m.addr + 1, PG),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(clone_status(root, ZX_VMO_CHILD_SNAPSHOT, m.addr, PG + 1),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(clone_status(root, ZX_VMO_CHILD_SNAPSHOT, m.addr, 0), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(clone_status(root, ZX_VMO_CHILD_SNAPSHOT, m.addr, 5 * PG),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_OK(zx_vmar_unmap(root, m.addr + 2 * PG, PG));  // a hole; two mappings around it
    KTAP_EXPECT_STATUS(clone_status(root, ZX_VMO_CHILD_SNAPSHOT, m.addr + PG, 2 * PG),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(clone_status(root, ZX_VMO_CHILD_SNAPSHOT, m.addr, 4 * PG),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_OK(clone_status(root, ZX_VMO_CHILD_SNAPSHOT, m.addr, 2 * PG));
    KTAP_EXPECT_OK(clone_status(root, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, m.addr + 3 * PG,
                                PG));
    // Handles: bad, wrong type, no INSPECT.
    KTAP_EXPECT_STATUS(clone_status(ZX_HANDLE_INVALID, ZX_VMO_CHILD_SNAPSHOT, m.addr, PG),
                       ZX_ERR_BAD_HANDLE);
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_EXPECT_STATUS(clone_status(event, ZX_VMO_CHILD_SNAPSHOT, m.addr, PG), ZX_ERR_WRONG_TYPE);
    zx_handle_close(event);
    KTAP_ASSERT_OK(zx_handle_duplicate(root, rights_of(root) & ~ZX_RIGHT_INSPECT, &weak));
    KTAP_EXPECT_STATUS(clone_status(weak, ZX_VMO_CHILD_SNAPSHOT, m.addr, PG),
                       ZX_ERR_ACCESS_DENIED);
    zx_handle_close(weak);
    // The out pointer is checked and no handle is left behind.
    KTAP_EXPECT_STATUS(zx_vmar_create_vmo_child(root, ZX_VMO_CHILD_SNAPSHOT, m.addr, PG, NULL),
                       ZX_ERR_INVALID_ARGS);
    unmap_lettered(root, m, 4);
}

// ZX_VM_CANNOT_CREATE_VMO_CHILD on a mapping or a VMAR above it; a destroyed VMAR; a range
// outside the VMAR the handle names; the vDSO.
KTAP_CASE(vmar_vmo_child_security) {
    zx_handle_t root = zx_vmar_root_self();
    zx_handle_t sub;
    zx_handle_t inner;
    zx_vaddr_t sub_base = 0;
    zx_vaddr_t inner_base = 0;
    struct mapped m = map_lettered(root, RW | ZX_VM_CANNOT_CREATE_VMO_CHILD, 1);
    KTAP_ASSERT_TRUE(m.addr != 0);
    KTAP_EXPECT_STATUS(clone_status(root, ZX_VMO_CHILD_SNAPSHOT, m.addr, PG),
                       ZX_ERR_ACCESS_DENIED);
    unmap_lettered(root, m, 1);
    KTAP_ASSERT_OK(zx_vmar_allocate(root,
                                    ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE |
                                        ZX_VM_CANNOT_CREATE_VMO_CHILD,
                                    0, 16 * PG, &sub, &sub_base));
    KTAP_ASSERT_OK(zx_vmar_allocate(sub, ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE, 0, 8 * PG,
                                    &inner, &inner_base));
    m = map_lettered(inner, RW, 1);
    KTAP_ASSERT_TRUE(m.addr != 0);
    KTAP_EXPECT_STATUS(clone_status(inner, ZX_VMO_CHILD_SNAPSHOT, m.addr, PG),
                       ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_STATUS(clone_status(root, ZX_VMO_CHILD_SNAPSHOT, m.addr, PG),
                       ZX_ERR_ACCESS_DENIED);
    unmap_lettered(inner, m, 1);
    KTAP_EXPECT_OK(zx_vmar_destroy(inner));
    KTAP_EXPECT_STATUS(clone_status(inner, ZX_VMO_CHILD_SNAPSHOT, inner_base, PG),
                       ZX_ERR_BAD_STATE);
    zx_handle_close(inner);
    // A range mapped elsewhere than under the handle's VMAR.
    m = map_lettered(root, RW, 1);
    KTAP_EXPECT_STATUS(clone_status(sub, ZX_VMO_CHILD_SNAPSHOT, m.addr, PG), ZX_ERR_INVALID_ARGS);
    unmap_lettered(root, m, 1);
    KTAP_EXPECT_OK(zx_vmar_destroy(sub));
    zx_handle_close(sub);
    // The vDSO's mappings can never be cloned.
    zx_vaddr_t vdso_page = __zhb_vdso_base;
    KTAP_EXPECT_STATUS(clone_status(root, ZX_VMO_CHILD_SNAPSHOT, vdso_page, PG),
                       ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_STATUS(clone_status(root, ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_NO_WRITE,
                                    vdso_page, PG),
                       ZX_ERR_ACCESS_DENIED);
}

// Rights of the clone; contents as mapped; isolation both ways; the parent is the mapped VMO.
KTAP_CASE(vmar_vmo_child_rights_and_isolation) {
    zx_handle_t root = zx_vmar_root_self();
    zx_handle_t clone;
    zx_handle_t exec;
    zx_vaddr_t code = 0;
    zx_info_vmo_t info;
    struct mapped m = map_lettered(root, RW, 3);
    KTAP_ASSERT_TRUE(m.addr != 0);
    ((volatile char *)m.addr)[PG + 1] = 'm';  // written through the mapping
    KTAP_ASSERT_OK(zx_vmar_create_vmo_child(root, ZX_VMO_CHILD_SNAPSHOT, m.addr + PG, 2 * PG,
                                            &clone));
    KTAP_EXPECT_EQ(rights_of(clone), ZX_DEFAULT_VMO_RIGHTS);
    KTAP_ASSERT_OK(zx_object_get_info(clone, ZX_INFO_VMO, &info, sizeof(info), NULL, NULL));
    zx_info_vmo_t parent;
    KTAP_ASSERT_OK(zx_object_get_info(m.vmo, ZX_INFO_VMO, &parent, sizeof(parent), NULL, NULL));
    KTAP_EXPECT_EQ(info.parent_koid, parent.koid);
    KTAP_EXPECT_EQ(info.size_bytes, 2 * PG);
    char buf[2] = {0};
    KTAP_EXPECT_OK(zx_vmo_read(clone, buf, 0, 2));
    KTAP_EXPECT_EQ(buf[0], 'B');
    KTAP_EXPECT_EQ(buf[1], 'm');
    ((volatile char *)m.addr)[2 * PG] = 'p';  // the parent's write stays out of the clone
    KTAP_EXPECT_OK(zx_vmo_read(clone, buf, PG, 1));
    KTAP_EXPECT_EQ(buf[0], 'C');
    KTAP_EXPECT_OK(zx_vmo_write(clone, "c", 0, 1));  // the clone's write stays out of the parent
    KTAP_EXPECT_EQ(((volatile char *)m.addr)[PG], 'B');
    zx_handle_close(clone);
    KTAP_ASSERT_OK(zx_vmar_create_vmo_child(root, ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_NO_WRITE,
                                            m.addr, PG, &clone));
    KTAP_EXPECT_EQ(rights_of(clone), ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    zx_handle_close(clone);
    unmap_lettered(root, m, 3);
    // An executable mapping: a writable clone is not executable; a NO_WRITE one is.
    KTAP_ASSERT_OK(zx_vmo_create(PG, 0, &m.vmo));
    KTAP_ASSERT_OK(zx_vmo_replace_as_executable(m.vmo, ZX_HANDLE_INVALID, &exec));
    KTAP_ASSERT_OK(zx_vmar_map(root, ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE, 0, exec, 0, PG, &code));
    KTAP_ASSERT_OK(zx_vmar_create_vmo_child(root, ZX_VMO_CHILD_SNAPSHOT, code, PG, &clone));
    KTAP_EXPECT_EQ(rights_of(clone), ZX_DEFAULT_VMO_RIGHTS);
    zx_handle_close(clone);
    KTAP_ASSERT_OK(zx_vmar_create_vmo_child(root, ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_NO_WRITE,
                                            code, PG, &clone));
    KTAP_EXPECT_EQ(rights_of(clone), (ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE) | ZX_RIGHT_EXECUTE);
    zx_handle_close(clone);
    KTAP_EXPECT_OK(zx_vmar_unmap(root, code, PG));
    zx_handle_close(exec);
}

static uint64_t committed_of(zx_handle_t vmo) {
    zx_info_vmo_t info;
    memset(&info, 0, sizeof(info));
    (void)zx_object_get_info(vmo, ZX_INFO_VMO, &info, sizeof(info), NULL, NULL);
    return info.committed_bytes / PG;
}

// A clone of a mapping that is the VMO's only one shares its pages (the mapping turns
// read-only underneath): neither side counts them until one writes, and a write, through the
// mapping, the handle or a kernel user copy, copies exactly that page.
KTAP_CASE(vmar_vmo_child_shares_until_written) {
    zx_handle_t root = zx_vmar_root_self();
    zx_handle_t clone;
    struct mapped m = map_lettered(root, RW, 4);
    volatile char *p = (volatile char *)m.addr;
    KTAP_ASSERT_TRUE(m.addr != 0);
    for (int i = 0; i < 4; i++) {
        p[i * PG + 1] = 'w';  // fault every page in, writable
    }
    KTAP_EXPECT_EQ(committed_of(m.vmo), 4u);
    KTAP_ASSERT_OK(zx_vmar_create_vmo_child(root, ZX_VMO_CHILD_SNAPSHOT, m.addr, 4 * PG, &clone));
    KTAP_EXPECT_EQ(committed_of(m.vmo), 0u);
    KTAP_EXPECT_EQ(committed_of(clone), 0u);
    KTAP_EXPECT_EQ(p[0], 'A');  // reads need no copy
    KTAP_EXPECT_EQ(committed_of(m.vmo), 0u);
    p[PG] = 'x';  // a copy-on-write fault
    KTAP_EXPECT_EQ(committed_of(m.vmo), 1u);
    KTAP_EXPECT_EQ(committed_of(clone), 1u);
    char c = 0;
    KTAP_EXPECT_OK(zx_vmo_read(clone, &c, PG, 1));
    KTAP_EXPECT_EQ(c, 'B');
    // The clone writes page 2: the mapping still reads the old byte, then writes its own.
    KTAP_EXPECT_OK(zx_vmo_write(clone, "y", 2 * PG, 1));
    KTAP_EXPECT_EQ(p[2 * PG], 'C');
    p[2 * PG] = 'z';
    KTAP_EXPECT_OK(zx_vmo_read(clone, &c, 2 * PG, 1));
    KTAP_EXPECT_EQ(c, 'y');
    // A handle write to the parent's shared page shows through its mapping, not the clone.
    KTAP_EXPECT_OK(zx_vmo_write(m.vmo, "h", 3 * PG, 1));
    KTAP_EXPECT_EQ(p[3 * PG], 'h');
    KTAP_EXPECT_OK(zx_vmo_read(clone, &c, 3 * PG, 1));
    KTAP_EXPECT_EQ(c, 'D');
    // A kernel user copy into the read-only page copies it too.
    zx_handle_t clone2;
    KTAP_ASSERT_OK(zx_vmar_create_vmo_child(root, ZX_VMO_CHILD_SNAPSHOT, m.addr, PG, &clone2));
    KTAP_EXPECT_OK(zx_vmo_read(clone, (void *)(m.addr + 5), PG, 1));
    KTAP_EXPECT_EQ(p[5], 'B');
    KTAP_EXPECT_OK(zx_vmo_read(clone2, &c, 5, 1));
    KTAP_EXPECT_EQ(c, 0);
    zx_handle_close(clone2);
    zx_handle_close(clone);
    KTAP_EXPECT_EQ(committed_of(m.vmo), 4u);  // the last sharer again
    unmap_lettered(root, m, 4);
}
