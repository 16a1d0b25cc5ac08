// Address spaces under concurrency: threads mapping, protecting and unmapping in one VMAR,
// and memory taken away (unmap, protect, VMAR destroy) from a child thread that is using it:
// the child is killed by its fault (ZX_TASK_RETCODE_EXCEPTION_KILL), the kernel goes on.
#include <string.h>

#include "machine-code.h"
#include "stress.h"

#define VMAR_PAGES 512u

struct churn {
    volatile uint64_t stop;
    zx_handle_t vmar;
    volatile uint64_t ops;
    struct tk_failure fail;
};

static void map_churn_thread(void *arg) {
    struct churn *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    uint8_t tag = (uint8_t)(1 + tk_below(&rng, 250));
    zx_handle_t vmo;
    if (zx_vmo_create(4 * TK_PAGE, 0, &vmo) != ZX_OK) {
        TK_FAIL(&s->fail, "zx_vmo_create", 0, 0);
        return;
    }
    while (!tk_load(&s->stop)) {
        uint64_t len = (1 + tk_below(&rng, 4)) * TK_PAGE;
        zx_vaddr_t addr = 0;
        zx_status_t status =
            zx_vmar_map(s->vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0, len, &addr);
        if (status == ZX_ERR_NO_MEMORY || status == ZX_ERR_NO_RESOURCES) {
            continue;  // the VMAR is full right now
        }
        if (status != ZX_OK) {
            TK_FAIL(&s->fail, "zx_vmar_map in a shared VMAR", status, len);
            break;
        }
        volatile uint8_t *p = (volatile uint8_t *)addr;
        for (uint64_t off = 0; off < len; off += 512) {
            p[off] = tag;
        }
        status = zx_vmar_protect(s->vmar, ZX_VM_PERM_READ, addr, len);
        if (status != ZX_OK) {
            TK_FAIL(&s->fail, "zx_vmar_protect of our own mapping", status, addr);
        }
        for (uint64_t off = 0; off < len; off += 512) {
            if (p[off] != tag) {
                TK_FAIL(&s->fail, "our mapping holds our bytes (found, expected)", p[off], tag);
                break;
            }
        }
        status = zx_vmar_protect(s->vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, addr, len);
        if (status == ZX_OK) {
            p[0] = tag;
        } else {
            TK_FAIL(&s->fail, "zx_vmar_protect back to RW", status, addr);
        }
        status = zx_vmar_unmap(s->vmar, addr, len);
        if (status != ZX_OK) {
            TK_FAIL(&s->fail, "zx_vmar_unmap of our own mapping", status, addr);
        }
        tk_add(&s->ops, 1);
    }
    zx_handle_close(vmo);
}

static void vmar_churn_thread(void *arg) {
    struct churn *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        zx_handle_t sub;
        zx_vaddr_t addr;
        uint64_t len = (1 + tk_below(&rng, 16)) * TK_PAGE;
        zx_status_t status = zx_vmar_allocate(
            s->vmar, ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE, 0, len, &sub, &addr);
        if (status == ZX_ERR_NO_MEMORY || status == ZX_ERR_NO_RESOURCES) {
            continue;
        }
        if (status != ZX_OK) {
            TK_FAIL(&s->fail, "zx_vmar_allocate in a shared VMAR", status, len);
            break;
        }
        if (tk_below(&rng, 2)) {
            status = zx_vmar_destroy(sub);
        } else {
            status = zx_vmar_unmap(s->vmar, addr, len);
        }
        if (status != ZX_OK) {
            TK_FAIL(&s->fail, "zx_vmar_destroy/unmap of our own sub-VMAR", status, addr);
        }
        zx_handle_close(sub);
        tk_add(&s->ops, 1);
    }
}

// Three threads map, write, protect read-only, check, protect back and unmap their own
// mappings in one shared VMAR while a fourth allocates and destroys sub-VMARs there: every
// call succeeds and every mapping holds only its own thread's bytes.
KTAP_CASE(vmar_map_protect_unmap_churn) {
    static struct churn s;
    s = (struct churn){0};
    zx_vaddr_t base;
    KTAP_ASSERT_OK(zx_vmar_allocate(zx_vmar_root_self(),
                                    ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE, 0,
                                    VMAR_PAGES * TK_PAGE, &s.vmar, &base));
    static const stress_worker workers[] = {map_churn_thread, map_churn_thread,
                                            map_churn_thread, vmar_churn_thread};
    KTAP_EXPECT_OK(stress_round(workers, 4, &s, &s.stop));
    ktap_diag("%llu operations", (unsigned long long)s.ops);
    tk_report(&s.fail, __FILE__);
    KTAP_EXPECT_OK(zx_vmar_destroy(s.vmar));
    zx_handle_close(s.vmar);
    STRESS_KERNEL_SANE();
}

// ---- memory taken away from a child that is touching it ------------------------------------

enum take_away { TAKE_UNMAP, TAKE_PROTECT, TAKE_DESTROY };

// A child thread reads and writes one byte of a page in a loop; we take the page away: the
// child must die of the fault (EXCEPTION_KILL), promptly, and nothing else.
static void touch_and_take(enum take_away how) {
    static const uint8_t code[] = MC_TOUCH_ARG2_LOOP;
    zx_time_t deadline = tk_round_deadline();
    int rounds = 0;
    do {
        struct child child;
        zx_handle_t vmo, sub;
        zx_vaddr_t sub_base, addr;
        KTAP_ASSERT_OK(child_create(zx_job_default(), "toucher", code, sizeof(code), false,
                                    &child));
        KTAP_ASSERT_OK(zx_vmar_allocate(child.vmar, ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE, 0,
                                        4 * TK_PAGE, &sub, &sub_base));
        KTAP_ASSERT_OK(zx_vmo_create(TK_PAGE, 0, &vmo));
        KTAP_ASSERT_OK(
            zx_vmar_map(sub, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0, TK_PAGE, &addr));
        zx_handle_close(vmo);
        if (KTAP_EXPECT_OK(child_start(&child, addr + 123))) {
            zx_nanosleep(zx_deadline_after(ZX_MSEC(1 + rounds % 5)));
            KTAP_EXPECT_EQ(thread_state(child.thread), ZX_THREAD_STATE_RUNNING);
            if (how == TAKE_UNMAP) {
                KTAP_EXPECT_OK(zx_vmar_unmap(sub, addr, TK_PAGE));
            } else if (how == TAKE_PROTECT) {
                KTAP_EXPECT_OK(zx_vmar_protect(sub, ZX_VM_PERM_READ, addr, TK_PAGE));
            } else {
                KTAP_EXPECT_OK(zx_vmar_destroy(sub));
            }
            KTAP_EXPECT_OK(wait_ms(child.proc, ZX_PROCESS_TERMINATED, DEATH_MS));
            KTAP_EXPECT_EQ(return_code(child.proc), ZX_TASK_RETCODE_EXCEPTION_KILL);
        }
        zx_handle_close(sub);
        child_destroy(&child);
        rounds++;
    } while (tk_before(deadline));
    ktap_diag("%d children killed by their fault", rounds);
}

KTAP_CASE(unmap_under_use_kills_child) {
    touch_and_take(TAKE_UNMAP);
    STRESS_KERNEL_SANE();
}

KTAP_CASE(protect_under_use_kills_child) {
    touch_and_take(TAKE_PROTECT);
    STRESS_KERNEL_SANE();
}

KTAP_CASE(vmar_destroy_under_use_kills_child) {
    touch_and_take(TAKE_DESTROY);
    STRESS_KERNEL_SANE();
}
