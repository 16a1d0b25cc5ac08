// VMOs under concurrency: zx_vmo_set_size from several threads, zx_vmo_write/read racing a
// shrink (with canary VMOs that must never see the writer's bytes), and resize against map.
#include <stdio.h>
#include <string.h>
#include <zhb/runtime.h>

#include "stress.h"

#define MAX_PAGES 2048u
#define SMALL_PAGES 64u
#define WRITER_BYTE 0xa5
#define CANARY_BYTE 0x3c
#define CANARY_PAGES 8u
#define CANARIES 4

// ---- vmo_concurrent_set_size ---------------------------------------------------------------

struct resize {
    volatile uint64_t stop;
    zx_handle_t vmo;
    volatile uint64_t ops;
    struct tk_failure fail;
};

static void resize_thread(void *arg) {
    struct resize *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        uint64_t pages = tk_below(&rng, 4) == 0 ? MAX_PAGES : SMALL_PAGES;  // grow big too
        uint64_t size = tk_below(&rng, pages + 1) * TK_PAGE;
        if (size > 0 && tk_below(&rng, 4) == 0) {
            size -= 1 + tk_below(&rng, TK_PAGE - 1);  // not a whole number of pages
        }
        zx_status_t status = zx_vmo_set_size(s->vmo, size);
        if (status != ZX_OK && status != ZX_ERR_NO_MEMORY) {
            TK_FAIL(&s->fail, "zx_vmo_set_size: OK", status, size);
        }
        uint64_t now = 0;
        status = zx_vmo_get_size(s->vmo, &now);
        if (status != ZX_OK || now % TK_PAGE != 0 || now > MAX_PAGES * TK_PAGE) {
            TK_FAIL(&s->fail, "zx_vmo_get_size: whole pages, at most the largest size set",
                    status, now);
        }
        tk_add(&s->ops, 1);
    }
}

static void resize_io_thread(void *arg) {
    struct resize *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    static uint8_t buf[2 * TK_PAGE];
    while (!tk_load(&s->stop)) {
        uint64_t offset = tk_below(&rng, (tk_below(&rng, 2) ? MAX_PAGES : SMALL_PAGES) * TK_PAGE);
        size_t len = 1 + tk_below(&rng, sizeof(buf));
        zx_status_t status = tk_below(&rng, 2) ? zx_vmo_write(s->vmo, buf, offset, len)
                                              : zx_vmo_read(s->vmo, buf, offset, len);
        if (status != ZX_OK && status != ZX_ERR_OUT_OF_RANGE) {
            TK_FAIL(&s->fail, "zx_vmo_read/write during resizes: OK or OUT_OF_RANGE", status,
                    offset);
        }
        tk_add(&s->ops, 1);
    }
}

// Three threads resize one VMO (grow and shrink, sizes that are not whole pages too) while
// a fourth reads and writes it: every call succeeds (or is out of range), the size is always
// whole pages, and the VMO still works afterwards.
KTAP_CASE(vmo_concurrent_set_size) {
    static struct resize s;
    s = (struct resize){0};
    KTAP_ASSERT_OK(zx_vmo_create(TK_PAGE, ZX_VMO_RESIZABLE, &s.vmo));
    static const stress_worker workers[] = {resize_thread, resize_thread, resize_thread,
                                            resize_io_thread};
    KTAP_EXPECT_OK(stress_round(workers, 4, &s, &s.stop));
    ktap_diag("%llu operations", (unsigned long long)s.ops);
    tk_report(&s.fail, __FILE__);
    KTAP_EXPECT_OK(zx_vmo_set_size(s.vmo, 16 * TK_PAGE));
    static uint8_t in[16 * TK_PAGE], out[16 * TK_PAGE];
    memset(in, 0x77, sizeof(in));
    KTAP_EXPECT_OK(zx_vmo_write(s.vmo, in, 0, sizeof(in)));
    KTAP_EXPECT_OK(zx_vmo_read(s.vmo, out, 0, sizeof(out)));
    KTAP_EXPECT_TRUE(memcmp(in, out, sizeof(in)) == 0);
    zx_handle_close(s.vmo);
    STRESS_KERNEL_SANE();
}

// ---- vmo_write_vs_shrink_canary ------------------------------------------------------------

struct shrink {
    volatile uint64_t stop;
    zx_handle_t vmo;
    volatile uint64_t writes, shrinks;
    struct tk_failure fail;
};

