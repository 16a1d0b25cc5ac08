// zx_vmo_create_child: option, error and rights rules, snapshot isolation both ways, page
// accounting (ZX_INFO_VMO), chains of snapshots, slices.
#include <ktap.h>
#include <string.h>
#include <zircon/process.h>

#include "child.h"

#define PG CHILD_PAGE_SIZE

static zx_info_vmo_t vmo_info(zx_handle_t vmo) {
    zx_info_vmo_t info;
    memset(&info, 0, sizeof(info));
    (void)zx_object_get_info(vmo, ZX_INFO_VMO, &info, sizeof(info), NULL, NULL);
    return info;
}

static uint64_t committed_pages(zx_handle_t vmo) {
    return vmo_info(vmo).committed_bytes / PG;
}

static char byte_at(zx_handle_t vmo, uint64_t offset) {
    char c = '?';
    (void)zx_vmo_read(vmo, &c, offset, 1);
    return c;
}

// A VMO of `pages` pages whose page i starts with 'a' + i.
static zx_handle_t lettered_vmo(size_t pages, uint32_t options) {
    zx_handle_t vmo = ZX_HANDLE_INVALID;
    if (zx_vmo_create(pages * PG, options, &vmo) != ZX_OK) {
        return ZX_HANDLE_INVALID;
    }
    for (size_t i = 0; i < pages; i++) {
        char c = (char)('a' + i);
        (void)zx_vmo_write(vmo, &c, i * PG, 1);
    }
    return vmo;
}

KTAP_CASE(vmo_child_option_errors) {
    zx_handle_t vmo = lettered_vmo(2, 0);
    zx_handle_t child = ZX_HANDLE_INVALID;
    KTAP_ASSERT_TRUE(vmo != ZX_HANDLE_INVALID);
    // Exactly one child type.
    KTAP_EXPECT_STATUS(zx_vmo_create_child(vmo, 0, 0, PG, &child), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_SLICE, 0,
                                           PG, &child),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_vmo_create_child(vmo,
                                           ZX_VMO_CHILD_SNAPSHOT |
                                               ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE,
                                           0, PG, &child),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_NO_WRITE, 0, PG, &child),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT | (1u << 9), 0, PG, &child),
                       ZX_ERR_INVALID_ARGS);
    // NO_WRITE with RESIZABLE; SLICE with RESIZABLE.
    KTAP_EXPECT_STATUS(zx_vmo_create_child(vmo,
                                           ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_NO_WRITE |
                                               ZX_VMO_CHILD_RESIZABLE,
                                           0, PG, &child),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SLICE | ZX_VMO_CHILD_RESIZABLE, 0,
                                           PG, &child),
                       ZX_ERR_INVALID_ARGS);
    // Offset alignment, size and overflow.
    KTAP_EXPECT_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 1, PG, &child),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SLICE, 100, PG, &child),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, UINT64_MAX & ~(uint64_t)(PG - 1), PG,
                                           &child),
                       ZX_ERR_OUT_OF_RANGE);
    KTAP_EXPECT_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, UINT64_MAX, &child),
                       ZX_ERR_OUT_OF_RANGE);
    // A slice must lie inside its parent.
    KTAP_EXPECT_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SLICE, PG, 2 * PG, &child),
                       ZX_ERR_INVALID_ARGS);
    // The out pointer is checked; nothing is created.
    KTAP_EXPECT_STATUS(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, PG, NULL),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_EQ(child, ZX_HANDLE_INVALID);
    zx_handle_close(vmo);
}

KTAP_CASE(vmo_child_handle_rules) {
    zx_handle_t child;
    zx_handle_t event;
    KTAP_EXPECT_STATUS(zx_vmo_create_child(ZX_HANDLE_INVALID, ZX_VMO_CHILD_SNAPSHOT, 0, PG,
                                           &child),
                       ZX_ERR_BAD_HANDLE);
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_EXPECT_STATUS(zx_vmo_create_child(event, ZX_VMO_CHILD_SNAPSHOT, 0, PG, &child),
                       ZX_ERR_WRONG_TYPE);
    zx_handle_close(event);
    // DUPLICATE and READ are both needed.
    zx_handle_t vmo = lettered_vmo(1, 0);
    zx_handle_t weak;
    KTAP_ASSERT_TRUE(vmo != ZX_HANDLE_INVALID);
    static const zx_rights_t needed[2] = {ZX_RIGHT_DUPLICATE, ZX_RIGHT_READ};
    for (int i = 0; i < 2; i++) {
        KTAP_ASSERT_OK(zx_handle_duplicate(vmo, ZX_DEFAULT_VMO_RIGHTS & ~needed[i], &weak));
        KTAP_EXPECT_STATUS(zx_vmo_create_child(weak, ZX_VMO_CHILD_SNAPSHOT, 0, PG, &child),
                           ZX_ERR_ACCESS_DENIED);
        KTAP_EXPECT_STATUS(zx_vmo_create_child(weak, ZX_VMO_CHILD_SLICE, 0, PG, &child),
                           ZX_ERR_ACCESS_DENIED);
        zx_handle_close(weak);
    }
    zx_handle_close(vmo);
}

