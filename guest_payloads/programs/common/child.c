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

zx_status_t spawn_from_bootfs_with(zx_handle_t job, const char *path, const char *const *args,
                                   uint32_t nargs, zx_handle_t resource, zx_handle_t *proc) {
    struct vdso_layout layout;
    uint64_t size;
    zx_vaddr_t image;
    if (nargs + 1 > USERBOOT_MAX_ARGS) {
        return ZX_ERR_INVALID_ARGS;
    }
    if (bootfs_vmo_handle == ZX_HANDLE_INVALID) {
        bootfs_vmo_handle = zx_take_startup_handle(PA_HND(PA_VMO_BOOTFS, 0));
    }
    if (!vdso_layout(&layout) || bootfs_vmo_handle == ZX_HANDLE_INVALID) {
        return ZX_ERR_BAD_STATE;
    }
    zx_status_t status = zx_vmo_get_size(bootfs_vmo_handle, &size);
    if (status != ZX_OK || (status = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0,
                                                 bootfs_vmo_handle, 0, size, &image)) != ZX_OK) {
        return status;
    }
    struct bootfs fs;
    struct bootfs_entry entry;
    if (bootfs_open(&fs, (const void *)image, size) != BOOTFS_OK ||
        bootfs_find(&fs, path, &entry) != BOOTFS_OK) {
        zx_vmar_unmap(zx_vmar_root_self(), image, size);
        return ZX_ERR_NOT_FOUND;
    }
    uint32_t num_environ = 0;
    while (environ != NULL && environ[num_environ] != NULL) {
        num_environ++;
    }
    struct program prog = {
        .path = path,
        .image = entry.data,
        .size = entry.data_len,
        .args = {path},
        .num_args = 1 + nargs,
        .environ = (const char *const *)environ,
        .num_environ = num_environ,
        .job = job,
        .vdso_vmo = layout.vmo,
        .vdso_image = (const void *)__zhb_vdso_base,
        .vdso_size = layout.size,
        .bootfs_vmo = bootfs_vmo_handle,
        .power = resource,
    };
    for (uint32_t i = 0; i < nargs; i++) {
        prog.args[1 + i] = args[i];
    }
    char why[USERBOOT_LINE_MAX];
    status = program_start(&prog, proc, why, sizeof(why));
    if (status != ZX_OK) {
        printf("# spawn %s: %s\n", path, why);
    }
    zx_vmar_unmap(zx_vmar_root_self(), image, size);
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
