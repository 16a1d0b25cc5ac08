// Handles and rights: rights only shrink, operations need their rights, bad handles and bad
// user pointers are errors (never crashes), koids are unique and increasing.
#include <ktap.h>
#include <zircon/process.h>

#include "child.h"

#define BOGUS_HANDLE ((zx_handle_t)0x7ffffff3u)
#define KERNEL_POINTER ((void *)(uintptr_t)0xffff800000001000ull)

KTAP_CASE(write_without_write_right) {
    zx_handle_t vmo;
    zx_handle_t read_only;
    uint8_t byte = 1;
    KTAP_ASSERT_OK(zx_vmo_create(CHILD_PAGE_SIZE, 0, &vmo));
    KTAP_EXPECT_OK(zx_handle_duplicate(vmo, ZX_RIGHT_READ | ZX_RIGHT_DUPLICATE, &read_only));
    KTAP_EXPECT_EQ(rights_of(read_only), ZX_RIGHT_READ | ZX_RIGHT_DUPLICATE);
    KTAP_EXPECT_STATUS(zx_vmo_write(read_only, &byte, 0, 1), ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_OK(zx_vmo_read(read_only, &byte, 0, 1));
    zx_handle_close(read_only);
    zx_handle_close(vmo);
}

KTAP_CASE(rights_never_grow) {
    zx_handle_t event;
    zx_handle_t small;
    zx_handle_t other;
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_ASSERT_OK(zx_handle_duplicate(event, ZX_RIGHT_DUPLICATE | ZX_RIGHT_TRANSFER, &small));
    KTAP_EXPECT_STATUS(zx_handle_duplicate(small, ZX_RIGHT_DUPLICATE | ZX_RIGHT_SIGNAL, &other),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_handle_replace(small, ZX_RIGHT_DUPLICATE | ZX_RIGHT_SIGNAL, &other),
                       ZX_ERR_INVALID_ARGS);
    // A failed replace still consumed `small`.
    KTAP_EXPECT_STATUS(zx_handle_close(small), ZX_ERR_BAD_HANDLE);
    KTAP_ASSERT_OK(zx_handle_replace(event, ZX_RIGHT_TRANSFER, &other));
    KTAP_EXPECT_STATUS(zx_handle_close(event), ZX_ERR_BAD_HANDLE);
    KTAP_EXPECT_EQ(rights_of(other), ZX_RIGHT_TRANSFER);
    KTAP_EXPECT_STATUS(zx_object_signal(other, 0, ZX_USER_SIGNAL_0), ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_OK(zx_handle_close(other));
}

KTAP_CASE(bad_handles) {
    zx_handle_t event;
    zx_handle_t out;
    KTAP_EXPECT_OK(zx_handle_close(ZX_HANDLE_INVALID));
    KTAP_EXPECT_STATUS(zx_handle_close(BOGUS_HANDLE), ZX_ERR_BAD_HANDLE);
    KTAP_EXPECT_STATUS(zx_handle_duplicate(BOGUS_HANDLE, ZX_RIGHT_SAME_RIGHTS, &out),
                       ZX_ERR_BAD_HANDLE);
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_EXPECT_OK(zx_handle_close(event));
    KTAP_EXPECT_STATUS(zx_handle_close(event), ZX_ERR_BAD_HANDLE);
    KTAP_EXPECT_STATUS(zx_object_signal(event, 0, ZX_USER_SIGNAL_0), ZX_ERR_BAD_HANDLE);
}

KTAP_CASE(wrong_handle_type) {
    zx_handle_t event;
    uint8_t byte = 0;
    uint64_t size;
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_EXPECT_STATUS(zx_vmo_write(event, &byte, 0, 1), ZX_ERR_WRONG_TYPE);
    KTAP_EXPECT_STATUS(zx_vmo_get_size(event, &size), ZX_ERR_WRONG_TYPE);
    zx_handle_close(event);
}

KTAP_CASE(bad_user_pointers) {
    zx_handle_t vmo;
    zx_handle_t a;
    zx_handle_t b;
    KTAP_ASSERT_OK(zx_vmo_create(CHILD_PAGE_SIZE, 0, &vmo));
    KTAP_EXPECT_STATUS(zx_vmo_read(vmo, (void *)8, 0, 16), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_vmo_write(vmo, KERNEL_POINTER, 0, 16), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_vmo_get_size(vmo, KERNEL_POINTER), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_object_get_info(vmo, ZX_INFO_HANDLE_BASIC, NULL,
                                          sizeof(zx_info_handle_basic_t), NULL, NULL),
                       ZX_ERR_INVALID_ARGS);
    KTAP_ASSERT_OK(zx_channel_create(0, &a, &b));
    KTAP_EXPECT_STATUS(zx_channel_write(a, 0, KERNEL_POINTER, 8, NULL, 0), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_event_create(0, (zx_handle_t *)8), ZX_ERR_INVALID_ARGS);
    zx_handle_close(a);
    zx_handle_close(b);
    zx_handle_close(vmo);
}

KTAP_CASE(koids_unique_and_increasing) {
    zx_handle_t events[4];
    zx_koid_t last = ZX_KOID_KERNEL;
    for (int i = 0; i < 4; i++) {
        KTAP_ASSERT_OK(zx_event_create(0, &events[i]));
        zx_koid_t koid = koid_of(events[i]);
        KTAP_EXPECT_TRUE(koid > last);
        last = koid;
    }
    KTAP_EXPECT_OK(zx_handle_close(events[0]));
    KTAP_ASSERT_OK(zx_event_create(0, &events[0]));
    KTAP_EXPECT_TRUE(koid_of(events[0]) > last);
    zx_handle_t dup;
    KTAP_ASSERT_OK(zx_handle_duplicate(events[1], ZX_RIGHT_SAME_RIGHTS, &dup));
    KTAP_EXPECT_EQ(koid_of(dup), koid_of(events[1]));
    KTAP_EXPECT_NE(dup, events[1]);
    zx_handle_close(dup);
    zx_handle_close_many(events, 4);
}

KTAP_CASE(handle_values_not_indices) {
    zx_handle_t a;
    zx_handle_t b;
    KTAP_ASSERT_OK(zx_event_create(0, &a));
    KTAP_ASSERT_OK(zx_event_create(0, &b));
    KTAP_EXPECT_EQ(a & 3u, 3u);  // Zircon's handle values have their two low bits set
    KTAP_EXPECT_EQ(b & 3u, 3u);
    zx_handle_close(a);
    zx_handle_close(b);
}
