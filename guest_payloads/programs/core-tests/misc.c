// Time, randomness and names.
#include <ktap.h>
#include <string.h>
#include <zircon/syscalls.h>

#define SLEEP_MS 2  // two ticks: the sleep must last at least this long

KTAP_CASE(clock_and_sleep) {
    zx_time_t before = zx_clock_get_monotonic();
    KTAP_EXPECT_TRUE(before > 0);
    KTAP_EXPECT_OK(zx_nanosleep(zx_deadline_after(ZX_MSEC(SLEEP_MS))));
    zx_time_t after = zx_clock_get_monotonic();
    ktap_diag("sleep %d ms took %lld us", SLEEP_MS, (long long)((after - before) / 1000));
    KTAP_EXPECT_TRUE(after - before >= ZX_MSEC(SLEEP_MS));
    KTAP_EXPECT_EQ(zx_deadline_after(ZX_TIME_INFINITE), ZX_TIME_INFINITE);
}

KTAP_CASE(cprng_draw_fills) {
    uint64_t a = 0;
    uint64_t b = 0;
    zx_cprng_draw(&a, sizeof(a));
    zx_cprng_draw(&b, sizeof(b));
    KTAP_EXPECT_NE(a, b);
}

KTAP_CASE(object_name_property) {
    zx_handle_t vmo;
    char name[ZX_MAX_NAME_LEN] = {0};
    KTAP_ASSERT_OK(zx_vmo_create(4096, 0, &vmo));
    KTAP_EXPECT_OK(zx_object_set_property(vmo, ZX_PROP_NAME, "scratch", 7));
    KTAP_EXPECT_OK(zx_object_get_property(vmo, ZX_PROP_NAME, name, sizeof(name)));
    KTAP_EXPECT_EQ(strcmp(name, "scratch"), 0);
    KTAP_EXPECT_STATUS(zx_object_get_property(vmo, ZX_PROP_NAME, name, 4), ZX_ERR_BUFFER_TOO_SMALL);
    zx_handle_close(vmo);
}
