// Starting a program from a static ELF file (Zircon's process-creation flow, run by
// userboot): zx_process_create; every PT_LOAD copied into a fresh VMO and mapped with its
// own permissions (ET_EXEC at its link address, ET_DYN at a random base; a code segment's
// VMO made executable with zx_vmo_replace_as_executable, as Zircon's loaders do); the vDSO VMO
// mapped at a random address with its exact layout (read-only segment, then code); a stack
// VMO sized by PT_GNU_STACK; zx_thread_create; the processargs message on a new channel;
// zx_process_start(entry, sp, bootstrap channel, vDSO base).
#include <lib/console.h>
#include <lib/string.h>
#include <zhb-arch.h>
#include <zhb/processargs.h>
#include <zircon/processargs.h>

#include "elf.h"
#include "userboot.h"

#define PAGE_SIZE 4096u
#define DEFAULT_STACK_SIZE (256u * 1024u)
#define RANDOM_TRIES 8
#define MESSAGE_BYTES 4096
#define CHILD_HANDLES 7
#define THREAD_NAME "initial-thread"

static uint64_t page_down(uint64_t v) {
    return v & ~(uint64_t)(PAGE_SIZE - 1);
}

static uint64_t page_up(uint64_t v) {
    return page_down(v + PAGE_SIZE - 1);
}

static zx_vm_option_t segment_perms(uint32_t flags) {
    zx_vm_option_t perms = 0;
    perms |= (flags & ELF_PF_R) ? ZX_VM_PERM_READ : 0;
    perms |= (flags & ELF_PF_W) ? ZX_VM_PERM_WRITE : 0;
    perms |= (flags & ELF_PF_X) ? ZX_VM_PERM_EXECUTE : 0;
    return perms;
}

// A sub-VMAR of `size` bytes at a random page in `parent` (zx_cprng_draw), or wherever the
// kernel likes if a few random tries collide with existing mappings.
static zx_status_t allocate_random(zx_handle_t parent, const zx_info_vmar_t *where, size_t size,
                                   zx_vm_option_t can_map, zx_handle_t *sub, zx_vaddr_t *base) {
    zx_vm_option_t options = ZX_VM_CAN_MAP_SPECIFIC | can_map;
    for (int i = 0; i < RANDOM_TRIES && size < where->len; i++) {
        uint64_t random;
        zx_cprng_draw(&random, sizeof(random));
        uint64_t offset = (random % ((where->len - size) / PAGE_SIZE + 1)) * PAGE_SIZE;
        if (zx_vmar_allocate(parent, options | ZX_VM_SPECIFIC, offset, size, sub, base) == ZX_OK) {
            return ZX_OK;
        }
    }
    return zx_vmar_allocate(parent, options, 0, size, sub, base);
}

// Maps every segment of `info` into `vmar` (based at vmar_base) at vaddr + bias. With a
// valid file_vmo the segments map its pages directly (the vDSO); otherwise each gets a new
// VMO holding a copy of its file bytes from `file`.
static zx_status_t map_segments(const struct elf_info *info, zx_handle_t vmar, zx_vaddr_t vmar_base,
                                uint64_t bias, zx_handle_t file_vmo, const uint8_t *file,
                                const char **what) {
    for (uint32_t i = 0; i < info->nsegs; i++) {
        const struct elf_segment *seg = &info->segs[i];
        uint64_t start = page_down(seg->vaddr);
        uint64_t size = page_up(seg->vaddr + seg->memsz) - start;
        zx_handle_t vmo = file_vmo;
        uint64_t vmo_offset = page_down(seg->offset);
        zx_status_t status;
        if (file_vmo == ZX_HANDLE_INVALID) {
            vmo_offset = 0;
            if ((status = zx_vmo_create(size, 0, &vmo)) != ZX_OK) {
                *what = "zx_vmo_create (segment)";
                return status;
            }
            status = zx_vmo_write(vmo, file + seg->offset, seg->vaddr - start, seg->filesz);
            if (status != ZX_OK) {
                zx_handle_close(vmo);
                *what = "zx_vmo_write (segment)";
                return status;
            }
            // New VMOs lack ZX_RIGHT_EXECUTE; the old handle is consumed either way.
            if ((seg->flags & ELF_PF_X) &&
                (status = zx_vmo_replace_as_executable(vmo, ZX_HANDLE_INVALID, &vmo)) != ZX_OK) {
                *what = "zx_vmo_replace_as_executable (segment)";
                return status;
            }
        }
        zx_vaddr_t addr;
        status = zx_vmar_map(vmar, segment_perms(seg->flags) | ZX_VM_SPECIFIC,
                             start + bias - vmar_base, vmo, vmo_offset, size, &addr);
        if (vmo != file_vmo) {
            zx_handle_close(vmo);
        }
        if (status != ZX_OK) {
            *what = "zx_vmar_map (segment)";
            return status;
        }
    }
    return ZX_OK;
}

