// Child processes from machine code and small object queries: see child.h.
#include "child.h"

#include "bootfs.h"
#include "userboot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zhb-arch.h>
#include <zhb/runtime.h>
#include <zircon/process.h>
#include <zhb/process_builder.h>
#include <zircon/processargs.h>

static zx_handle_t vdso_vmo_handle;
static zx_handle_t bootfs_vmo_handle;

bool vdso_layout(struct vdso_layout *layout) {
    if (vdso_vmo_handle == ZX_HANDLE_INVALID) {
        vdso_vmo_handle = zx_take_startup_handle(PA_HND(PA_VMO_VDSO, 0));
    }
    layout->vmo = vdso_vmo_handle;
    if (layout->vmo == ZX_HANDLE_INVALID || zx_vmo_get_size(layout->vmo, &layout->size) != ZX_OK) {
        return false;
    }
    return elf_parse((const void *)__zhb_vdso_base, layout->size, ZHB_ELF_MACHINE, &layout->elf) ==
               ELF_OK &&
           layout->elf.nsegs == 2;
}

zx_status_t vdso_map(zx_handle_t vmar, const struct vdso_layout *layout, zx_vaddr_t *base) {
    zx_handle_t sub;
    const struct elf_info *elf = &layout->elf;
    zx_status_t status =
        zx_vmar_allocate(vmar, ZX_VM_CAN_MAP_SPECIFIC | ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_EXECUTE,
                         0, elf->hi - elf->lo, &sub, base);
    if (status != ZX_OK) {
        return status;
    }
    for (uint32_t i = 0; i < elf->nsegs && status == ZX_OK; i++) {
        const struct elf_segment *seg = &elf->segs[i];
        zx_vm_option_t perms = ZX_VM_PERM_READ | ((seg->flags & ELF_PF_X) ? ZX_VM_PERM_EXECUTE : 0);
        uint64_t size = (seg->memsz + CHILD_PAGE_SIZE - 1) & ~(uint64_t)(CHILD_PAGE_SIZE - 1);
        zx_vaddr_t addr;
        status = zx_vmar_map(sub, perms | ZX_VM_SPECIFIC, seg->vaddr, layout->vmo, seg->offset,
                             size, &addr);
    }
    zx_handle_close(sub);
    return status;
}

zx_status_t child_create(zx_handle_t job, const char *name, const uint8_t *code, size_t len,
                         bool map_vdso, struct child *child) {
    *child = (struct child){0};
    zx_handle_t vmo;
    zx_status_t status = zx_process_create(job, name, strlen(name), 0, &child->proc, &child->vmar);
    if (status != ZX_OK) {
        return status;
    }
    if (map_vdso) {
        struct vdso_layout layout;
        if (!vdso_layout(&layout)) {
            return ZX_ERR_BAD_STATE;
        }
        if ((status = vdso_map(child->vmar, &layout, &child->vdso_base)) != ZX_OK) {
            return status;
        }
    }
    if ((status = zx_vmo_create(CHILD_PAGE_SIZE, 0, &vmo)) != ZX_OK) {
        return status;
    }
    status = zx_vmo_write(vmo, code, 0, len);
    if (status != ZX_OK) {
        zx_handle_close(vmo);
        return status;
    }
    // The code VMO needs ZX_RIGHT_EXECUTE to be mapped executable; `vmo` is consumed.
    if ((status = zx_vmo_replace_as_executable(vmo, ZX_HANDLE_INVALID, &vmo)) != ZX_OK) {
        return status;
    }
    status = zx_vmar_map(child->vmar, ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE, 0, vmo, 0,
                         CHILD_PAGE_SIZE, &child->code);
    zx_handle_close(vmo);
    if (status != ZX_OK) {
        return status;
    }
    return zx_thread_create(child->proc, "child", 5, 0, &child->thread);
}

zx_status_t child_start(struct child *child, uintptr_t arg2) {
    zx_handle_t stack_vmo;
    zx_vaddr_t stack;
    zx_handle_t ours;
    zx_handle_t theirs;
    zx_status_t status = zx_vmo_create(CHILD_PAGE_SIZE, 0, &stack_vmo);
    if (status != ZX_OK) {
        return status;
    }
    status = zx_vmar_map(child->vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, stack_vmo, 0,
                         CHILD_PAGE_SIZE, &stack);
    zx_handle_close(stack_vmo);
    if (status != ZX_OK || (status = zx_channel_create(0, &ours, &theirs)) != ZX_OK) {
        return status;
    }
    zx_handle_close(ours);
    return zx_process_start(child->proc, child->thread, child->code,
                            zhb_initial_sp(stack + CHILD_PAGE_SIZE), theirs, arg2);
}

zx_status_t spawn_from_bootfs(zx_handle_t job, const char *path, const char *arg,
                              zx_handle_t *proc) {
    const char *args[] = {arg};
    return spawn_from_bootfs_with(job, path, args, 1, ZX_HANDLE_INVALID, proc);
}

// Our BOOTFS, mapped read-only once and left mapped until bootfs_close.
static struct bootfs bootfs_image;

void bootfs_close(void) {
    if (bootfs_image.image != NULL) {
        zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)bootfs_image.image, bootfs_image.size);
        bootfs_image = (struct bootfs){0};
    }
}

