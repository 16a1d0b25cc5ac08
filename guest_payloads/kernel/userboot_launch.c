// Starts userboot (include/kernel/userboot.h), per Zircon's userboot document:
//
//   root VMAR
//     '- VMAR at a random address, userboot size + vDSO size, CAN_MAP_READ|WRITE|EXECUTE|SPECIFIC
//          [0, ub.code)          userboot RODSO, read-only segment        R
//          [ub.code, ub.size)    userboot RODSO, code segment             R X
//          [ub.size, +v.code)    vDSO, read-only segment                  R
//          [ub.size + v.code, +v.size)  vDSO code (the recorded vDSO code mapping)  R X
//     '- stack VMO "userboot-initial-stack" (USERBOOT_STACK_SIZE), R W, anywhere
//
// With the command-line word kernel.userboot.fixed (the harness's `boot --gdb`) the VMAR is
// the lowest free spot of the root VMAR instead (ZX_VM_COMPACT: USER_ASPACE_BASE, the root
// being empty), so a debugger knows both load addresses before boot, and the kernel prints
//   zhb kernel: userboot: loaded at 0x<base>, vDSO at 0x<base + userboot size>
//
// The vDSO sits right after userboot's image, so userboot reaches each vDSO entry point at a
// fixed offset from its `_end`. The first thread starts at userboot's ELF entry with
// arg1 = its end of the bootstrap channel and arg2 = the vDSO base. The bootstrap message is a
// processargs message (<zircon/processargs.h>): no args, the kernel command-line words as
// environment strings, and these handles:
//
//   PA_HND(PA_VMO_VDSO, 0)    the vDSO VMO "vdso/full": default VMO rights - WRITE + EXECUTE
//   PA_HND(PA_VMO_BOOTDATA, 0)  the data ZBI as a VMO "zbi"
//   PA_HND(PA_RESOURCE, 0)    the power resource (zx_system_powerctl)
//   PA_HND(PA_VMO_STACK, 0)   the stack VMO
//   PA_HND(PA_PROC_SELF, 0) / PA_HND(PA_THREAD_SELF, 0) / PA_HND(PA_VMAR_ROOT, 0)
//   PA_HND(PA_JOB_DEFAULT, 0)  the root job
//
// The vDSO VMO carries its code-segment start and the CODE_SYSRET table generated from the
// same vdso.so (`sysgen.py sysret`, $(GEN)/vdso-sysret.inc): README "vDSO rules".
#include <kernel/userboot.h>

#include <kernel/arch.h>
#include <kernel/channel.h>
#include <kernel/handle.h>
#include <kernel/heap.h>
#include <kernel/job.h>
#include <kernel/physmap.h>
#include <kernel/process.h>
#include <kernel/resource.h>
#include <kernel/thread.h>
#include <kernel/vm.h>
#include <kernel/wait.h>
#include <lib/console.h>
#include <lib/string.h>
#include <lib/zbi-format/zbi.h>
#include <zircon/processargs.h>
#include <zircon/rights.h>
#include <zircon/syscalls-numbers.h>

#define USERBOOT_STACK_SIZE (256u * 1024u)  // ZIRCON_DEFAULT_STACK_SIZE
#define USERBOOT_HANDLES 8
#define EXIT_POLL_NS 10000000ll  // how often the kernel looks for remaining processes

#define ELF_PT_LOAD 1u
#define ELF_PF_X 1u
#define ELF_CLASS64 2u