KTAP_CASE(vmo_child_rights) {
    zx_handle_t vmo = lettered_vmo(1, 0);
    zx_handle_t ro;
    zx_handle_t exec;
    zx_handle_t child;
    KTAP_ASSERT_TRUE(vmo != ZX_HANDLE_INVALID);
    // A snapshot of a read-only handle is writable (it is the caller's own copy) ...
    KTAP_ASSERT_OK(zx_handle_duplicate(vmo, ZX_RIGHT_DUPLICATE | ZX_RIGHT_READ | ZX_RIGHT_MAP,
                                       &ro));
    KTAP_ASSERT_OK(zx_vmo_create_child(ro, ZX_VMO_CHILD_SNAPSHOT, 0, PG, &child));
    KTAP_EXPECT_EQ(rights_of(child), ZX_RIGHT_DUPLICATE | ZX_RIGHT_READ | ZX_RIGHT_MAP |
                                         ZX_RIGHT_WRITE | ZX_RIGHT_GET_PROPERTY |
                                         ZX_RIGHT_SET_PROPERTY);
    zx_handle_close(child);
    // ... but a slice is not, nor a NO_WRITE snapshot.
    KTAP_ASSERT_OK(zx_vmo_create_child(ro, ZX_VMO_CHILD_SLICE, 0, PG, &child));
    KTAP_EXPECT_EQ(rights_of(child), ZX_RIGHT_DUPLICATE | ZX_RIGHT_READ | ZX_RIGHT_MAP |
                                         ZX_RIGHT_GET_PROPERTY | ZX_RIGHT_SET_PROPERTY);
    KTAP_EXPECT_STATUS(zx_vmo_write(child, "x", 0, 1), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(child);
    KTAP_ASSERT_OK(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_NO_WRITE, 0, PG,
                                       &child));
    KTAP_EXPECT_EQ(rights_of(child), ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    zx_handle_close(child);
    zx_handle_close(ro);
    // A writable snapshot loses EXECUTE; a slice keeps it; RESIZE only for a resizable child.
    KTAP_ASSERT_OK(zx_vmo_replace_as_executable(vmo, ZX_HANDLE_INVALID, &exec));
    KTAP_ASSERT_OK(zx_vmo_create_child(exec, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0, PG,
                                       &child));
    KTAP_EXPECT_EQ(rights_of(child), ZX_DEFAULT_VMO_RIGHTS);
    zx_handle_close(child);
    KTAP_ASSERT_OK(zx_vmo_create_child(exec, ZX_VMO_CHILD_SLICE, 0, PG, &child));
    KTAP_EXPECT_EQ(rights_of(child), ZX_DEFAULT_VMO_RIGHTS | ZX_RIGHT_EXECUTE);
    zx_handle_close(child);
    KTAP_ASSERT_OK(zx_vmo_create_child(exec, ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_RESIZABLE, 0, PG,
                                       &child));
    KTAP_EXPECT_EQ(rights_of(child), ZX_DEFAULT_VMO_RIGHTS | ZX_RIGHT_RESIZE);
    KTAP_EXPECT_OK(zx_vmo_set_size(child, 3 * PG));
    zx_handle_close(child);
    zx_handle_close(exec);
}

// A snapshot sees the parent as it was; neither side sees the other's later writes; only the
// written page is copied, and ZX_INFO_VMO accounts for it.
KTAP_CASE(vmo_snapshot_isolation_and_accounting) {
    zx_handle_t parent = lettered_vmo(4, 0);
    zx_handle_t child;
    KTAP_ASSERT_TRUE(parent != ZX_HANDLE_INVALID);
    KTAP_EXPECT_EQ(committed_pages(parent), 4u);
    KTAP_ASSERT_OK(zx_vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, PG, 4 * PG, &child));
    zx_info_vmo_t info = vmo_info(child);
    KTAP_EXPECT_EQ(info.size_bytes, 4 * PG);
    KTAP_EXPECT_EQ(info.parent_koid, vmo_info(parent).koid);
    KTAP_EXPECT_TRUE((info.flags & ZX_INFO_VMO_IS_COW_CLONE) != 0);
    KTAP_EXPECT_EQ(vmo_info(parent).parent_koid, 0u);
    KTAP_EXPECT_EQ(vmo_info(parent).flags & ZX_INFO_VMO_IS_COW_CLONE, 0u);
    // Everything is shared: neither holds a page of its own.
    KTAP_EXPECT_EQ(committed_pages(child), 0u);
    KTAP_EXPECT_EQ(committed_pages(parent), 1u);  // page 0 is outside the child's range
    KTAP_EXPECT_EQ(byte_at(child, 0), 'b');
    KTAP_EXPECT_EQ(byte_at(child, 2 * PG), 'd');
    KTAP_EXPECT_EQ(byte_at(child, 3 * PG), 0);  // past the parent's end: zeros
    // The parent writes: the child still sees the old byte, one page is copied.
    KTAP_EXPECT_OK(zx_vmo_write(parent, "B", PG, 1));
    KTAP_EXPECT_EQ(byte_at(child, 0), 'b');
    KTAP_EXPECT_EQ(byte_at(parent, PG), 'B');
    KTAP_EXPECT_EQ(committed_pages(parent), 2u);
    KTAP_EXPECT_EQ(committed_pages(child), 1u);  // its last sharer: page 1 is the child's now
    // The child writes: the parent does not see it.
    KTAP_EXPECT_OK(zx_vmo_write(child, "C", PG, 1));
    KTAP_EXPECT_EQ(byte_at(parent, 2 * PG), 'c');
    KTAP_EXPECT_EQ(byte_at(child, PG), 'C');
    KTAP_EXPECT_EQ(committed_pages(child), 2u);
    KTAP_EXPECT_EQ(committed_pages(parent), 3u);
    // A page the parent never committed stays zero for the child after the parent writes it.
    zx_handle_close(child);
    KTAP_EXPECT_EQ(committed_pages(parent), 4u);  // the last sharer again owns every page
    zx_handle_close(parent);
}