static void shrink_writer(void *arg) {
    struct shrink *s = arg;
    static uint8_t buf[4 * TK_PAGE];
    memset(buf, WRITER_BYTE, sizeof(buf));
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        uint64_t offset = tk_below(&rng, 16) * TK_PAGE;
        zx_status_t status = zx_vmo_write(s->vmo, buf, offset, sizeof(buf));
        if (status != ZX_OK && status != ZX_ERR_OUT_OF_RANGE) {
            TK_FAIL(&s->fail, "zx_vmo_write racing a shrink: OK or OUT_OF_RANGE", status, offset);
        }
        tk_add(&s->writes, 1);
    }
}

static void shrink_reader(void *arg) {
    struct shrink *s = arg;
    static uint8_t buf[4 * TK_PAGE];
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        uint64_t offset = tk_below(&rng, 16) * TK_PAGE;
        zx_status_t status = zx_vmo_read(s->vmo, buf, offset, sizeof(buf));
        if (status == ZX_OK) {
            for (size_t i = 0; i < sizeof(buf); i++) {
                if (buf[i] != 0 && buf[i] != WRITER_BYTE) {
                    TK_FAIL(&s->fail, "the VMO holds only zeros and its writer's bytes", buf[i],
                            offset + i);
                    break;
                }
            }
        } else if (status != ZX_ERR_OUT_OF_RANGE) {
            TK_FAIL(&s->fail, "zx_vmo_read racing a shrink: OK or OUT_OF_RANGE", status, offset);
        }
    }
}

static void shrink_thread(void *arg) {
    struct shrink *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        uint64_t size = tk_below(&rng, 3) * TK_PAGE;  // 0..2 pages, then back to 20
        zx_status_t status = zx_vmo_set_size(s->vmo, size);
        if (status == ZX_OK) {
            status = zx_vmo_set_size(s->vmo, 20 * TK_PAGE);
        }
        if (status != ZX_OK && status != ZX_ERR_NO_MEMORY) {
            TK_FAIL(&s->fail, "zx_vmo_set_size", status, size);
        }
        tk_add(&s->shrinks, 1);
    }
}

static bool canary_intact(zx_handle_t vmo, uint8_t *page, struct tk_failure *fail) {
    for (uint32_t p = 0; p < CANARY_PAGES; p++) {
        zx_status_t status = zx_vmo_read(vmo, page, p * TK_PAGE, TK_PAGE);
        if (status != ZX_OK) {
            TK_FAIL(fail, "zx_vmo_read of a canary", status, p);
            return false;
        }
        for (uint32_t i = 0; i < TK_PAGE; i++) {
            if (page[i] != CANARY_BYTE) {
                TK_FAIL(fail, "a canary VMO holds only its own bytes (found, offset)", page[i],
                        p * TK_PAGE + i);
                return false;
            }
        }
    }
    return true;
}

// A writer and a reader use one VMO while a third thread shrinks and regrows it; meanwhile
// canary VMOs are created (likely from the pages the shrink freed), filled and re-checked:
// a canary must only ever hold its own bytes, and the VMO only zeros and its writer's.
KTAP_CASE(vmo_write_vs_shrink_canary) {
    static struct shrink s;
    static uint8_t page[TK_PAGE], fill[TK_PAGE];
    s = (struct shrink){0};
    memset(fill, CANARY_BYTE, sizeof(fill));
    KTAP_ASSERT_OK(zx_vmo_create(20 * TK_PAGE, ZX_VMO_RESIZABLE, &s.vmo));
    struct tk_thread threads[3];
    KTAP_ASSERT_OK(tk_thread_start(&threads[0], "writer", shrink_writer, &s));
    KTAP_ASSERT_OK(tk_thread_start(&threads[1], "reader", shrink_reader, &s));
    KTAP_ASSERT_OK(tk_thread_start(&threads[2], "shrinker", shrink_thread, &s));
    zx_handle_t canaries[CANARIES] = {0};
    uint64_t made = 0;
    zx_time_t deadline = tk_round_deadline();
    while (tk_before(deadline) && tk_load(&s.fail.count) == 0) {
        uint32_t slot = (uint32_t)(made % CANARIES);
        if (canaries[slot] != ZX_HANDLE_INVALID) {
            canary_intact(canaries[slot], page, &s.fail);
            zx_handle_close(canaries[slot]);
        }
        zx_status_t status = zx_vmo_create(CANARY_PAGES * TK_PAGE, 0, &canaries[slot]);
        if (status != ZX_OK) {
            TK_FAIL(&s.fail, "zx_vmo_create (canary)", status, made);
            break;
        }
        for (uint32_t p = 0; p < CANARY_PAGES; p++) {
            zx_vmo_write(canaries[slot], fill, p * TK_PAGE, TK_PAGE);
        }
        for (uint32_t i = 0; i < CANARIES; i++) {
            if (canaries[i] != ZX_HANDLE_INVALID) {
                canary_intact(canaries[i], page, &s.fail);
            }
        }
        made++;
    }
    tk_store(&s.stop, 1);
    for (int i = 0; i < 3; i++) {
        KTAP_EXPECT_OK(tk_thread_join(&threads[i], JOIN_MS));
    }
    for (uint32_t i = 0; i < CANARIES; i++) {
        if (canaries[i] != ZX_HANDLE_INVALID) {
            canary_intact(canaries[i], page, &s.fail);
            zx_handle_close(canaries[i]);
        }
    }
    ktap_diag("%llu writes, %llu shrinks, %llu canaries", (unsigned long long)s.writes,
              (unsigned long long)s.shrinks, (unsigned long long)made);
    tk_report(&s.fail, __FILE__);
    zx_handle_close(s.vmo);
    STRESS_KERNEL_SANE();
}

