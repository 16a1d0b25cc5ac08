// Helpers for stress-tests and syscall-fuzz: see testkit.h.
#include "testkit.h"

#include <ktap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zhb-arch.h>
#include <zircon/process.h>
#include <zircon/processargs.h>

#include "child.h"

#define TK_STACK_SIZE (64u * 1024u)

static void tk_thread_entry(uintptr_t fn, uintptr_t arg) {
    ((void (*)(void *))fn)((void *)arg);
    zx_thread_exit();
}

zx_status_t tk_thread_start(struct tk_thread *t, const char *name, void (*fn)(void *),
                            void *arg) {
    *t = (struct tk_thread){0};
    zx_handle_t vmo;
    zx_status_t status = zx_vmo_create(TK_STACK_SIZE, 0, &vmo);
    if (status != ZX_OK) {
        return status;
    }
    status = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0,
                         TK_STACK_SIZE, &t->stack);
    zx_handle_close(vmo);
    if (status != ZX_OK) {
        return status;
    }
    t->stack_size = TK_STACK_SIZE;
    // Commit the stack's top page now (demand paging): the thread's first instructions then
    // do not fault, so a benchmark's partner thread starts as fast as before.
    ((volatile uint8_t *)t->stack)[TK_STACK_SIZE - 1] = 0;
    status = zx_thread_create(zx_process_self(), name, strlen(name), 0, &t->handle);
    if (status == ZX_OK) {
        status = zx_thread_start(t->handle, (zx_vaddr_t)(uintptr_t)tk_thread_entry,
                                 zhb_initial_sp(t->stack + TK_STACK_SIZE), (uintptr_t)fn,
                                 (uintptr_t)arg);
    }
    if (status != ZX_OK) {
        if (t->handle != ZX_HANDLE_INVALID) {
            zx_handle_close(t->handle);
        }
        zx_vmar_unmap(zx_vmar_root_self(), t->stack, TK_STACK_SIZE);
        *t = (struct tk_thread){0};
    }
    return status;
}

// ---- Zygote --------------------------------------------------------------------------------

#define TK_ZYGOTE_MAX_MAPS 256u

static zx_koid_t tk_koid(zx_handle_t h) {
    zx_info_handle_basic_t info;
    return zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL, NULL) == ZX_OK
               ? info.koid
               : ZX_KOID_INVALID;
}

// The VMO to map at `m` in the clone, with *offset: the vDSO's own VMO, a child of a VMO we
// hold, or a child of the mapping. The caller closes it unless it is `vdso`.
static zx_status_t tk_zygote_vmo(const zx_info_maps_t *m, zx_handle_t vdso, zx_koid_t vdso_koid,
                                 const zx_handle_t *held, size_t nheld, zx_handle_t *vmo,
                                 uint64_t *offset) {
    const zx_info_maps_mapping_t *mm = &m->u.mapping;
    uint32_t options = ZX_VMO_CHILD_SNAPSHOT |
                       ((mm->mmu_flags & ZX_VM_PERM_WRITE) ? 0 : ZX_VMO_CHILD_NO_WRITE);
    *offset = 0;
    if (mm->vmo_koid == vdso_koid) {
        *vmo = vdso;
        *offset = mm->vmo_offset;
        return ZX_OK;
    }
    for (size_t i = 0; i < nheld; i++) {
        if (tk_koid(held[i]) == mm->vmo_koid) {
            return zx_vmo_create_child(held[i], options, mm->vmo_offset, m->size, vmo);
        }
    }
    return zx_vmar_create_vmo_child(zx_vmar_root_self(), options, m->base, m->size, vmo);
}