KTAP_CASE(vmo_snapshot_of_uncommitted_and_mapped) {
    zx_handle_t parent;
    zx_handle_t child;
    zx_vaddr_t addr = 0;
    KTAP_ASSERT_OK(zx_vmo_create(2 * PG, 0, &parent));
    KTAP_ASSERT_OK(zx_vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PG, &child));
    KTAP_EXPECT_OK(zx_vmo_write(parent, "p", 0, 1));
    KTAP_EXPECT_EQ(byte_at(child, 0), 0);
    zx_handle_close(child);
    // A mapped parent: writes through the mapping after the snapshot stay out of the child,
    // and writes through a mapping of the child stay out of the parent.
    KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, parent,
                               0, 2 * PG, &addr));
    KTAP_ASSERT_OK(zx_vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PG, &child));
    ((volatile char *)addr)[0] = 'q';
    KTAP_EXPECT_EQ(byte_at(child, 0), 'p');
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), addr, 2 * PG));
    KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, child,
                               0, 2 * PG, &addr));
    ((volatile char *)addr)[PG] = 'r';
    KTAP_EXPECT_EQ(byte_at(parent, PG), 0);
    KTAP_EXPECT_EQ(byte_at(child, PG), 'r');
    KTAP_EXPECT_EQ(((volatile char *)addr)[0], 'p');
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), addr, 2 * PG));
    zx_handle_close(child);
    zx_handle_close(parent);
}

// Snapshots of snapshots, closed in every order: each keeps what it saw.
KTAP_CASE(vmo_snapshot_chains) {
    for (int order = 0; order < 6; order++) {
        zx_handle_t h[3];
        h[0] = lettered_vmo(2, 0);
        KTAP_ASSERT_TRUE(h[0] != ZX_HANDLE_INVALID);
        KTAP_ASSERT_OK(zx_vmo_create_child(h[0], ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PG, &h[1]));
        KTAP_EXPECT_OK(zx_vmo_write(h[1], "1", 0, 1));
        KTAP_ASSERT_OK(zx_vmo_create_child(h[1], ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0,
                                           2 * PG, &h[2]));
        KTAP_EXPECT_OK(zx_vmo_write(h[2], "2", PG, 1));
        KTAP_EXPECT_OK(zx_vmo_write(h[0], "0", PG, 1));
        KTAP_EXPECT_EQ(vmo_info(h[2]).parent_koid, vmo_info(h[1]).koid);
        static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                         {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
        const char want[3][2] = {{'a', '0'}, {'1', 'b'}, {'1', '2'}};
        bool closed[3] = {false, false, false};
        for (int k = 0; k < 3; k++) {
            closed[orders[order][k]] = true;
            zx_handle_close(h[orders[order][k]]);
            for (int v = 0; v < 3; v++) {
                if (!closed[v]) {
                    KTAP_EXPECT_EQ(byte_at(h[v], 0), want[v][0]);
                    KTAP_EXPECT_EQ(byte_at(h[v], PG), want[v][1]);
                }
            }
        }
    }
}

// A slice is a window on its parent: writes go both ways; slices of resizable VMOs are
// refused; a slice of a slice is a window on the same pages; a snapshot of a slice copies
// only the slice's view.
KTAP_CASE(vmo_slice_rules) {
    zx_handle_t parent = lettered_vmo(3, 0);
    zx_handle_t resizable = lettered_vmo(1, ZX_VMO_RESIZABLE);
    zx_handle_t slice;
    zx_handle_t inner;
    zx_handle_t snap;
    uint64_t size = 0;
    KTAP_ASSERT_TRUE(parent != ZX_HANDLE_INVALID && resizable != ZX_HANDLE_INVALID);
    KTAP_EXPECT_STATUS(zx_vmo_create_child(resizable, ZX_VMO_CHILD_SLICE, 0, PG, &slice),
                       ZX_ERR_NOT_SUPPORTED);
    KTAP_ASSERT_OK(zx_vmo_create_child(parent, ZX_VMO_CHILD_SLICE, PG, 2 * PG, &slice));
    KTAP_EXPECT_OK(zx_vmo_get_size(slice, &size));
    KTAP_EXPECT_EQ(size, 2 * PG);
    KTAP_EXPECT_EQ(byte_at(slice, 0), 'b');
    KTAP_EXPECT_OK(zx_vmo_write(slice, "S", PG, 1));
    KTAP_EXPECT_EQ(byte_at(parent, 2 * PG), 'S');
    KTAP_EXPECT_OK(zx_vmo_write(parent, "P", PG, 1));
    KTAP_EXPECT_EQ(byte_at(slice, 0), 'P');
    KTAP_EXPECT_STATUS(zx_vmo_read(slice, &(char){0}, 2 * PG, 1), ZX_ERR_OUT_OF_RANGE);
    KTAP_EXPECT_STATUS(zx_vmo_set_size(slice, PG), ZX_ERR_ACCESS_DENIED);
    KTAP_ASSERT_OK(zx_vmo_create_child(slice, ZX_VMO_CHILD_SLICE, PG, PG, &inner));
    KTAP_EXPECT_EQ(byte_at(inner, 0), 'S');
    KTAP_EXPECT_EQ(vmo_info(inner).parent_koid, vmo_info(slice).koid);
    KTAP_ASSERT_OK(zx_vmo_create_child(slice, ZX_VMO_CHILD_SNAPSHOT, PG, 2 * PG, &snap));
    KTAP_EXPECT_EQ(byte_at(snap, 0), 'S');
    KTAP_EXPECT_EQ(byte_at(snap, PG), 0);  // past the slice's end, though inside the parent
    KTAP_EXPECT_OK(zx_vmo_write(inner, "I", 0, 1));
    KTAP_EXPECT_EQ(byte_at(snap, 0), 'S');
    KTAP_EXPECT_EQ(byte_at(parent, 2 * PG), 'I');
    // The parent's handle closed first: the slices still reach its pages.
    zx_handle_close(parent);
    KTAP_EXPECT_EQ(byte_at(slice, PG), 'I');
    // Mapped slices write into the parent's pages too.
    zx_vaddr_t addr = 0;
    KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, inner,
                               0, PG, &addr));
    ((volatile char *)addr)[1] = 'M';
    KTAP_EXPECT_EQ(byte_at(slice, PG + 1), 'M');
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), addr, PG));
    zx_handle_close(snap);
    zx_handle_close(inner);
    zx_handle_close(slice);
    zx_handle_close(resizable);
}