struct elf64_ehdr {
    unsigned char ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

extern const char userabi_vdso_image[], userabi_vdso_image_end[];
extern const char userabi_userboot_image[], userabi_userboot_image_end[];

static const uintptr_t vdso_sysret[ZX_SYS_COUNT] = {
#include "vdso-sysret.inc"
};

// An RODSO's layout: [0, code) read-only, [code, size) executable; `end` is where its last
// segment's bytes end in the file (size = end rounded up to a page); `entry` its ELF entry
// (0 for the vDSO).
struct rodso {
    uint64_t entry, code, size, end;
};

// Reads the layout of an embedded RODSO; false if it is not one.
static bool rodso_parse(const char *image, size_t len, struct rodso *out) {
    const struct elf64_ehdr *eh = (const struct elf64_ehdr *)image;
    if (len < sizeof(*eh) || memcmp(eh->ident, "\177ELF", 4) != 0 ||
        eh->ident[4] != ELF_CLASS64 || eh->phentsize != sizeof(struct elf64_phdr) ||
        eh->phoff > len || (uint64_t)eh->phnum * sizeof(struct elf64_phdr) > len - eh->phoff) {
        return false;
    }
    const struct elf64_phdr *ph = (const struct elf64_phdr *)(image + eh->phoff);
    *out = (struct rodso){.entry = eh->entry};
    for (uint16_t i = 0; i < eh->phnum; i++) {
        if (ph[i].type != ELF_PT_LOAD) {
            continue;
        }
        if (ph[i].offset != ph[i].vaddr || ph[i].filesz != ph[i].memsz ||
            ph[i].offset > len || ph[i].filesz > len - ph[i].offset) {
            return false;
        }
        if (ph[i].flags & ELF_PF_X) {
            out->code = ph[i].offset;
        }
        if (ph[i].offset + ph[i].filesz > out->end) {
            out->end = ph[i].offset + ph[i].filesz;
        }
    }
    out->size = PAGE_ALIGN_UP(out->end);
    return out->code != 0 && (out->code & (PAGE_SIZE - 1)) == 0 && out->code < out->size;
}

// The objects userboot gets, each with a reference held here.
struct userboot_objects {
    struct vmo *vdso, *image, *stack, *zbi;
    struct process *proc;
    struct uthread *thread;
    struct kobject *ch_kernel, *ch_user;
};

static void objects_release(struct userboot_objects *o) {
    struct kobject *all[] = {o->vdso ? &o->vdso->obj : NULL,   o->image ? &o->image->obj : NULL,
                             o->stack ? &o->stack->obj : NULL, o->zbi ? &o->zbi->obj : NULL,
                             o->thread ? &o->thread->obj : NULL, o->proc ? &o->proc->obj : NULL,
                             o->ch_kernel, o->ch_user};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        kobject_unref(all[i]);
    }
}

// Maps an RODSO VMO at `offset` in `vmar`: headers read-only, code read + execute.
static zx_status_t map_rodso(struct vmar *vmar, size_t offset, struct vmo *vmo,
                             const struct rodso *r) {
    zx_vaddr_t addr;
    zx_vm_option_t rx = ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE;
    zx_status_t st = vmar_map(vmar, ZX_VM_SPECIFIC | ZX_VM_PERM_READ, offset, vmo, 0, r->code, rx,
                              &addr);
    if (st == ZX_OK) {
        st = vmar_map(vmar, ZX_VM_SPECIFIC | rx, offset + r->code, vmo, r->code,
                      r->size - r->code, rx, &addr);
    }
    return st;
}

// Builds the processargs bytes: header, handle info, environment = command-line words.
static char *bootstrap_bytes(const char *cmdline, const uint32_t *info, uint32_t n,
                             uint32_t *len) {
    size_t cmd_len = strlen(cmdline);
    size_t env_off = sizeof(zx_proc_args_t) + n * sizeof(uint32_t);
    char *msg = kzalloc(env_off + cmd_len + 1);
    if (msg == NULL) {
        return NULL;
    }
    uint32_t words = 0;
    char *out = msg + env_off;
    for (const char *p = cmdline; *p != '\0';) {
        while (*p == ' ') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        while (*p != '\0' && *p != ' ') {
            *out++ = *p++;
        }
        *out++ = '\0';
        words++;
    }
    zx_proc_args_t hdr = {
        .protocol = ZX_PROCARGS_PROTOCOL,
        .version = ZX_PROCARGS_VERSION,
        .handle_info_off = sizeof(zx_proc_args_t),
        .environ_off = (uint32_t)env_off,
        .environ_num = words,
    };
    memcpy(msg, &hdr, sizeof(hdr));
    memcpy(msg + sizeof(hdr), info, n * sizeof(uint32_t));
    *len = (uint32_t)(out - msg);
    return msg;
}