// ---- vmo_resize_vs_map (in a child process: a mapping that goes away faults the toucher) ----

struct rmap {
    volatile uint64_t stop;
    zx_handle_t vmo;
    zx_handle_t vmar;
    volatile uint64_t maps, resizes;
    struct tk_failure fail;
};

static void rmap_mapper(void *arg) {
    struct rmap *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        uint64_t len = (1 + tk_below(&rng, 8)) * TK_PAGE;
        zx_vaddr_t addr = 0;
        zx_status_t status = zx_vmar_map(s->vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, s->vmo,
                                         0, len, &addr);
        if (status == ZX_OK) {
            // zhb refuses to shrink a mapped VMO (README), so these pages stay.
            for (uint64_t off = 0; off < len; off += TK_PAGE) {
                volatile uint8_t *p = (volatile uint8_t *)(addr + off);
                *p = (uint8_t)(*p + 1);
            }
            status = zx_vmar_unmap(s->vmar, addr, len);
            if (status != ZX_OK) {
                TK_FAIL(&s->fail, "zx_vmar_unmap of our mapping", status, addr);
            }
            tk_add(&s->maps, 1);
        } else if (status != ZX_ERR_OUT_OF_RANGE && status != ZX_ERR_INVALID_ARGS &&
                   status != ZX_ERR_NO_MEMORY) {
            TK_FAIL(&s->fail, "zx_vmar_map of a VMO being resized", status, len);
        }
    }
}

static void rmap_resizer(void *arg) {
    struct rmap *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        uint64_t size = tk_below(&rng, 9) * TK_PAGE;
        zx_status_t status = zx_vmo_set_size(s->vmo, size);
        if (status != ZX_OK && status != ZX_ERR_BAD_STATE && status != ZX_ERR_NO_MEMORY) {
            TK_FAIL(&s->fail, "zx_vmo_set_size of a mapped VMO: OK or BAD_STATE", status, size);
        }
        tk_add(&s->resizes, 1);
    }
}

int child_resize_map(void) {
    static struct rmap s;
    if (zx_vmo_create(8 * TK_PAGE, ZX_VMO_RESIZABLE, &s.vmo) != ZX_OK) {
        return 3;
    }
    zx_vaddr_t base;
    if (zx_vmar_allocate(zx_vmar_root_self(),
                         ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_SPECIFIC, 0,
                         256 * TK_PAGE, &s.vmar, &base) != ZX_OK) {
        return 3;
    }
    static const stress_worker workers[] = {rmap_mapper, rmap_mapper, rmap_resizer};
    if (stress_round(workers, 3, &s, &s.stop) != ZX_OK) {
        printf("# resize-map child: a worker did not start or stop\n");
        return 1;
    }
    printf("# resize-map child: %llu maps, %llu resizes\n", (unsigned long long)s.maps,
           (unsigned long long)s.resizes);
    if (!tk_report(&s.fail, __FILE__)) {
        return 1;
    }
    return zx_vmar_destroy(s.vmar) == ZX_OK && tk_kernel_sane() == ZX_OK ? 0 : 1;
}

// Threads map, touch and unmap one resizable VMO while another resizes it, in a child
// process (a fault kills only the child): the child ends by itself with return code 0.
KTAP_CASE(vmo_resize_vs_map) {
    int64_t code = -1;
    KTAP_EXPECT_OK(stress_run_child("resize-map", tk_round_ms() + JOIN_MS * 2, &code));
    KTAP_EXPECT_EQ(code, 0);
    STRESS_KERNEL_SANE();
}
