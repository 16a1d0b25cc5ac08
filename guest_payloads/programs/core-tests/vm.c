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