// Sends the bootstrap message with `n` handles (objs[i], rights[i]) on `ch`.
static zx_status_t send_bootstrap(struct kobject *ch, const char *cmdline,
                                  struct kobject *const *objs, const zx_rights_t *rights,
                                  const uint32_t *info, uint32_t n) {
    uint32_t len;
    char *msg = bootstrap_bytes(cmdline, info, n, &len);
    if (msg == NULL) {
        return ZX_ERR_NO_MEMORY;
    }
    // Handles in transit come out of a table: a scratch one, emptied again below.
    struct handle_table scratch;
    handle_table_init(&scratch, NULL);
    struct msg_handle transit[USERBOOT_HANDLES];
    zx_status_t st = ZX_OK;
    uint32_t in_transit = 0;
    while (in_transit < n && st == ZX_OK) {
        zx_handle_t h;
        st = handle_table_add(&scratch, objs[in_transit], rights[in_transit], &h);
        if (st == ZX_OK) {
            st = handle_table_take(&scratch, h, ZX_RIGHT_NONE, &transit[in_transit].obj,
                                   &transit[in_transit].rights);
        }
        in_transit += st == ZX_OK;
    }
    if (st == ZX_OK) {
        st = channel_write(ch, msg, len, transit, n);
    }
    if (st != ZX_OK) {
        for (uint32_t i = 0; i < in_transit; i++) {
            handle_drop(transit[i].obj);
        }
    }
    handle_table_destroy(&scratch);
    kfree(msg);
    return st;
}