static zx_status_t open_bootfs(void) {
    uint64_t size;
    zx_vaddr_t image;
    if (bootfs_image.image != NULL) {
        return ZX_OK;
    }
    if (bootfs_vmo_handle == ZX_HANDLE_INVALID) {
        bootfs_vmo_handle = zx_take_startup_handle(PA_HND(PA_VMO_BOOTFS, 0));
    }
    if (bootfs_vmo_handle == ZX_HANDLE_INVALID) {
        return ZX_ERR_BAD_STATE;
    }
    zx_status_t status = zx_vmo_get_size(bootfs_vmo_handle, &size);
    if (status != ZX_OK || (status = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0,
                                                 bootfs_vmo_handle, 0, size, &image)) != ZX_OK) {
        return status;
    }
    if (bootfs_open(&bootfs_image, (const void *)image, size) != BOOTFS_OK) {
        zx_vmar_unmap(zx_vmar_root_self(), image, size);
        bootfs_image = (struct bootfs){0};
        return ZX_ERR_IO;
    }
    return ZX_OK;
}

zx_status_t bootfs_file_vmo(const char *path, zx_handle_t *vmo) {
    struct bootfs_entry entry;
    zx_status_t status = open_bootfs();
    if (status != ZX_OK) {
        return status;
    }
    if (bootfs_find(&bootfs_image, path, &entry) != BOOTFS_OK) {
        return ZX_ERR_NOT_FOUND;
    }
    return pb_vmo_from_bytes(entry.data, entry.data_len, vmo);
}

zx_status_t spawn_from_bootfs_with(zx_handle_t job, const char *path, const char *const *args,
                                   uint32_t nargs, zx_handle_t resource, zx_handle_t *proc) {
    struct vdso_layout layout;
    zx_handle_t exe;
    if (nargs + 1 > USERBOOT_MAX_ARGS) {
        return ZX_ERR_INVALID_ARGS;
    }
    if (!vdso_layout(&layout)) {
        return ZX_ERR_BAD_STATE;
    }
    zx_status_t status = bootfs_file_vmo(path, &exe);
    if (status != ZX_OK) {
        return status;
    }
    uint32_t num_environ = 0;
    while (environ != NULL && environ[num_environ] != NULL) {
        num_environ++;
    }
    const char *name = path;
    for (const char *c = path; *c != '\0'; c++) {
        name = *c == '/' ? c + 1 : name;
    }
    struct process_builder b;
    struct pb_built built;
    zx_handle_t handles[4] = {ZX_HANDLE_INVALID, ZX_HANDLE_INVALID, ZX_HANDLE_INVALID,
                              ZX_HANDLE_INVALID};
    uint32_t info[4] = {PA_HND(PA_JOB_DEFAULT, 0), PA_HND(PA_VMO_VDSO, 0),
                        PA_HND(PA_VMO_BOOTFS, 0), PA_HND(PA_RESOURCE, 0)};
    zx_handle_t sources[4] = {job, layout.vmo, bootfs_vmo_handle, resource};
    uint32_t count = 0;
    if ((status = pb_create(&b, job, name, exe, zx_vmar_root_self())) != ZX_OK) {
        printf("# spawn %s: %s\n", path, b.error.text);
        return status;
    }
    for (uint32_t i = 0; i < 4 && status == ZX_OK; i++) {
        if (sources[i] != ZX_HANDLE_INVALID &&
            (status = zx_handle_duplicate(sources[i], ZX_RIGHT_SAME_RIGHTS, &handles[count])) ==
                ZX_OK) {
            info[count++] = info[i];
        }
    }
    if (status != ZX_OK) {
        zx_handle_close_many(handles, count);
        pb_destroy(&b);
        return status;
    }
    if ((status = pb_add_args(&b, &path, 1)) != ZX_OK ||
        (status = pb_add_args(&b, args, nargs)) != ZX_OK ||
        (status = pb_add_environ(&b, (const char *const *)environ, num_environ)) != ZX_OK ||
        (status = pb_add_handles(&b, handles, info, count)) != ZX_OK ||
        (status = pb_build(&b, &built)) != ZX_OK ||
        (status = pb_start(&built, proc, &b.error)) != ZX_OK) {
        pb_destroy(&b);
        printf("# spawn %s: %s\n", path, b.error.text);
    }
    return status;
}

void child_destroy(struct child *child) {
    if (child->proc != ZX_HANDLE_INVALID) {
        zx_task_kill(child->proc);
    }
    zx_handle_t handles[] = {child->thread, child->vmar, child->proc};
    for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) {
        if (handles[i] != ZX_HANDLE_INVALID) {
            zx_handle_close(handles[i]);
        }
    }
    *child = (struct child){0};
}

zx_status_t wait_ms(zx_handle_t handle, zx_signals_t signals, int64_t ms) {
    zx_signals_t observed = 0;
    return zx_object_wait_one(handle, signals, zx_deadline_after(ZX_MSEC(ms)), &observed);
}

static zx_info_handle_basic_t basic_info(zx_handle_t handle) {
    zx_info_handle_basic_t info = {0};
    zx_object_get_info(handle, ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL, NULL);
    return info;
}

zx_koid_t koid_of(zx_handle_t handle) {
    return basic_info(handle).koid;
}

zx_rights_t rights_of(zx_handle_t handle) {
    return basic_info(handle).rights;
}

zx_thread_state_t thread_state(zx_handle_t thread) {
    zx_info_thread_t info = {0};
    zx_object_get_info(thread, ZX_INFO_THREAD, &info, sizeof(info), NULL, NULL);
    return info.state;
}

int64_t return_code(zx_handle_t proc) {
    zx_info_process_t info = {0};
    zx_object_get_info(proc, ZX_INFO_PROCESS, &info, sizeof(info), NULL, NULL);
    return info.return_code;
}

uint32_t handle_total(void) {
    zx_info_process_handle_stats_t stats = {0};
    zx_object_get_info(zx_process_self(), ZX_INFO_PROCESS_HANDLE_STATS, &stats, sizeof(stats),
                       NULL, NULL);
    uint32_t total = 0;
    for (uint32_t i = 0; i < ZX_OBJ_TYPE_UPPER_BOUND; i++) {
        total += stats.handle_count[i];
    }
    return total;
}