// Loads an ELF image into the process whose root VMAR is `root`; *bias is what was added to
// its link addresses (0 for ET_EXEC).
static zx_status_t load_elf(const struct elf_info *info, zx_handle_t root,
                            const zx_info_vmar_t *root_info, zx_handle_t file_vmo,
                            const uint8_t *file, uint64_t *bias, const char **what) {
    if (info->type == ELF_ET_EXEC) {
        *bias = 0;
        return map_segments(info, root, root_info->base, 0, file_vmo, file, what);
    }
    zx_vm_option_t can_map = 0;
    for (uint32_t i = 0; i < info->nsegs; i++) {
        can_map |= segment_perms(info->segs[i].flags) << 7;  // ZX_VM_PERM_* -> CAN_MAP_*
    }
    zx_handle_t sub;
    zx_vaddr_t base;
    zx_status_t status =
        allocate_random(root, root_info, info->hi - info->lo, can_map, &sub, &base);
    if (status != ZX_OK) {
        *what = "zx_vmar_allocate";
        return status;
    }
    *bias = base - info->lo;
    status = map_segments(info, sub, base, *bias, file_vmo, file, what);
    zx_handle_close(sub);
    return status;
}

// Sends the processargs message with duplicates of the handles the program gets.
static zx_status_t send_bootstrap(const struct program *prog, zx_handle_t channel, zx_handle_t proc,
                                  zx_handle_t thread, zx_handle_t vmar, const char **what) {
    struct {
        zx_handle_t source;
        uint32_t info;
    } wanted[CHILD_HANDLES] = {
        {proc, PA_HND(PA_PROC_SELF, 0)},          {thread, PA_HND(PA_THREAD_SELF, 0)},
        {vmar, PA_HND(PA_VMAR_ROOT, 0)},          {prog->job, PA_HND(PA_JOB_DEFAULT, 0)},
        {prog->vdso_vmo, PA_HND(PA_VMO_VDSO, 0)}, {prog->bootfs_vmo, PA_HND(PA_VMO_BOOTFS, 0)},
        {prog->power, PA_HND(PA_RESOURCE, 0)},
    };
    zx_handle_t handles[CHILD_HANDLES];
    uint32_t info[CHILD_HANDLES];
    uint32_t count = 0;
    zx_status_t status = ZX_OK;
    for (uint32_t i = 0; i < CHILD_HANDLES && status == ZX_OK; i++) {
        if (wanted[i].source == ZX_HANDLE_INVALID) {
            continue;
        }
        status = zx_handle_duplicate(wanted[i].source, ZX_RIGHT_SAME_RIGHTS, &handles[count]);
        info[count++] = wanted[i].info;
    }
    if (status != ZX_OK) {
        zx_handle_close_many(handles, count - 1);
        *what = "zx_handle_duplicate";
        return status;
    }
    uint8_t msg[MESSAGE_BYTES] __attribute__((aligned(8)));
    size_t size = processargs_build(msg, sizeof(msg), info, count, prog->args, prog->num_args,
                                    prog->environ, prog->num_environ);
    if (size == 0) {
        zx_handle_close_many(handles, count);
        *what = "processargs message too big";
        return ZX_ERR_BUFFER_TOO_SMALL;
    }
    status = zx_channel_write(channel, 0, msg, (uint32_t)size, handles, count);
    *what = "zx_channel_write";
    return status;
}

// The process's name: the last component of its file name.
static const char *basename(const char *path) {
    const char *slash = strchr(path, '/');
    while (slash != NULL) {
        path = slash + 1;
        slash = strchr(path, '/');
    }
    return path;
}