// Demand paging: a mapping commits nothing; the first read or write of a page commits that
// page alone; a user copy (zx_vmo_read into an untouched mapping) faults its pages in too;
// an access the mapping does not allow is still a fault (see the process tests).
KTAP_CASE(demand_paging_commits_on_touch) {
    zx_handle_t vmo;
    zx_handle_t src;
    zx_vaddr_t addr = 0;
    KTAP_ASSERT_OK(zx_vmo_create(16 * PG, 0, &vmo));
    KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0,
                               16 * PG, &addr));
    KTAP_EXPECT_EQ(committed_pages(vmo), 0u);
    KTAP_EXPECT_EQ(((volatile char *)addr)[3 * PG], 0);
    KTAP_EXPECT_EQ(committed_pages(vmo), 1u);
    ((volatile char *)addr)[3 * PG + 1] = 'w';
    ((volatile char *)addr)[5 * PG] = 'v';
    KTAP_EXPECT_EQ(committed_pages(vmo), 2u);
    KTAP_EXPECT_EQ(byte_at(vmo, 3 * PG + 1), 'w');
    // A handle write to an untouched page is seen through the mapping afterwards.
    KTAP_EXPECT_OK(zx_vmo_write(vmo, "h", 7 * PG, 1));
    KTAP_EXPECT_EQ(((volatile char *)addr)[7 * PG], 'h');
    KTAP_EXPECT_EQ(committed_pages(vmo), 3u);
    // The kernel writes into untouched mapped pages through a user copy.
    src = lettered_vmo(2, 0);
    KTAP_ASSERT_TRUE(src != ZX_HANDLE_INVALID);
    KTAP_EXPECT_OK(zx_vmo_read(src, (void *)(addr + 10 * PG - 1), PG - 1, 2));
    KTAP_EXPECT_EQ(((volatile char *)addr)[10 * PG], 'b');
    KTAP_EXPECT_EQ(committed_pages(vmo), 5u);
    // A snapshot of the mapped VMO shares its committed pages (its mapping turns read-only
    // over them): neither side holds a page alone ...
    zx_handle_t snap;
    KTAP_ASSERT_OK(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, 16 * PG, &snap));
    KTAP_EXPECT_EQ(committed_pages(snap), 0u);
    KTAP_EXPECT_EQ(committed_pages(vmo), 0u);
    KTAP_EXPECT_EQ(byte_at(snap, 5 * PG), 'v');
    // ... until a write through the mapping faults and copies that one page.
    ((volatile char *)addr)[5 * PG] = 'V';
    KTAP_EXPECT_EQ(byte_at(snap, 5 * PG), 'v');
    KTAP_EXPECT_EQ(byte_at(vmo, 5 * PG), 'V');
    KTAP_EXPECT_EQ(committed_pages(vmo), 1u);
    KTAP_EXPECT_EQ(committed_pages(snap), 1u);  // its last sharer
    KTAP_EXPECT_EQ(((volatile char *)addr)[3 * PG + 1], 'w');  // reads copy nothing
    KTAP_EXPECT_EQ(committed_pages(vmo), 1u);
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), addr, 16 * PG));
    zx_handle_close(snap);
    zx_handle_close(src);
    zx_handle_close(vmo);
}

// ZX_VM_MAP_RANGE enters the pages a VMO holds at map time and commits nothing; pages a
// snapshot shares with its parent still go through the copy-on-write fault.
KTAP_CASE(vmar_map_range_commits_nothing_and_keeps_cow) {
    zx_handle_t parent = lettered_vmo(4, 0);
    zx_handle_t snap;
    zx_vaddr_t addr = 0;
    zx_vaddr_t snap_addr = 0;
    zx_vm_option_t rw = ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_MAP_RANGE;
    KTAP_ASSERT_TRUE(parent != ZX_HANDLE_INVALID);
    KTAP_ASSERT_OK(zx_vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, 6 * PG, &snap));
    KTAP_ASSERT_OK(zx_vmo_write(snap, "s", 2 * PG, 1));  // its own page 2, the rest shared
    KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), rw, 0, snap, 0, 6 * PG, &snap_addr));
    KTAP_EXPECT_EQ(committed_pages(snap), 1u);
    volatile char *s = (volatile char *)snap_addr;
    KTAP_EXPECT_EQ(s[0], 'a');
    KTAP_EXPECT_EQ(s[2 * PG], 's');
    KTAP_EXPECT_EQ(s[5 * PG], 0);
    s[PG] = 'x';  // a shared page: the snapshot's own copy, the parent keeps its 'b'
    KTAP_EXPECT_EQ(byte_at(parent, PG), 'b');
    KTAP_EXPECT_EQ(byte_at(snap, PG), 'x');
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), snap_addr, 6 * PG));
    // The parent's own pages: the same bytes through the handle and the mapping, both ways.
    uint64_t before = committed_pages(parent);
    KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), rw, 0, parent, 0, 4 * PG, &addr));
    KTAP_EXPECT_EQ(committed_pages(parent), before);
    volatile char *p = (volatile char *)addr;
    KTAP_EXPECT_EQ(p[3 * PG], 'd');
    p[3 * PG + 1] = 'w';
    KTAP_EXPECT_EQ(byte_at(parent, 3 * PG + 1), 'w');
    KTAP_EXPECT_OK(zx_vmo_write(parent, "h", 0, 1));
    KTAP_EXPECT_EQ(p[0], 'h');
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), addr, 4 * PG));
    zx_handle_close(snap);
    zx_handle_close(parent);
}