static zx_status_t launch(const struct boot_info *bi, struct userboot_objects *o) {
    struct rodso ub, vd;
    size_t ub_len = (size_t)(userabi_userboot_image_end - userabi_userboot_image);
    size_t vd_len = (size_t)(userabi_vdso_image_end - userabi_vdso_image);
    if (!rodso_parse(userabi_userboot_image, ub_len, &ub) ||
        !rodso_parse(userabi_vdso_image, vd_len, &vd) || ub.entry < ub.code ||
        ub.entry >= ub.size) {
        return ZX_ERR_INVALID_ARGS;
    }
    const zbi_header_t *zbi = paddr_to_physmap(bi->zbi_paddr);
    zx_status_t st = vmo_create_from_kernel(userabi_vdso_image, vd.end, VMO_FLAG_VDSO, &o->vdso);
    if (st != ZX_OK) {
        return st;
    }
    o->vdso->vdso_code_start = vd.code;
    o->vdso->vdso_sysret = vdso_sysret;
    kobject_set_name(&o->vdso->obj, "vdso/full", 9);
    if ((st = vmo_create_from_kernel(userabi_userboot_image, ub.end, 0, &o->image)) != ZX_OK ||
        (st = vmo_create(USERBOOT_STACK_SIZE, 0, &o->stack)) != ZX_OK ||
        (st = vmo_create_from_kernel(zbi, sizeof(*zbi) + zbi->length, 0, &o->zbi)) != ZX_OK ||
        (st = process_create(job_root(), "userboot", 8, &o->proc)) != ZX_OK ||
        (st = uthread_create(o->proc, "userboot", 8, &o->thread)) != ZX_OK ||
        (st = channel_create(0, &o->ch_kernel, &o->ch_user)) != ZX_OK) {
        return st;
    }
    kobject_set_name(&o->stack->obj, "userboot-initial-stack", 22);
    kobject_set_name(&o->zbi->obj, "zbi", 3);
    kobject_set_name(&o->image->obj, "userboot", 8);

    struct vmar *root = o->proc->aspace->root, *vmar;
    zx_vaddr_t base, stack;
    zx_vm_option_t can = ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_EXECUTE |
                         ZX_VM_CAN_MAP_SPECIFIC;
    if (cmdline_has_word(bi->cmdline, "kernel.userboot.fixed")) {
        can |= ZX_VM_COMPACT;
    }
    if ((st = vmar_allocate(root, can, 0, ub.size + vd.size, &vmar, &base)) != ZX_OK) {
        return st;
    }
    if (can & ZX_VM_COMPACT) {
        printf("zhb kernel: userboot: loaded at 0x%lx, vDSO at 0x%lx\n", (unsigned long)base,
               (unsigned long)(base + ub.size));
    }
    st = map_rodso(vmar, 0, o->image, &ub);
    if (st == ZX_OK) {
        st = map_rodso(vmar, ub.size, o->vdso, &vd);
    }
    kobject_unref(&vmar->obj);
    zx_vm_option_t rw = ZX_VM_PERM_READ | ZX_VM_PERM_WRITE;
    if (st != ZX_OK ||
        (st = vmar_map(root, rw, 0, o->stack, 0, USERBOOT_STACK_SIZE, rw, &stack)) != ZX_OK) {
        return st;
    }

    zx_handle_t boot_handle;
    st = handle_table_add(&o->proc->handles, o->ch_user, ZX_DEFAULT_CHANNEL_RIGHTS,
                          &boot_handle);
    if (st != ZX_OK) {
        return st;
    }
    struct kobject *power = resource_power();
    struct kobject *objs[USERBOOT_HANDLES] = {
        &o->vdso->obj,   &o->zbi->obj,    power,           &o->stack->obj,
        &o->proc->obj,   &o->thread->obj, &job_root()->obj, &root->obj,
    };
    const zx_rights_t rights[USERBOOT_HANDLES] = {
        (ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE) | ZX_RIGHT_EXECUTE,
        ZX_DEFAULT_VMO_RIGHTS,
        ZX_DEFAULT_RESOURCE_RIGHTS,
        ZX_DEFAULT_VMO_RIGHTS,
        ZX_DEFAULT_PROCESS_RIGHTS,
        ZX_DEFAULT_THREAD_RIGHTS,
        ZX_DEFAULT_JOB_RIGHTS,
        ZX_DEFAULT_VMAR_RIGHTS | ZX_RIGHT_READ | ZX_RIGHT_WRITE | ZX_RIGHT_EXECUTE,
    };
    const uint32_t info[USERBOOT_HANDLES] = {
        PA_HND(PA_VMO_VDSO, 0),   PA_HND(PA_VMO_BOOTDATA, 0), PA_HND(PA_RESOURCE, 0),
        PA_HND(PA_VMO_STACK, 0),  PA_HND(PA_PROC_SELF, 0),    PA_HND(PA_THREAD_SELF, 0),
        PA_HND(PA_JOB_DEFAULT, 0), PA_HND(PA_VMAR_ROOT, 0),
    };
    st = send_bootstrap(o->ch_kernel, bi->cmdline, objs, rights, info, USERBOOT_HANDLES);
    kobject_unref(power);
    if (st != ZX_OK) {
        return st;
    }
    uintptr_t sp = arch_user_stack_pointer(stack + USERBOOT_STACK_SIZE);
    return uthread_start(o->thread, base + ub.entry, sp, boot_handle, base + ub.size);
}

void userboot_run(const struct boot_info *bi) {
    struct userboot_objects o = {0};
    zx_status_t st = launch(bi, &o);
    if (st != ZX_OK) {
        printf("zhb kernel: userboot: could not start it (status %d)\n", st);
        if (o.proc != NULL) {
            process_kill(o.proc, ZX_TASK_RETCODE_SYSCALL_KILL);
        }
        objects_release(&o);
        return;
    }
    struct kobject *proc = &o.proc->obj;
    kobject_ref(proc);
    objects_release(&o);  // the kernel's end of the channel closes here
    zx_signals_t seen;
    (void)object_wait_one(proc, ZX_PROCESS_TERMINATED, ZX_TIME_INFINITE, &seen);
    kobject_unref(proc);
    while (job_root()->processes > 0) {
        thread_sleep(EXIT_POLL_NS);
    }
}