zx_status_t program_start(const struct program *prog, zx_handle_t *proc_out, char *why,
                          size_t why_size) {
    struct elf_info info;
    struct elf_info vdso;
    int parsed = elf_parse(prog->image, prog->size, ZHB_ELF_MACHINE, &info);
    if (parsed != ELF_OK) {
        snprintf(why, why_size, "%s", elf_strerror(parsed));
        return ZX_ERR_INVALID_ARGS;
    }
    parsed = elf_parse(prog->vdso_image, prog->vdso_size, ZHB_ELF_MACHINE, &vdso);
    if (parsed != ELF_OK || vdso.type != ELF_ET_DYN) {
        snprintf(why, why_size, "vDSO: %s", elf_strerror(parsed));
        return ZX_ERR_INVALID_ARGS;
    }

    // Sizes from the file, checked against RAM before any VMO is made for them (the span is
    // below 2^64 - a page, elf_parse checked; the stack size is anything PT_GNU_STACK says).
    uint64_t span = info.hi - info.lo;
    uint64_t wanted_stack = info.stack_size ? info.stack_size : DEFAULT_STACK_SIZE;
    uint64_t budget = prog->ram_budget != 0 ? prog->ram_budget : UINT64_MAX;
    if (span > budget || wanted_stack > budget - span) {
        snprintf(why, why_size, "ELF segments (%lu bytes) and stack (%lu bytes) need more than "
                 "the %lu bytes userboot allows (1/%d of RAM)", (unsigned long)span,
                 (unsigned long)wanted_stack, (unsigned long)prog->ram_budget,
                 USERBOOT_RAM_SHARE);
        return ZX_ERR_NO_MEMORY;
    }

    const char *what = "zx_process_create";
    const char *name = basename(prog->path);
    zx_handle_t proc = ZX_HANDLE_INVALID;
    zx_handle_t vmar = ZX_HANDLE_INVALID;
    zx_handle_t thread = ZX_HANDLE_INVALID;
    zx_handle_t ours = ZX_HANDLE_INVALID;
    zx_handle_t theirs = ZX_HANDLE_INVALID;
    zx_info_vmar_t root_info;
    uint64_t bias = 0;
    uint64_t vdso_base = 0;
    zx_vaddr_t stack = 0;
    zx_handle_t stack_vmo;
    uint64_t stack_size = page_up(wanted_stack);
    zx_status_t status = zx_process_create(prog->job, name, strlen(name), 0, &proc, &vmar);
    if (status != ZX_OK) {
        goto out;
    }
    what = "zx_object_get_info (VMAR)";
    status = zx_object_get_info(vmar, ZX_INFO_VMAR, &root_info, sizeof(root_info), NULL, NULL);
    if (status != ZX_OK ||
        (status = load_elf(&info, vmar, &root_info, ZX_HANDLE_INVALID, prog->image, &bias,
                           &what)) != ZX_OK ||
        (status = load_elf(&vdso, vmar, &root_info, prog->vdso_vmo, NULL, &vdso_base, &what)) !=
            ZX_OK) {
        goto out;
    }
    what = "creating the stack";
    if ((status = zx_vmo_create(stack_size, 0, &stack_vmo)) != ZX_OK) {
        goto out;
    }
    status =
        zx_vmar_map(vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, stack_vmo, 0, stack_size, &stack);
    zx_handle_close(stack_vmo);
    if (status != ZX_OK) {
        goto out;
    }
    what = "zx_thread_create";
    if ((status = zx_thread_create(proc, THREAD_NAME, strlen(THREAD_NAME), 0, &thread)) != ZX_OK) {
        goto out;
    }
    what = "zx_channel_create";
    if ((status = zx_channel_create(0, &ours, &theirs)) != ZX_OK ||
        (status = send_bootstrap(prog, ours, proc, thread, vmar, &what)) != ZX_OK) {
        goto out;
    }
    what = "zx_process_start";
    status = zx_process_start(proc, thread, info.entry + bias, zhb_initial_sp(stack + stack_size),
                              theirs, vdso_base);
    theirs = ZX_HANDLE_INVALID;  // consumed, even on failure
out:;
    zx_handle_t leftovers[] = {ours, theirs, thread, vmar};
    for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++) {
        if (leftovers[i] != ZX_HANDLE_INVALID) {
            zx_handle_close(leftovers[i]);
        }
    }
    if (status != ZX_OK) {
        if (proc != ZX_HANDLE_INVALID) {
            zx_task_kill(proc);
            zx_handle_close(proc);
        }
        snprintf(why, why_size, "%s failed (status %d)", what, status);
        return status;
    }
    *proc_out = proc;
    return ZX_OK;
}