// ZX_INFO_PROCESS_MAPS: depth-first pre-order, depth 0 the aspace, 1 the root VMAR, then a
// sub-VMAR and the mapping inside it with its permissions, VMO koid, offset and pages.
static const zx_info_maps_t *find_map(const zx_info_maps_t *maps, size_t n, zx_vaddr_t base) {
    for (size_t i = 0; i < n; i++) {
        if (maps[i].base == base && maps[i].depth >= 2) {
            return &maps[i];
        }
    }
    return NULL;
}

KTAP_CASE(info_process_maps_layout) {
    static zx_info_maps_t maps[256];
    zx_handle_t vmar;
    zx_handle_t vmo;
    zx_handle_t weak;
    zx_vaddr_t vmar_base = 0;
    zx_vaddr_t addr = 0;
    size_t actual = 0;
    size_t avail = 0;
    KTAP_ASSERT_OK(zx_vmar_allocate(zx_vmar_root_self(),
                                    ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE |
                                        ZX_VM_CAN_MAP_SPECIFIC,
                                    0, 16 * PG, &vmar, &vmar_base));
    KTAP_ASSERT_OK(zx_vmo_create(8 * PG, 0, &vmo));
    KTAP_ASSERT_OK(zx_object_set_property(vmo, ZX_PROP_NAME, "maps-vmo", 8));
    KTAP_ASSERT_OK(zx_vmar_map(vmar, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 4 * PG, vmo, 2 * PG,
                               3 * PG, &addr));
    KTAP_EXPECT_OK(zx_vmo_write(vmo, "x", 3 * PG, 1));
    KTAP_ASSERT_OK(zx_object_get_info(zx_process_self(), ZX_INFO_PROCESS_MAPS, maps, sizeof(maps),
                                      &actual, &avail));
    KTAP_ASSERT_TRUE(actual >= 4 && actual == avail);
    KTAP_EXPECT_EQ(maps[0].depth, 0u);
    KTAP_EXPECT_EQ(maps[0].type, ZX_INFO_MAPS_TYPE_ASPACE);
    KTAP_EXPECT_EQ(maps[1].depth, 1u);
    KTAP_EXPECT_EQ(maps[1].type, ZX_INFO_MAPS_TYPE_VMAR);
    KTAP_EXPECT_EQ(maps[1].base, 0x1000000u);
    for (size_t i = 2; i < actual; i++) {
        KTAP_EXPECT_TRUE(maps[i].depth >= 2 && maps[i].depth <= maps[i - 1].depth + 1);
        KTAP_EXPECT_TRUE(maps[i].base >= maps[i - 1].base);
    }
    const zx_info_maps_t *sub = find_map(maps, actual, vmar_base);
    const zx_info_maps_t *map = find_map(maps, actual, addr);
    KTAP_ASSERT_TRUE(sub != NULL && map != NULL);
    KTAP_EXPECT_EQ(sub->type, ZX_INFO_MAPS_TYPE_VMAR);
    KTAP_EXPECT_EQ(sub->size, 16 * PG);
    KTAP_EXPECT_EQ(map, sub + 1);  // pre-order: the mapping right after its VMAR
    KTAP_EXPECT_EQ(map->depth, sub->depth + 1);
    KTAP_EXPECT_EQ(map->type, ZX_INFO_MAPS_TYPE_MAPPING);
    KTAP_EXPECT_EQ(map->size, 3 * PG);
    KTAP_EXPECT_EQ(strcmp(map->name, "maps-vmo"), 0);
    KTAP_EXPECT_EQ(map->u.mapping.mmu_flags, ZX_VM_PERM_READ);
    KTAP_EXPECT_EQ(map->u.mapping.vmo_koid, vmo_info(vmo).koid);
    KTAP_EXPECT_EQ(map->u.mapping.vmo_offset, 2 * PG);
    KTAP_EXPECT_EQ(map->u.mapping.committed_pages, 1u);
    // A small buffer: as many as fit, ZX_OK, and how many there are.
    KTAP_EXPECT_OK(zx_object_get_info(zx_process_self(), ZX_INFO_PROCESS_MAPS, maps,
                                      2 * sizeof(maps[0]), &actual, &avail));
    KTAP_EXPECT_EQ(actual, 2u);
    KTAP_EXPECT_TRUE(avail >= 4);
    // READ is needed on the process handle.
    KTAP_ASSERT_OK(zx_handle_duplicate(zx_process_self(), ZX_RIGHT_INSPECT, &weak));
    KTAP_EXPECT_STATUS(zx_object_get_info(weak, ZX_INFO_PROCESS_MAPS, maps, sizeof(maps), &actual,
                                          &avail),
                       ZX_ERR_ACCESS_DENIED);
    zx_handle_close(weak);
    KTAP_EXPECT_OK(zx_vmar_destroy(vmar));
    zx_handle_close(vmar);
    zx_handle_close(vmo);
}

