// VMOs and VMARs: read/write/size, mapping and seeing the same bytes.
#include <ktap.h>
#include <string.h>
#include <zircon/process.h>

#include "child.h"

KTAP_CASE(vmo_read_write_size) {
    zx_handle_t vmo;
    uint64_t size = 0;
    char buf[8] = {0};
    KTAP_ASSERT_OK(zx_vmo_create(100, ZX_VMO_RESIZABLE, &vmo));
    KTAP_EXPECT_OK(zx_vmo_get_size(vmo, &size));
    KTAP_EXPECT_EQ(size, CHILD_PAGE_SIZE);  // rounded up to whole pages
    KTAP_EXPECT_OK(zx_vmo_write(vmo, "zircon", 10, 6));
    KTAP_EXPECT_OK(zx_vmo_read(vmo, buf, 10, 6));
    KTAP_EXPECT_EQ(memcmp(buf, "zircon", 6), 0);
    KTAP_EXPECT_STATUS(zx_vmo_read(vmo, buf, CHILD_PAGE_SIZE - 2, 4), ZX_ERR_OUT_OF_RANGE);
    KTAP_EXPECT_OK(zx_vmo_set_size(vmo, 3 * CHILD_PAGE_SIZE));
    KTAP_EXPECT_OK(zx_vmo_get_size(vmo, &size));
    KTAP_EXPECT_EQ(size, 3 * CHILD_PAGE_SIZE);
    zx_handle_close(vmo);
}

KTAP_CASE(vmar_map_shares_vmo_pages) {
    zx_handle_t vmo;
    zx_vaddr_t addr = 0;
    char buf[4] = {0};
    KTAP_ASSERT_OK(zx_vmo_create(CHILD_PAGE_SIZE, 0, &vmo));
    KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0,
                               CHILD_PAGE_SIZE, &addr));
    memcpy((void *)addr, "abc", 3);
    KTAP_EXPECT_OK(zx_vmo_read(vmo, buf, 0, 3));
    KTAP_EXPECT_EQ(memcmp(buf, "abc", 3), 0);
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), addr, CHILD_PAGE_SIZE));
    zx_handle_close(vmo);
}

// Zircon's default VMO rights lack EXECUTE: code must go through zx_vmo_replace_as_executable
// (vmex ZX_HANDLE_INVALID: the ambient policy allows it), which consumes the old handle.
KTAP_CASE(vmo_replace_as_executable) {
    zx_handle_t vmo;
    zx_handle_t exec;
    zx_handle_t event;
    zx_vaddr_t addr = 0;
    KTAP_ASSERT_OK(zx_vmo_create(CHILD_PAGE_SIZE, 0, &vmo));
    KTAP_EXPECT_EQ(rights_of(vmo), ZX_DEFAULT_VMO_RIGHTS);
    KTAP_EXPECT_STATUS(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE, 0,
                                   vmo, 0, CHILD_PAGE_SIZE, &addr),
                       ZX_ERR_ACCESS_DENIED);
    KTAP_ASSERT_OK(zx_vmo_replace_as_executable(vmo, ZX_HANDLE_INVALID, &exec));
    KTAP_EXPECT_EQ(rights_of(exec), ZX_DEFAULT_VMO_RIGHTS | ZX_RIGHT_EXECUTE);
    KTAP_EXPECT_STATUS(zx_handle_close(vmo), ZX_ERR_BAD_HANDLE);
    KTAP_EXPECT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE, 0, exec,
                               0, CHILD_PAGE_SIZE, &addr));
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), addr, CHILD_PAGE_SIZE));
    // A vmex that is not a resource is WRONG_TYPE, and the VMO handle is still consumed.
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_EXPECT_STATUS(zx_vmo_replace_as_executable(exec, event, &vmo), ZX_ERR_WRONG_TYPE);
    KTAP_EXPECT_STATUS(zx_handle_close(exec), ZX_ERR_BAD_HANDLE);
    KTAP_EXPECT_STATUS(zx_vmo_replace_as_executable(event, ZX_HANDLE_INVALID, &vmo),
                       ZX_ERR_WRONG_TYPE);
    KTAP_EXPECT_STATUS(zx_handle_close(event), ZX_ERR_BAD_HANDLE);
}

// The root VMAR is Zircon's user range, [16 MiB, 2^47 - 4 KiB): the kernel lives in the upper
// half, so the lowest user page is usable, and a kernel address is not a user pointer.
KTAP_CASE(root_vmar_is_zircons_user_range) {
    zx_info_vmar_t info = {0};
    zx_handle_t vmo;
    zx_vaddr_t addr = 0;
    KTAP_ASSERT_OK(zx_object_get_info(zx_vmar_root_self(), ZX_INFO_VMAR, &info, sizeof(info),
                                      NULL, NULL));
    KTAP_EXPECT_EQ(info.base, 0x1000000u);
    KTAP_EXPECT_EQ(info.len, 0x7ffffffff000u - 0x1000000u);
    KTAP_ASSERT_OK(zx_vmo_create(CHILD_PAGE_SIZE, 0, &vmo));
    KTAP_EXPECT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 0, vmo, 0,
                               CHILD_PAGE_SIZE, &addr));
    KTAP_EXPECT_EQ(addr, info.base);
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), info.base, CHILD_PAGE_SIZE));
    KTAP_EXPECT_STATUS(zx_vmo_write(vmo, (const void *)(uintptr_t)0xffffff8000100000ull, 0, 8),
                       ZX_ERR_INVALID_ARGS);
    zx_handle_close(vmo);
}