// Maps the clone of every mapping in maps[0..n) into `vmar` (based at `vmar_base`).
static zx_status_t tk_zygote_map_all(const zx_info_maps_t *maps, size_t n, zx_handle_t vmar,
                                     zx_vaddr_t vmar_base, const zx_handle_t *held,
                                     size_t nheld) {
    struct vdso_layout layout;
    if (!vdso_layout(&layout)) {
        return ZX_ERR_BAD_STATE;
    }
    zx_koid_t vdso_koid = tk_koid(layout.vmo);
    zx_status_t status = ZX_OK;
    for (size_t i = 0; i < n && status == ZX_OK; i++) {
        if (maps[i].type != ZX_INFO_MAPS_TYPE_MAPPING) {
            continue;
        }
        zx_handle_t vmo;
        uint64_t offset;
        status = tk_zygote_vmo(&maps[i], layout.vmo, vdso_koid, held, nheld, &vmo, &offset);
        if (status != ZX_OK) {
            break;
        }
        zx_vaddr_t addr;
        status = zx_vmar_map(vmar, maps[i].u.mapping.mmu_flags | ZX_VM_SPECIFIC,
                             maps[i].base - vmar_base, vmo, offset, maps[i].size, &addr);
        if (vmo != layout.vmo) {
            zx_handle_close(vmo);
        }
    }
    return status;
}

zx_status_t tk_zygote_spawn(void (*entry)(zx_handle_t, uintptr_t), zx_vaddr_t stack_top,
                            const zx_handle_t *held, size_t nheld, zx_handle_t channel,
                            uintptr_t arg2, zx_handle_t *proc) {
    static zx_info_maps_t maps[TK_ZYGOTE_MAX_MAPS];
    size_t n = 0;
    size_t avail = 0;
    zx_handle_t vmar = ZX_HANDLE_INVALID;
    zx_handle_t thread = ZX_HANDLE_INVALID;
    zx_info_vmar_t root;
    zx_status_t status = zx_object_get_info(zx_process_self(), ZX_INFO_PROCESS_MAPS, maps,
                                            sizeof(maps), &n, &avail);
    if (status == ZX_OK && n < avail) {
        status = ZX_ERR_BUFFER_TOO_SMALL;
    }
    if (status == ZX_OK) {
        status = zx_process_create(zx_job_default(), "zygote", 6, 0, proc, &vmar);
    }
    if (status != ZX_OK) {
        zx_handle_close(channel);
        return status;
    }
    status = zx_object_get_info(vmar, ZX_INFO_VMAR, &root, sizeof(root), NULL, NULL);
    if (status == ZX_OK) {
        status = tk_zygote_map_all(maps, n, vmar, root.base, held, nheld);
    }
    if (status == ZX_OK) {
        status = zx_thread_create(*proc, "zygote", 6, 0, &thread);
    }
    if (status == ZX_OK) {
        status = zx_process_start(*proc, thread, (zx_vaddr_t)(uintptr_t)entry,
                                  zhb_initial_sp(stack_top), channel, arg2);
        channel = ZX_HANDLE_INVALID;  // moved (or closed by a failing start)
    }
    zx_handle_close(channel);
    zx_handle_close(thread);
    zx_handle_close(vmar);
    if (status != ZX_OK) {
        zx_task_kill(*proc);
        zx_handle_close(*proc);
        *proc = ZX_HANDLE_INVALID;
    }
    return status;
}

zx_status_t tk_thread_join(struct tk_thread *t, int64_t ms) {
    if (t->handle == ZX_HANDLE_INVALID) {
        return ZX_ERR_BAD_HANDLE;
    }
    zx_status_t status = wait_ms(t->handle, ZX_THREAD_TERMINATED, ms);
    if (status != ZX_OK) {
        zx_task_kill(t->handle);
        wait_ms(t->handle, ZX_THREAD_TERMINATED, 5000);
    }
    zx_handle_close(t->handle);
    zx_vmar_unmap(zx_vmar_root_self(), t->stack, t->stack_size);
    *t = (struct tk_thread){0};
    return status;
}

void tk_fail(struct tk_failure *f, int line, const char *what, int64_t a, int64_t b) {
    if (tk_add(&f->count, 1) == 1) {
        f->line = (uint64_t)line;
        f->a = a;
        f->b = b;
        f->what = what;
    }
}

bool tk_report(struct tk_failure *f, const char *file) {
    uint64_t count = tk_load(&f->count);
    if (count == 0) {
        return true;
    }
    ktap_check(false, file, (int)f->line, f->what);
    ktap_diag("  values %lld (0x%llx), %lld (0x%llx); %llu failure(s) in all", (long long)f->a,
              (unsigned long long)f->a, (long long)f->b, (unsigned long long)f->b,
              (unsigned long long)count);
    return false;
}

static int64_t round_ms = 100;

void tk_set_round_ms(int64_t ms) {
    round_ms = ms;
}