// ZX_INFO_PROCESS_VMOS: one record per VMO handle (VIA_HANDLE, with its rights) and one per
// mapping (VIA_MAPPING).
KTAP_CASE(info_process_vmos) {
    static zx_info_vmo_t vmos[256];
    zx_handle_t vmo;
    zx_handle_t child;
    zx_vaddr_t addr = 0;
    size_t actual = 0;
    size_t avail = 0;
    KTAP_ASSERT_OK(zx_vmo_create(2 * PG, 0, &vmo));
    KTAP_ASSERT_OK(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_NO_WRITE, 0, PG,
                                       &child));
    KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0, child, 0, PG, &addr));
    KTAP_ASSERT_OK(zx_object_get_info(zx_process_self(), ZX_INFO_PROCESS_VMOS, vmos, sizeof(vmos),
                                      &actual, &avail));
    KTAP_EXPECT_EQ(actual, avail);
    zx_koid_t parent_koid = vmo_info(vmo).koid;
    zx_koid_t child_koid = vmo_info(child).koid;
    int via_handle = 0;
    int via_mapping = 0;
    for (size_t i = 0; i < actual; i++) {
        if (vmos[i].koid == child_koid && (vmos[i].flags & ZX_INFO_VMO_VIA_HANDLE)) {
            via_handle++;
            KTAP_EXPECT_EQ(vmos[i].handle_rights, rights_of(child));
            KTAP_EXPECT_EQ(vmos[i].parent_koid, parent_koid);
        }
        if (vmos[i].koid == child_koid && (vmos[i].flags & ZX_INFO_VMO_VIA_MAPPING)) {
            via_mapping++;
        }
    }
    KTAP_EXPECT_EQ(via_handle, 1);
    KTAP_EXPECT_EQ(via_mapping, 1);
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), addr, PG));
    zx_handle_close(child);
    zx_handle_close(vmo);
}

static bool zero_children(zx_handle_t vmo) {
    zx_signals_t seen = 0;
    (void)zx_object_wait_one(vmo, ZX_VMO_ZERO_CHILDREN, 0, &seen);
    return (seen & ZX_VMO_ZERO_CHILDREN) != 0;
}

// ZX_VMO_ZERO_CHILDREN and num_children follow the live direct children, snapshots and
// slices alike; a mapping keeps a child alive after its handle is closed.
KTAP_CASE(vmo_zero_children_signal) {
    zx_handle_t parent = lettered_vmo(2, 0);
    zx_handle_t snap;
    zx_handle_t slice;
    zx_handle_t grandchild;
    zx_vaddr_t addr = 0;
    KTAP_ASSERT_TRUE(parent != ZX_HANDLE_INVALID);
    KTAP_EXPECT_TRUE(zero_children(parent));
    KTAP_EXPECT_EQ(vmo_info(parent).num_children, 0u);
    KTAP_ASSERT_OK(zx_vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, PG, &snap));
    KTAP_EXPECT_TRUE(!zero_children(parent));
    KTAP_EXPECT_TRUE(zero_children(snap));
    KTAP_ASSERT_OK(zx_vmo_create_child(parent, ZX_VMO_CHILD_SLICE, PG, PG, &slice));
    KTAP_EXPECT_EQ(vmo_info(parent).num_children, 2u);
    // A grandchild counts for its own parent only.
    KTAP_ASSERT_OK(zx_vmo_create_child(snap, ZX_VMO_CHILD_SNAPSHOT, 0, PG, &grandchild));
    KTAP_EXPECT_EQ(vmo_info(parent).num_children, 2u);
    KTAP_EXPECT_EQ(vmo_info(snap).num_children, 1u);
    KTAP_EXPECT_TRUE(!zero_children(snap));
    zx_handle_close(grandchild);
    KTAP_EXPECT_TRUE(zero_children(snap));
    // A failed create changes nothing.
    zx_handle_t bad = ZX_HANDLE_INVALID;
    KTAP_EXPECT_STATUS(zx_vmo_create_child(snap, ZX_VMO_CHILD_SLICE, 0, 4 * PG, &bad),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_TRUE(zero_children(snap));
    // The snapshot mapped, then its handle closed: still a child until unmapped.
    KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0, snap, 0, PG, &addr));
    zx_handle_close(snap);
    zx_handle_close(slice);
    KTAP_EXPECT_EQ(vmo_info(parent).num_children, 1u);
    KTAP_EXPECT_TRUE(!zero_children(parent));
    KTAP_EXPECT_EQ(((volatile char *)addr)[0], 'a');
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), addr, PG));
    KTAP_EXPECT_EQ(vmo_info(parent).num_children, 0u);
    KTAP_EXPECT_TRUE(zero_children(parent));
    KTAP_EXPECT_OK(zx_object_wait_one(parent, ZX_VMO_ZERO_CHILDREN, ZX_TIME_INFINITE, NULL));
    zx_handle_close(parent);
}

// The parent closed first: the child lives on with its parent koid, and its own children
// still count.
KTAP_CASE(vmo_zero_children_parent_first) {
    zx_handle_t parent = lettered_vmo(1, 0);
    zx_handle_t child;
    zx_handle_t grandchild;
    KTAP_ASSERT_TRUE(parent != ZX_HANDLE_INVALID);
    zx_koid_t parent_koid = koid_of(parent);
    KTAP_ASSERT_OK(zx_vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, PG, &child));
    zx_handle_close(parent);
    KTAP_EXPECT_EQ(vmo_info(child).parent_koid, parent_koid);
    KTAP_EXPECT_EQ(byte_at(child, 0), 'a');
    KTAP_ASSERT_OK(zx_vmo_create_child(child, ZX_VMO_CHILD_SLICE, 0, PG, &grandchild));
    KTAP_EXPECT_TRUE(!zero_children(child));
    zx_handle_close(child);  // the slice keeps it alive (it forwards to it)
    KTAP_EXPECT_EQ(byte_at(grandchild, 0), 'a');
    KTAP_EXPECT_TRUE(zero_children(grandchild));
    zx_handle_close(grandchild);
}

// num_mappings counts mappings, share_count the address spaces holding them (at least 1).
KTAP_CASE(vmo_info_mappings_and_share_count) {
    zx_handle_t vmo = lettered_vmo(2, 0);
    zx_handle_t proc;
    zx_handle_t vmar;
    zx_vaddr_t a = 0;
    zx_vaddr_t b = 0;
    zx_vaddr_t c = 0;
    KTAP_ASSERT_TRUE(vmo != ZX_HANDLE_INVALID);
    KTAP_EXPECT_EQ(vmo_info(vmo).num_mappings, 0u);
    KTAP_EXPECT_EQ(vmo_info(vmo).share_count, 1u);
    KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0, vmo, 0, 2 * PG, &a));
    KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0, vmo, PG, PG, &b));
    KTAP_EXPECT_EQ(vmo_info(vmo).num_mappings, 2u);
    KTAP_EXPECT_EQ(vmo_info(vmo).share_count, 1u);
    KTAP_ASSERT_OK(zx_process_create(zx_job_default(), "share", 5, 0, &proc, &vmar));
    KTAP_ASSERT_OK(zx_vmar_map(vmar, ZX_VM_PERM_READ, 0, vmo, 0, PG, &c));
    KTAP_EXPECT_EQ(vmo_info(vmo).num_mappings, 3u);
    KTAP_EXPECT_EQ(vmo_info(vmo).share_count, 2u);
    // Splitting a mapping makes two: still two address spaces.
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), a, PG));
    KTAP_EXPECT_OK(zx_vmar_protect(zx_vmar_root_self(), ZX_VM_PERM_READ, a + PG, PG));
    KTAP_EXPECT_EQ(vmo_info(vmo).share_count, 2u);
    KTAP_EXPECT_OK(zx_vmar_unmap(vmar, c, PG));
    KTAP_EXPECT_EQ(vmo_info(vmo).share_count, 1u);
    KTAP_EXPECT_EQ(vmo_info(vmo).num_mappings, 2u);
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), a + PG, PG));
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), b, PG));
    KTAP_EXPECT_EQ(vmo_info(vmo).num_mappings, 0u);
    zx_handle_close(vmar);
    zx_handle_close(proc);
    zx_handle_close(vmo);
}

static zx_vaddr_t map_rw(zx_handle_t vmar, zx_handle_t vmo, size_t len) {
    zx_vaddr_t addr = 0;
    if (zx_vmar_map(vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0, len, &addr) != ZX_OK) {
        return 0;
    }
    return addr;
}

// A read fault on a page a clone still shares maps the shared page read-only (nothing is
// committed); a write fault then copies that one page; handle writes on either side stay
// private and show through the mappings at once.
KTAP_CASE(cow_read_fault_shares) {
    zx_handle_t parent = lettered_vmo(4, 0);
    zx_handle_t child;
    KTAP_ASSERT_TRUE(parent != ZX_HANDLE_INVALID);
    KTAP_ASSERT_OK(zx_vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, 4 * PG, &child));
    volatile char *m = (volatile char *)map_rw(zx_vmar_root_self(), child, 4 * PG);
    KTAP_ASSERT_TRUE(m != NULL);
    for (size_t i = 0; i < 4; i++) {
        KTAP_EXPECT_EQ(m[i * PG], (char)('a' + i));
    }
    KTAP_EXPECT_EQ(committed_pages(child), 0u);
    KTAP_EXPECT_EQ(committed_pages(parent), 0u);
    // The child writes page 1 through the mapping: one copy.
    m[PG] = 'B';
    KTAP_EXPECT_EQ(m[PG], 'B');
    KTAP_EXPECT_EQ(byte_at(child, PG), 'B');
    KTAP_EXPECT_EQ(byte_at(parent, PG), 'b');
    KTAP_EXPECT_EQ(committed_pages(child), 1u);
    KTAP_EXPECT_EQ(committed_pages(parent), 1u);  // its last sharer now
    // The parent writes page 2 through its handle: the child's mapping keeps the old byte.
    KTAP_EXPECT_OK(zx_vmo_write(parent, "C", 2 * PG, 1));
    KTAP_EXPECT_EQ(m[2 * PG], 'c');
    // The child writes page 3 through its handle while the mapping maps the shared page:
    // the mapping shows the child's new page, the parent keeps its own.
    KTAP_EXPECT_OK(zx_vmo_write(child, "D", 3 * PG, 1));
    KTAP_EXPECT_EQ(m[3 * PG], 'D');
    KTAP_EXPECT_EQ(byte_at(parent, 3 * PG), 'd');
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)m, 4 * PG));
    zx_handle_close(child);
    KTAP_EXPECT_EQ(committed_pages(parent), 4u);
    zx_handle_close(parent);
}