int64_t tk_round_ms(void) {
    return round_ms;
}

static int64_t time_scale = 1;

void tk_set_time_scale(int64_t scale) {
    time_scale = scale < 1 ? 1 : scale;
}

int64_t tk_time_scale(void) {
    return time_scale;
}

zx_time_t tk_round_deadline(void) {
    return zx_deadline_after(ZX_MSEC(round_ms));
}

bool tk_before(zx_time_t deadline) {
    return zx_clock_get_monotonic() < deadline;
}

const char *tk_arg(int argc, char **argv, const char *prefix, const char *key) {
    size_t len = strlen(key);
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], key, len) == 0 && argv[i][len] == '=') {
            return argv[i] + len + 1;
        }
    }
    char name[64];
    snprintf(name, sizeof(name), "%s.%s", prefix, key);
    return getenv(name);
}

bool tk_parse_u64(const char *text, uint64_t *value) {
    uint64_t v = 0;
    unsigned base = 10;
    if (text == NULL || *text == '\0') {
        return false;
    }
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text += 2;
        if (*text == '\0') {
            return false;
        }
    }
    for (; *text != '\0'; text++) {
        unsigned digit;
        char c = *text;
        if (c >= '0' && c <= '9') {
            digit = (unsigned)(c - '0');
        } else if (base == 16 && c >= 'a' && c <= 'f') {
            digit = (unsigned)(c - 'a' + 10);
        } else if (base == 16 && c >= 'A' && c <= 'F') {
            digit = (unsigned)(c - 'A' + 10);
        } else {
            return false;
        }
        v = v * base + digit;
    }
    *value = v;
    return true;
}

zx_status_t tk_kernel_sane(void) {
    zx_handle_t a, b, ev, got = ZX_HANDLE_INVALID;
    zx_status_t status = zx_channel_create(0, &a, &b);
    if (status != ZX_OK) {
        return status;
    }
    if ((status = zx_event_create(0, &ev)) != ZX_OK) {
        zx_handle_close(a);
        zx_handle_close(b);
        return status;
    }
    zx_koid_t sent = koid_of(ev);
    static const char msg[] = "sanity";
    char buf[16] = {0};
    uint32_t nbytes = 0, nhandles = 0;
    status = zx_channel_write(a, 0, msg, sizeof(msg), &ev, 1);
    if (status == ZX_OK) {
        status = zx_channel_read(b, 0, buf, &got, sizeof(buf), 1, &nbytes, &nhandles);
    }
    if (status == ZX_OK && (nbytes != sizeof(msg) || nhandles != 1 ||
                            memcmp(buf, msg, sizeof(msg)) != 0 || koid_of(got) != sent)) {
        status = ZX_ERR_INTERNAL;
    }
    if (status == ZX_OK) {
        zx_signals_t seen = 0;
        status = zx_object_signal(got, 0, ZX_EVENT_SIGNALED);
        if (status == ZX_OK) {
            status = zx_object_wait_one(got, ZX_EVENT_SIGNALED, 0, &seen);
        }
    }
    if (got != ZX_HANDLE_INVALID) {
        zx_handle_close(got);
    }
    zx_handle_close(a);
    zx_handle_close(b);
    if (status != ZX_OK) {
        return status;
    }
    zx_handle_t vmo;
    if ((status = zx_vmo_create(2 * TK_PAGE, 0, &vmo)) != ZX_OK) {
        return status;
    }
    uint64_t word = 0x5a5a1234cafef00dull, back = 0;
    status = zx_vmo_write(vmo, &word, TK_PAGE + 8, sizeof(word));
    if (status == ZX_OK) {
        status = zx_vmo_read(vmo, &back, TK_PAGE + 8, sizeof(back));
    }
    if (status == ZX_OK && back != word) {
        status = ZX_ERR_INTERNAL;
    }
    zx_handle_close(vmo);
    return status;
}

zx_status_t tk_spawn(zx_handle_t job, const char *path, const char *const *args, uint32_t nargs,
                     zx_handle_t report, zx_handle_t *proc) {
    return spawn_from_bootfs_with(job, path, args, nargs, report, proc);
}

zx_handle_t tk_report_vmo(void) {
    return zx_take_startup_handle(PA_HND(PA_RESOURCE, 0));
}