// The same shared page mapped at two addresses: a write through one copies it and the other
// address shows the copy too.
KTAP_CASE(cow_read_fault_two_mappings) {
    zx_handle_t parent = lettered_vmo(2, 0);
    zx_handle_t child;
    KTAP_ASSERT_TRUE(parent != ZX_HANDLE_INVALID);
    KTAP_ASSERT_OK(zx_vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PG, &child));
    volatile char *a = (volatile char *)map_rw(zx_vmar_root_self(), child, 2 * PG);
    volatile char *b = (volatile char *)map_rw(zx_vmar_root_self(), child, 2 * PG);
    KTAP_ASSERT_TRUE(a != NULL && b != NULL);
    KTAP_EXPECT_EQ(a[0], 'a');
    KTAP_EXPECT_EQ(b[0], 'a');
    KTAP_EXPECT_EQ(committed_pages(child), 0u);
    a[0] = 'x';
    KTAP_EXPECT_EQ(b[0], 'x');
    KTAP_EXPECT_EQ(byte_at(parent, 0), 'a');
    KTAP_EXPECT_EQ(committed_pages(child), 1u);
    // Raising a read-only view to writable never lets a write reach the shared page.
    KTAP_EXPECT_EQ(b[PG], 'b');
    KTAP_EXPECT_OK(zx_vmar_protect(zx_vmar_root_self(), ZX_VM_PERM_READ, (zx_vaddr_t)b, 2 * PG));
    KTAP_EXPECT_OK(zx_vmar_protect(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE,
                                   (zx_vaddr_t)b, 2 * PG));
    b[PG] = 'y';
    KTAP_EXPECT_EQ(a[PG], 'y');
    KTAP_EXPECT_EQ(byte_at(parent, PG), 'b');
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)a, 2 * PG));
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)b, 2 * PG));
    zx_handle_close(child);
    zx_handle_close(parent);
}

// A clone whose shared pages are mapped here gets mapped in a second address space: its
// writes afterwards still show through our mapping.
KTAP_CASE(cow_read_fault_then_second_aspace) {
    zx_handle_t parent = lettered_vmo(2, 0);
    zx_handle_t child;
    zx_handle_t proc;
    zx_handle_t vmar;
    zx_vaddr_t other = 0;
    KTAP_ASSERT_TRUE(parent != ZX_HANDLE_INVALID);
    KTAP_ASSERT_OK(zx_vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PG, &child));
    volatile char *m = (volatile char *)map_rw(zx_vmar_root_self(), child, 2 * PG);
    KTAP_ASSERT_TRUE(m != NULL);
    KTAP_EXPECT_EQ(m[0], 'a');
    KTAP_EXPECT_EQ(m[PG], 'b');
    KTAP_ASSERT_OK(zx_process_create(zx_job_default(), "cow2", 4, 0, &proc, &vmar));
    KTAP_ASSERT_OK(zx_vmar_map(vmar, ZX_VM_PERM_READ, 0, child, 0, 2 * PG, &other));
    KTAP_EXPECT_EQ(vmo_info(child).share_count, 2u);
    KTAP_EXPECT_OK(zx_vmo_write(child, "A", 0, 1));
    KTAP_EXPECT_EQ(m[0], 'A');
    m[PG] = 'B';
    KTAP_EXPECT_EQ(byte_at(child, PG), 'B');
    KTAP_EXPECT_EQ(byte_at(parent, 0), 'a');
    KTAP_EXPECT_EQ(byte_at(parent, PG), 'b');
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)m, 2 * PG));
    zx_handle_close(vmar);
    zx_handle_close(proc);
    zx_handle_close(child);
    zx_handle_close(parent);
}

// A snapshot of a VMO mapped writable elsewhere (another process's address space): the
// mapping is write-protected, nothing is copied.
KTAP_CASE(cow_snapshot_mapped_elsewhere) {
    zx_handle_t vmo = lettered_vmo(3, 0);
    zx_handle_t proc;
    zx_handle_t vmar;
    zx_handle_t snap;
    KTAP_ASSERT_TRUE(vmo != ZX_HANDLE_INVALID);
    KTAP_ASSERT_OK(zx_process_create(zx_job_default(), "cow2", 4, 0, &proc, &vmar));
    KTAP_ASSERT_TRUE(map_rw(vmar, vmo, 3 * PG) != 0);
    KTAP_ASSERT_OK(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, 3 * PG, &snap));
    KTAP_EXPECT_EQ(committed_pages(snap), 0u);
    KTAP_EXPECT_EQ(committed_pages(vmo), 0u);
    KTAP_EXPECT_OK(zx_vmo_write(vmo, "X", PG, 1));
    KTAP_EXPECT_EQ(byte_at(snap, PG), 'b');
    KTAP_EXPECT_EQ(committed_pages(vmo), 1u);
    // Mapped in two address spaces: a snapshot copies (no write-protection across them).
    zx_handle_t snap2;
    volatile char *m = (volatile char *)map_rw(zx_vmar_root_self(), vmo, 3 * PG);
    KTAP_ASSERT_TRUE(m != NULL);
    KTAP_ASSERT_OK(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, 3 * PG, &snap2));
    m[0] = 'Y';
    KTAP_EXPECT_EQ(byte_at(snap2, 0), 'a');
    KTAP_EXPECT_EQ(byte_at(snap, 0), 'a');
    KTAP_EXPECT_EQ(byte_at(snap2, PG), 'X');
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)m, 3 * PG));
    zx_handle_close(snap2);
    zx_handle_close(snap);
    zx_handle_close(vmar);
    zx_handle_close(proc);
    zx_handle_close(vmo);
}
