// The process builder: see <zhb/process_builder.h>. Zircon's process-creation flow, in the
// seed's order: zx_process_create + zx_thread_create up front; at build, the ELF file's
// headers read (or, if they lie past its first KiB, the file mapped read-only into our own
// VMAR) and parsed (elf.c); for PT_INTERP a low-address reservation,
// the dynamic linker fetched from the loader service and the linker message; every PT_LOAD
// mapped with its own permissions (ET_EXEC at its link address, ET_DYN in a sub-VMAR at a
// random base): code and read-only data straight from the file VMO, writable data from a
// copy-on-write snapshot of it; the vDSO VMO mapped with its exact layout; the stack; the
// main processargs message; the reservation destroyed.
#include <lib/console.h>
#include <lib/string.h>
#include <zhb-arch.h>
#include <zhb/elf.h>
#include <zhb/process_builder.h>
#include <zhb/processargs.h>
#include <zircon/processargs.h>

// userboot (an RODSO without relocations) calls the vDSO through hidden symbols; programs
// link the thunks statically: hidden suits both.
#pragma GCC visibility push(hidden)
#include <zircon/syscalls.h>
#pragma GCC visibility pop

#define PAGE_SIZE 4096u
#define RANDOM_TRIES 8
#define OWN_HANDLES 8  // proc, VMAR, thread, loaded VMAR, vDSO, stack (+ linker's spares)
#define MSG_HANDLES (PB_MAX_HANDLES + OWN_HANDLES)
#define THREAD_NAME "initial-thread"
#define LDSVC_TXID 1u

static uint64_t page_down(uint64_t v) {
    return v & ~(uint64_t)(PAGE_SIZE - 1);
}

static uint64_t page_up(uint64_t v) {
    return page_down(v + PAGE_SIZE - 1);
}

static void close_handle(zx_handle_t *h) {
    if (*h != ZX_HANDLE_INVALID) {
        zx_handle_close(*h);
        *h = ZX_HANDLE_INVALID;
    }
}

zx_status_t pb_set_error(struct pb_error *e, enum pb_error_kind kind, zx_status_t status,
                             const char *what) {
    e->kind = kind;
    e->status = status;
    if (kind == PB_ERR_ELF_PARSE || kind == PB_ERR_BAD_HANDLE || kind == PB_ERR_INVALID_ARG ||
        kind == PB_ERR_LOADER_MISSING || kind == PB_ERR_INVALID_INTERP) {
        snprintf(e->text, sizeof(e->text), "%s", what);
    } else {
        snprintf(e->text, sizeof(e->text), "%s failed (status %d)", what, status);
    }
    return status;
}

// A switch, not a table of pointers: userboot (an RODSO) may have no relocations.
const char *pb_error_kind_name(enum pb_error_kind kind) {
    switch (kind) {
    case PB_OK:
        return "Ok";
    case PB_ERR_INVALID_ARG:
        return "InvalidArg";
    case PB_ERR_BAD_HANDLE:
        return "BadHandle";
    case PB_ERR_CREATE_PROCESS:
        return "CreateProcess";
    case PB_ERR_CREATE_THREAD:
        return "CreateThread";
    case PB_ERR_PROCESS_START:
        return "ProcessStart";
    case PB_ERR_ELF_PARSE:
        return "ElfParse";
    case PB_ERR_ELF_LOAD:
        return "ElfLoad";
    case PB_ERR_PROCESSARGS:
        return "Processargs";
    case PB_ERR_GENERIC_STATUS:
        return "GenericStatus";
    case PB_ERR_INVALID_INTERP:
        return "InvalidInterpHeader";
    case PB_ERR_LOADER_MISSING:
        return "LoaderMissing";
    case PB_ERR_LOAD_DYNAMIC_LINKER:
        return "LoadDynamicLinker";
    case PB_ERR_WRITE_BOOTSTRAP:
        return "WriteBootstrapMessage";
    case PB_ERR_DESTROY_RESERVATION:
        return "DestroyReservationVMAR";
    }
    return "Unknown";
}

uint64_t pb_static_stack_size(uint64_t gnu_stack_memsz) {
    return page_up(gnu_stack_memsz != 0 ? gnu_stack_memsz : PB_DEFAULT_STACK_SIZE);
}

uint64_t pb_linker_stack_size(size_t message_bytes, uint32_t num_handles) {
    return page_up(message_bytes + (uint64_t)num_handles * sizeof(zx_handle_t) +
                   PB_LINKER_STACK_EXTRA);
}

zx_status_t pb_vmo_from_bytes(const void *bytes, size_t size, zx_handle_t *vmo) {
    zx_handle_t out;
    zx_status_t status = zx_vmo_create(size, 0, &out);
    if (status != ZX_OK) {
        return status;
    }
    if ((status = zx_vmo_write(out, bytes, 0, size)) != ZX_OK) {
        zx_handle_close(out);
        return status;
    }
    // The old handle is consumed either way.
    return zx_vmo_replace_as_executable(out, ZX_HANDLE_INVALID, vmo);
}

zx_status_t pb_create(struct process_builder *b, zx_handle_t job, const char *name,
                      zx_handle_t executable, zx_handle_t self_vmar) {
    *b = (struct process_builder){.executable = executable, .self_vmar = self_vmar};
    zx_status_t status;
    if (job == ZX_HANDLE_INVALID) {
        status = pb_set_error(&b->error, PB_ERR_BAD_HANDLE, ZX_ERR_BAD_HANDLE, "Invalid job handle");
    } else if (executable == ZX_HANDLE_INVALID) {
        status = pb_set_error(&b->error, PB_ERR_BAD_HANDLE, ZX_ERR_BAD_HANDLE,
                           "Invalid executable handle");
    } else if ((status = zx_process_create(job, name, strlen(name), 0, &b->process,
                                           &b->root_vmar)) != ZX_OK) {
        pb_set_error(&b->error, PB_ERR_CREATE_PROCESS, status, "zx_process_create");
    } else if ((status = zx_thread_create(b->process, THREAD_NAME, strlen(THREAD_NAME), 0,
                                          &b->thread)) != ZX_OK) {
        pb_set_error(&b->error, PB_ERR_CREATE_THREAD, status, "zx_thread_create");
    }
    if (status != ZX_OK) {
        pb_destroy(b);
    }
    return status;
}

static zx_status_t add_strings(struct process_builder *b, const char **table, uint32_t *used,
                               uint32_t cap, const char *const *strings, uint32_t count) {
    if (count > cap - *used) {
        return pb_set_error(&b->error, PB_ERR_INVALID_ARG, ZX_ERR_INVALID_ARGS,
                         "too many arguments or environment variables");
    }
    for (uint32_t i = 0; i < count; i++) {
        table[(*used)++] = strings[i];
    }
    return ZX_OK;
}

zx_status_t pb_add_args(struct process_builder *b, const char *const *args, uint32_t count) {
    return add_strings(b, b->args, &b->num_args, PB_MAX_ARGS, args, count);
}

zx_status_t pb_add_environ(struct process_builder *b, const char *const *vars, uint32_t count) {
    return add_strings(b, b->environ, &b->num_environ, PB_MAX_ENVIRON, vars, count);
}

static zx_status_t replace_handle(struct process_builder *b, zx_handle_t *slot, zx_handle_t h,
                                  const char *what) {
    if (h == ZX_HANDLE_INVALID) {
        return pb_set_error(&b->error, PB_ERR_BAD_HANDLE, ZX_ERR_BAD_HANDLE, what);
    }
    close_handle(slot);
    *slot = h;
    return ZX_OK;
}

zx_status_t pb_set_loader_service(struct process_builder *b, zx_handle_t ldsvc) {
    return replace_handle(b, &b->ldsvc, ldsvc, "Invalid loader service handle");
}

zx_status_t pb_set_vdso_vmo(struct process_builder *b, zx_handle_t vdso) {
    return replace_handle(b, &b->vdso, vdso, "Invalid vDSO VMO handle");
}

void pb_set_placements(struct process_builder *b, struct pb_placements *placements) {
    b->placements = placements;
}

zx_status_t pb_set_interp_vmo(struct process_builder *b, zx_handle_t interp) {
    return replace_handle(b, &b->interp, interp, "Invalid dynamic linker VMO handle");
}

static bool builder_adds(uint32_t type) {
    return type == PA_PROC_SELF || type == PA_THREAD_SELF || type == PA_VMAR_ROOT ||
           type == PA_VMAR_LOADED || type == PA_VMO_STACK || type == PA_VMO_EXECUTABLE ||
           type == PA_NS_DIR;
}

zx_status_t pb_add_handles(struct process_builder *b, const zx_handle_t *handles,
                           const uint32_t *info, uint32_t count) {
    zx_status_t status = ZX_OK;
    uint32_t plain = 0;
    for (uint32_t i = 0; i < count && status == ZX_OK; i++) {
        uint32_t type = PA_HND_TYPE(info[i]);
        if (handles[i] == ZX_HANDLE_INVALID) {
            status = pb_set_error(&b->error, PB_ERR_BAD_HANDLE, ZX_ERR_BAD_HANDLE,
                               "Invalid handle in startup handles");
        } else if (builder_adds(type)) {
            status = pb_set_error(&b->error, PB_ERR_INVALID_ARG, ZX_ERR_INVALID_ARGS,
                               "Cannot add a handle of this type directly, the builder adds it");
        } else if (type != PA_LDSVC_LOADER && type != PA_VMO_VDSO) {
            plain++;
        }
    }
    if (status == ZX_OK && plain > PB_MAX_HANDLES - b->num_handles) {
        status = pb_set_error(&b->error, PB_ERR_INVALID_ARG, ZX_ERR_INVALID_ARGS,
                           "too many startup handles");
    }
    for (uint32_t i = 0; i < count; i++) {
        uint32_t type = PA_HND_TYPE(info[i]);
        if (status != ZX_OK) {
            if (handles[i] != ZX_HANDLE_INVALID) {
                zx_handle_close(handles[i]);
            }
        } else if (type == PA_LDSVC_LOADER) {
            pb_set_loader_service(b, handles[i]);
        } else if (type == PA_VMO_VDSO) {
            pb_set_vdso_vmo(b, handles[i]);
        } else {
            b->handles[b->num_handles] = handles[i];
            b->handle_info[b->num_handles++] = info[i];
        }
    }
    return status;
}

void pb_destroy(struct process_builder *b) {
    if (b->process != ZX_HANDLE_INVALID) {
        zx_task_kill(b->process);
    }
    zx_handle_t *owned[] = {&b->executable, &b->ldsvc, &b->vdso,   &b->interp,
                            &b->thread,     &b->root_vmar, &b->process};
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
        close_handle(owned[i]);
    }
    for (uint32_t i = 0; i < b->num_handles; i++) {
        close_handle(&b->handles[i]);
    }
    b->num_handles = 0;
}

void pb_built_destroy(struct pb_built *built) {
    if (built->process != ZX_HANDLE_INVALID) {
        zx_task_kill(built->process);
    }
    close_handle(&built->bootstrap);
    close_handle(&built->thread);
    close_handle(&built->root_vmar);
    close_handle(&built->process);
}

// ---- Building ------------------------------------------------------------------------------

// A file mapped read-only into our own VMAR.
#define HEAD_BYTES 1024u  // what pb_build reads of a file to parse it (else: it maps it)

// A file being parsed: its first bytes read into head (data points there), or, if its
// headers lie further in, the whole file mapped (data points there, `mapped` bytes).
struct mapped {
    const uint8_t *data;
    uint64_t size;
    uint64_t mapped;
    uint8_t head[HEAD_BYTES] __attribute__((aligned(8)));
};

// A processargs message being assembled: its handles are owned until written.
struct message {
    zx_handle_t handles[MSG_HANDLES];
    uint32_t info[MSG_HANDLES];
    uint32_t count;
};

// What pb_build holds while it works; everything here is released by finish().
struct build {
    struct process_builder *b;
    struct mapped exe, ld, vdso;
    zx_handle_t ours, theirs;     // the bootstrap channel
    zx_handle_t reservation;      // the low-address VMAR (PT_INTERP)
    zx_handle_t ld_vmo;           // the dynamic linker's file
    zx_info_vmar_t root;
    struct pb_loader loader;  // into the new process's root VMAR
    struct message main;
};

static zx_status_t map_file(struct build *w, zx_handle_t vmo, struct mapped *m, const char *what) {
    zx_vaddr_t addr;
    m->mapped = page_up(m->size);
    zx_status_t status =
        zx_vmar_map(w->b->self_vmar, ZX_VM_PERM_READ, 0, vmo, 0, m->mapped, &addr);
    if (status != ZX_OK) {
        m->mapped = 0;
        return pb_set_error(&w->b->error, PB_ERR_GENERIC_STATUS, status, what);
    }
    m->data = (const uint8_t *)addr;
    return ZX_OK;
}

static void unmap_file(struct build *w, struct mapped *m) {
    if (m->mapped != 0) {
        zx_vmar_unmap(w->b->self_vmar, (zx_vaddr_t)m->data, m->mapped);
        m->mapped = 0;
    }
}

// Parses the ELF file in `vmo` into *info: from its first HEAD_BYTES, read, or if its headers
// lie further in, from the whole file, mapped into our VMAR (`what` names that step).
static zx_status_t parse_file(struct build *w, zx_handle_t vmo, struct mapped *m,
                              struct elf_info *info, const char *what, const char *whose) {
    zx_status_t status = zx_vmo_get_size(vmo, &m->size);
    if (status != ZX_OK) {
        return pb_set_error(&w->b->error, PB_ERR_GENERIC_STATUS, status, what);
    }
    if (m->size == 0) {
        return pb_set_error(&w->b->error, PB_ERR_ELF_PARSE, ZX_ERR_NOT_FOUND,
                            elf_strerror(ELF_ERR_TRUNCATED));
    }
    size_t len = m->size < HEAD_BYTES ? (size_t)m->size : HEAD_BYTES;
    if ((status = zx_vmo_read(vmo, m->head, 0, len)) != ZX_OK) {
        return pb_set_error(&w->b->error, PB_ERR_GENERIC_STATUS, status, what);
    }
    m->data = m->head;
    int parsed = elf_parse_head(m->head, len, m->size, ZHB_ELF_MACHINE, info);
    if (parsed == ELF_ERR_HEAD) {
        if ((status = map_file(w, vmo, m, what)) != ZX_OK) {
            return status;
        }
        parsed = elf_parse(m->data, m->size, ZHB_ELF_MACHINE, info);
    }
    if (parsed == ELF_OK) {
        return ZX_OK;
    }
    struct pb_error *e = &w->b->error;
    e->kind = parsed == ELF_ERR_INTERP ? PB_ERR_INVALID_INTERP : PB_ERR_ELF_PARSE;
    e->status = ZX_ERR_NOT_FOUND;  // the seed's ElfParseError::as_zx_status
    snprintf(e->text, sizeof(e->text), "%s%s", whose, elf_strerror(parsed));
    return e->status;
}

static zx_vm_option_t segment_perms(uint32_t flags) {
    zx_vm_option_t perms = 0;
    perms |= (flags & ELF_PF_R) ? ZX_VM_PERM_READ : 0;
    perms |= (flags & ELF_PF_W) ? ZX_VM_PERM_WRITE : 0;
    perms |= (flags & ELF_PF_X) ? ZX_VM_PERM_EXECUTE : 0;
    return perms;
}

// A sub-VMAR of `size` bytes at l->hint if that is free, else at a random page of the root
// VMAR (zx_cprng_draw), or wherever the kernel likes if a few random tries collide with
// existing mappings or the reservation.
static zx_status_t allocate_random(const struct pb_loader *l, size_t size, zx_vm_option_t can_map,
                                   zx_handle_t *sub, zx_vaddr_t *base) {
    const zx_info_vmar_t *where = &l->root;
    zx_vm_option_t options = ZX_VM_CAN_MAP_SPECIFIC | can_map;
    if (l->hint != 0 && size <= where->len && l->hint <= where->len - size &&
        zx_vmar_allocate(l->vmar, options | ZX_VM_SPECIFIC, l->hint, size, sub, base) == ZX_OK) {
        return ZX_OK;
    }
    for (int i = 0; i < RANDOM_TRIES && size < where->len; i++) {
        uint64_t random;
        zx_cprng_draw(&random, sizeof(random));
        uint64_t offset = (random % ((where->len - size) / PAGE_SIZE + 1)) * PAGE_SIZE;
        if (zx_vmar_allocate(l->vmar, options | ZX_VM_SPECIFIC, offset, size, sub, base) == ZX_OK) {
            return ZX_OK;
        }
    }
    return zx_vmar_allocate(l->vmar, options, 0, size, sub, base);
}

// Zeros for zero_vmo: read-only data (userboot, which links this, has no writable data).
static const uint8_t zero_page[PAGE_SIZE];

// Zeroes `len` bytes of `vmo` at `offset`.
static zx_status_t zero_vmo(zx_handle_t vmo, uint64_t offset, uint64_t len) {
    zx_status_t status = ZX_OK;
    while (len > 0 && status == ZX_OK) {
        uint64_t n = len < sizeof(zero_page) ? len : sizeof(zero_page);
        status = zx_vmo_write(vmo, zero_page, offset, n);
        offset += n;
        len -= n;
    }
    return status;
}

#define COPY_MAX 512u  // file bytes up to which a segment's are copied rather than snapshot

// The VMO of a segment's file pages [start, file_end). A few hundred file bytes (the usual
// .data) are copied into a new VMO: cheaper than a snapshot, which must zero the rest of the
// page in it. More are a copy-on-write snapshot of the file VMO's pages, its bytes past filesz
// (the next section's, in the file) zeroed. Made executable again for an executable segment
// (neither a new VMO nor a snapshot has ZX_RIGHT_EXECUTE).
static zx_status_t data_vmo(const struct elf_segment *seg, zx_handle_t file_vmo, uint64_t start,
                            uint64_t file_end, zx_handle_t *vmo, const char **what) {
    uint64_t used = seg->vaddr + seg->filesz - start;
    zx_status_t status;
    if (seg->filesz <= COPY_MAX) {
        uint8_t bytes[COPY_MAX];
        *what = "zx_vmo_create (segment)";
        if ((status = zx_vmo_create(file_end - start, 0, vmo)) != ZX_OK) {
            return status;
        }
        *what = "zx_vmo_read (segment)";
        if ((status = zx_vmo_read(file_vmo, bytes, seg->offset, seg->filesz)) == ZX_OK) {
            *what = "zx_vmo_write (segment)";
            status = zx_vmo_write(*vmo, bytes, seg->vaddr - start, seg->filesz);
        }
    } else {
        *what = "zx_vmo_create_child (segment)";
        status = zx_vmo_create_child(file_vmo, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE,
                                     page_down(seg->offset), file_end - start, vmo);
        if (status != ZX_OK) {
            return status;
        }
        *what = "zx_vmo_write (segment)";
        status = zero_vmo(*vmo, used, file_end - start - used);
    }
    if (status == ZX_OK && (seg->flags & ELF_PF_X)) {
        *what = "zx_vmo_replace_as_executable (segment)";
        return zx_vmo_replace_as_executable(*vmo, ZX_HANDLE_INVALID, vmo);  // consumes it
    }
    if (status != ZX_OK) {
        zx_handle_close(*vmo);
    }
    return status;
}

// Maps `size` bytes of `vmo` at `offset` at link address `at` (+ bias, in vmar at vmar_base),
// with the pages the VMO holds already entered at once (ZX_VM_MAP_RANGE: no fault on the first
// touch of each); closes vmo unless it is the file's.
static zx_status_t map_part(const struct pb_loader *l, zx_handle_t vmar, zx_vaddr_t vmar_base,
                            uint64_t at, uint64_t bias, uint32_t flags, zx_handle_t vmo,
                            zx_handle_t file_vmo, uint64_t offset, uint64_t size) {
    zx_vaddr_t addr;
    zx_status_t status = zx_vmar_map(vmar, segment_perms(flags) | ZX_VM_SPECIFIC | ZX_VM_MAP_RANGE,
                                     at + bias - vmar_base, vmo, offset, size, &addr);
    if (vmo != file_vmo) {
        zx_handle_close(vmo);
    }
    if (status != ZX_OK) {
        return pb_set_error(l->error, PB_ERR_ELF_LOAD, status, "zx_vmar_map (segment)");
    }
    return ZX_OK;
}

// Maps every segment of `info` into `vmar` (based at vmar_base) at vaddr + bias. Read-only
// and executable segments map the file VMO's pages directly (so every process started from
// one file VMO shares its code pages); a writable one (or one with more memory than file
// bytes) maps a VMO of its file pages (data_vmo: a copy-on-write snapshot, or for a few
// hundred bytes a copy) and, past them, a fresh zero-filled VMO.
static zx_status_t map_segments(const struct pb_loader *l, const struct elf_info *info,
                                zx_handle_t vmar, zx_vaddr_t vmar_base, uint64_t bias,
                                zx_handle_t file_vmo) {
    for (uint32_t i = 0; i < info->nsegs; i++) {
        const struct elf_segment *seg = &info->segs[i];
        uint64_t start = page_down(seg->vaddr);
        uint64_t end = page_up(seg->vaddr + seg->memsz);
        zx_status_t status;
        if (!(seg->flags & ELF_PF_W) && seg->filesz == seg->memsz) {
            status = map_part(l, vmar, vmar_base, start, bias, seg->flags, file_vmo, file_vmo,
                              page_down(seg->offset), end - start);
            if (status != ZX_OK) {
                return status;
            }
            continue;
        }
        uint64_t file_end = seg->filesz != 0 ? page_up(seg->vaddr + seg->filesz) : start;
        zx_handle_t vmo;
        const char *what;
        if (file_end > start) {
            if ((status = data_vmo(seg, file_vmo, start, file_end, &vmo, &what)) != ZX_OK) {
                return pb_set_error(l->error, PB_ERR_ELF_LOAD, status, what);
            }
            if ((status = map_part(l, vmar, vmar_base, start, bias, seg->flags, vmo, file_vmo, 0,
                                   file_end - start)) != ZX_OK) {
                return status;
            }
        }
        if (end > file_end) {
            if ((status = zx_vmo_create(end - file_end, 0, &vmo)) != ZX_OK) {
                return pb_set_error(l->error, PB_ERR_ELF_LOAD, status, "zx_vmo_create (segment)");
            }
            if ((status = map_part(l, vmar, vmar_base, file_end, bias, seg->flags, vmo, file_vmo,
                                   0, end - file_end)) != ZX_OK) {
                return status;
            }
        }
    }
    return ZX_OK;
}

// Loads an ELF image into the new process; *bias is what was added to its link addresses (0
// for ET_EXEC), *loaded its sub-VMAR (ET_DYN; invalid for ET_EXEC) if loaded is not NULL.
zx_status_t pb_load_elf(const struct pb_loader *l, const struct elf_info *info,
                        zx_handle_t file_vmo, uint64_t *bias, zx_handle_t *loaded) {
    if (info->type == ELF_ET_EXEC) {
        *bias = 0;
        return map_segments(l, info, l->vmar, l->root.base, 0, file_vmo);
    }
    zx_vm_option_t can_map = 0;
    for (uint32_t i = 0; i < info->nsegs; i++) {
        can_map |= segment_perms(info->segs[i].flags) << 7;  // ZX_VM_PERM_* -> CAN_MAP_*
    }
    zx_handle_t sub;
    zx_vaddr_t base;
    zx_status_t status = allocate_random(l, info->hi - info->lo, can_map, &sub, &base);
    if (status != ZX_OK) {
        return pb_set_error(l->error, PB_ERR_ELF_LOAD, status, "zx_vmar_allocate");
    }
    *bias = base - info->lo;
    status = map_segments(l, info, sub, base, *bias, file_vmo);
    if (status == ZX_OK && loaded != NULL) {
        *loaded = sub;
    } else {
        zx_handle_close(sub);
    }
    return status;
}

// pb_load_elf for pb_build: an ET_DYN file goes where b->placements says this file VMO went
// before (if free), and its base is recorded there.
static zx_status_t load_placed(struct build *w, const struct elf_info *info, zx_handle_t vmo,
                               uint64_t *bias, zx_handle_t *loaded) {
    struct pb_placements *p = w->b->placements;
    zx_info_handle_basic_t basic;
    uint32_t i = 0;
    if (p != NULL && info->type == ELF_ET_DYN &&
        zx_object_get_info(vmo, ZX_INFO_HANDLE_BASIC, &basic, sizeof(basic), NULL, NULL) ==
            ZX_OK) {
        while (i < p->count && p->at[i].koid != basic.koid) {
            i++;
        }
        w->loader.hint = i < p->count ? p->at[i].offset : 0;
    } else {
        p = NULL;
    }
    zx_status_t status = pb_load_elf(&w->loader, info, vmo, bias, loaded);
    w->loader.hint = 0;
    if (status == ZX_OK && p != NULL && i < PB_PLACEMENTS) {
        p->at[i].koid = basic.koid;
        p->at[i].offset = info->lo + *bias - w->root.base;
        p->count = i == p->count ? i + 1 : p->count;
    }
    return status;
}

static void message_add(struct message *m, zx_handle_t h, uint32_t info) {
    m->handles[m->count] = h;
    m->info[m->count++] = info;
}

// Adds duplicates of the process, root VMAR and thread handles (both messages get them).
static zx_status_t add_common(struct build *w, struct message *m) {
    struct process_builder *b = w->b;
    const struct {
        zx_handle_t source;
        uint32_t type;
    } common[] = {{b->process, PA_PROC_SELF}, {b->root_vmar, PA_VMAR_ROOT},
                  {b->thread, PA_THREAD_SELF}};
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
        zx_handle_t dup;
        zx_status_t status = zx_handle_duplicate(common[i].source, ZX_RIGHT_SAME_RIGHTS, &dup);
        if (status != ZX_OK) {
            return pb_set_error(&b->error, PB_ERR_GENERIC_STATUS, status, "zx_handle_duplicate");
        }
        message_add(m, dup, PA_HND(common[i].type, 0));
    }
    return ZX_OK;
}

// Builds `m` with these strings into buf; 0 if it does not fit.
static size_t encode(const struct message *m, uint8_t *buf, const char *const *args,
                     uint32_t num_args, const char *const *environ, uint32_t num_environ) {
    return processargs_build(buf, PB_MESSAGE_BYTES, m->info, m->count, args, num_args, environ,
                             num_environ);
}

// Writes `m` (its handles are consumed, even on failure).
static zx_status_t send(struct build *w, struct message *m, const uint8_t *buf, size_t size) {
    zx_status_t status = zx_channel_write(w->ours, 0, buf, (uint32_t)size, m->handles, m->count);
    m->count = 0;
    if (status != ZX_OK) {
        return pb_set_error(&w->b->error, PB_ERR_WRITE_BOOTSTRAP, status, "zx_channel_write");
    }
    return ZX_OK;
}

static zx_status_t reserve_low(struct build *w) {
    // The lower half of the whole address space (base + len), not of the VMAR alone.
    uint64_t size = page_up((w->root.base + w->root.len) / 2) - w->root.base;
    zx_vaddr_t addr;
    zx_status_t status =
        zx_vmar_allocate(w->b->root_vmar, ZX_VM_SPECIFIC, 0, size, &w->reservation, &addr);
    if (status != ZX_OK) {
        return pb_set_error(&w->b->error, PB_ERR_GENERIC_STATUS, status,
                         "zx_vmar_allocate (low reservation)");
    }
    if (addr != w->root.base) {
        return pb_set_error(&w->b->error, PB_ERR_GENERIC_STATUS, ZX_ERR_BAD_STATE,
                         "zx_vmar_allocate (low reservation at the wrong address)");
    }
    return ZX_OK;
}

static bool starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

// PT_INTERP: the reservation, the dynamic linker loaded, and the linker message written.
static zx_status_t load_interp(struct build *w, const struct elf_info *exe, struct elf_info *ld,
                               uint64_t *bias, uint8_t *buf) {
    struct process_builder *b = w->b;
    if (b->ldsvc == ZX_HANDLE_INVALID) {
        return pb_set_error(&b->error, PB_ERR_LOADER_MISSING, ZX_ERR_INVALID_ARGS,
                         "Failed to build process with dynamic ELF, missing fuchsia.ldsvc.Loader "
                         "handle");
    }
    zx_status_t status = reserve_low(w);
    if (status != ZX_OK) {
        return status;
    }
    const char *name = (const char *)w->exe.data + exe->interp_offset;
    if (b->interp != ZX_HANDLE_INVALID) {
        w->ld_vmo = b->interp;  // the caller fetched it (userboot: it is the loader service)
        b->interp = ZX_HANDLE_INVALID;
    } else {
        status = ldsvc_load_object(b->ldsvc, name, exe->interp_size, &w->ld_vmo);
    }
    if (status != ZX_OK) {
        return pb_set_error(&b->error, PB_ERR_LOAD_DYNAMIC_LINKER, status,
                         "Failed to load dynamic linker from fuchsia.ldsvc.Loader");
    }
    if ((status = parse_file(w, w->ld_vmo, &w->ld, ld, "reading the dynamic linker",
                             "dynamic linker: ")) != ZX_OK) {
        return status;
    }
    if (ld->interp_size != 0) {
        return pb_set_error(&b->error, PB_ERR_INVALID_INTERP, ZX_ERR_INVALID_ARGS,
                         "the dynamic linker has a PT_INTERP itself");
    }
    zx_handle_t loaded = ZX_HANDLE_INVALID;
    if ((status = load_placed(w, ld, w->ld_vmo, bias, &loaded)) != ZX_OK) {
        return status;
    }
    // The linker message: argv[0] only, LD_DEBUG= / LD_TRACE= only, the loader, the
    // executable and the linker's own VMAR, then the common handles.
    struct message linker = {0};
    message_add(&linker, b->ldsvc, PA_HND(PA_LDSVC_LOADER, 0));
    b->ldsvc = ZX_HANDLE_INVALID;
    message_add(&linker, b->executable, PA_HND(PA_VMO_EXECUTABLE, 0));
    b->executable = ZX_HANDLE_INVALID;
    if (loaded != ZX_HANDLE_INVALID) {
        message_add(&linker, loaded, PA_HND(PA_VMAR_LOADED, 0));
    }
    const char *environ[PB_MAX_ENVIRON];
    uint32_t num_environ = 0;
    for (uint32_t i = 0; i < b->num_environ; i++) {
        if (starts_with(b->environ[i], "LD_DEBUG=") || starts_with(b->environ[i], "LD_TRACE=")) {
            environ[num_environ++] = b->environ[i];
        }
    }
    size_t size = 0;
    if ((status = add_common(w, &linker)) == ZX_OK &&
        (size = encode(&linker, buf, b->args, b->num_args > 0 ? 1 : 0, environ, num_environ)) ==
            0) {
        status = pb_set_error(&b->error, PB_ERR_PROCESSARGS, ZX_ERR_BUFFER_TOO_SMALL,
                           "the linker message does not fit");
    }
    if (status != ZX_OK) {
        zx_handle_close_many(linker.handles, linker.count);
        return status;
    }
    return send(w, &linker, buf, size);
}

static zx_status_t load_vdso(struct build *w, uint64_t *base) {
    struct process_builder *b = w->b;
    struct elf_info vdso;
    if (b->vdso == ZX_HANDLE_INVALID) {
        return pb_set_error(&b->error, PB_ERR_BAD_HANDLE, ZX_ERR_BAD_HANDLE, "no vDSO VMO");
    }
    zx_status_t status = parse_file(w, b->vdso, &w->vdso, &vdso, "reading the vDSO", "vDSO: ");
    if (status != ZX_OK) {
        return status;
    }
    if (vdso.type != ELF_ET_DYN) {
        return pb_set_error(&b->error, PB_ERR_ELF_PARSE, ZX_ERR_NOT_FOUND, "vDSO: not ET_DYN");
    }
    if ((status = load_placed(w, &vdso, b->vdso, base, NULL)) != ZX_OK) {
        return status;
    }
    message_add(&w->main, b->vdso, PA_HND(PA_VMO_VDSO, 0));
    b->vdso = ZX_HANDLE_INVALID;
    return ZX_OK;
}

static zx_status_t make_stack(struct build *w, uint64_t size, const char *kind, uintptr_t *sp) {
    struct process_builder *b = w->b;
    zx_handle_t vmo;
    zx_vaddr_t base;
    char name[ZX_MAX_NAME_LEN];
    zx_status_t status = zx_vmo_create(size, 0, &vmo);
    if (status != ZX_OK) {
        return pb_set_error(&b->error, PB_ERR_GENERIC_STATUS, status,
                         "Failed to create VMO for initial thread stack");
    }
    int n = snprintf(name, sizeof(name), "stack: %s 0x%lx", kind, (unsigned long)size);
    zx_object_set_property(vmo, ZX_PROP_NAME, name, (size_t)n < sizeof(name) ? (size_t)n : 0);
    status = zx_vmar_map(b->root_vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0, size, &base);
    if (status != ZX_OK) {
        zx_handle_close(vmo);
        return pb_set_error(&b->error, PB_ERR_GENERIC_STATUS, status, "Failed to map initial stack");
    }
    message_add(&w->main, vmo, PA_HND(PA_VMO_STACK, 0));
    *sp = zhb_initial_sp(base + size);
    return ZX_OK;
}

static zx_status_t check_memory(struct build *w, uint64_t span, uint64_t stack) {
    uint64_t limit = w->b->memory_limit != 0 ? w->b->memory_limit : UINT64_MAX;
    if (span > limit || stack > limit - span) {
        struct pb_error *e = &w->b->error;
        e->kind = PB_ERR_ELF_LOAD;
        e->status = ZX_ERR_NO_MEMORY;
        snprintf(e->text, sizeof(e->text), "ELF segments (%lu bytes) and stack (%lu bytes) need "
                 "more than the %lu bytes allowed", (unsigned long)span, (unsigned long)stack,
                 (unsigned long)limit);
        return ZX_ERR_NO_MEMORY;
    }
    return ZX_OK;
}

static zx_status_t build_steps(struct build *w, struct pb_built *out, uint8_t *buf) {
    struct process_builder *b = w->b;
    struct elf_info exe, ld;
    uint64_t bias = 0;
    zx_status_t status =
        parse_file(w, b->executable, &w->exe, &exe, "reading the executable", "");
    if (status != ZX_OK) {
        return status;
    }
    if ((status = zx_object_get_info(b->root_vmar, ZX_INFO_VMAR, &w->root, sizeof(w->root), NULL,
                                     NULL)) != ZX_OK) {
        return pb_set_error(&b->error, PB_ERR_GENERIC_STATUS, status, "zx_object_get_info (VMAR)");
    }
    w->loader = (struct pb_loader){.vmar = b->root_vmar, .root = w->root, .error = &b->error};
    if ((status = zx_channel_create(0, &w->ours, &w->theirs)) != ZX_OK) {
        return pb_set_error(&b->error, PB_ERR_GENERIC_STATUS, status, "Failed to create channel");
    }
    if ((status = add_common(w, &w->main)) != ZX_OK) {
        return status;
    }
    const struct elf_info *loaded = &exe;
    uint64_t stack_size = 0;
    out->dynamic = exe.interp_size != 0;
    if (out->dynamic) {
        if ((status = load_interp(w, &exe, &ld, &bias, buf)) != ZX_OK) {
            return status;
        }
        loaded = &ld;
    } else {
        if ((status = check_memory(w, exe.hi - exe.lo, pb_static_stack_size(exe.stack_size))) !=
            ZX_OK) {
            return status;
        }
        zx_handle_t sub = ZX_HANDLE_INVALID;
        if ((status = load_placed(w, &exe, b->executable, &bias, &sub)) != ZX_OK) {
            return status;
        }
        if (sub != ZX_HANDLE_INVALID) {
            message_add(&w->main, sub, PA_HND(PA_VMAR_LOADED, 0));
        }
    }
    if ((status = load_vdso(w, &out->vdso_base)) != ZX_OK) {
        return status;
    }
    for (uint32_t i = 0; i < b->num_handles; i++) {
        message_add(&w->main, b->handles[i], b->handle_info[i]);
    }
    b->num_handles = 0;
    // The stack: the linker's is sized by the main message it reads (one more handle: the
    // stack VMO itself), a static program's by PT_GNU_STACK.
    const char *kind = exe.stack_size != 0 ? "explicit" : "default";
    if (out->dynamic) {
        message_add(&w->main, ZX_HANDLE_INVALID, PA_HND(PA_VMO_STACK, 0));
        size_t size = encode(&w->main, buf, b->args, b->num_args, b->environ, b->num_environ);
        w->main.count--;
        if (size == 0) {
            return pb_set_error(&b->error, PB_ERR_PROCESSARGS, ZX_ERR_BUFFER_TOO_SMALL,
                             "the processargs message does not fit");
        }
        stack_size = pb_linker_stack_size(size, w->main.count + 1);
        kind = "msg of";
        if ((status = check_memory(w, ld.hi - ld.lo, stack_size)) != ZX_OK) {
            return status;
        }
    } else {
        stack_size = pb_static_stack_size(exe.stack_size);
    }
    if ((status = make_stack(w, stack_size, kind, &out->stack)) != ZX_OK) {
        return status;
    }
    size_t size = encode(&w->main, buf, b->args, b->num_args, b->environ, b->num_environ);
    if (size == 0) {
        return pb_set_error(&b->error, PB_ERR_PROCESSARGS, ZX_ERR_BUFFER_TOO_SMALL,
                         "the processargs message does not fit");
    }
    if ((status = send(w, &w->main, buf, size)) != ZX_OK) {
        return status;
    }
    if (w->reservation != ZX_HANDLE_INVALID) {
        status = zx_vmar_destroy(w->reservation);
        close_handle(&w->reservation);
        if (status != ZX_OK) {
            return pb_set_error(&b->error, PB_ERR_DESTROY_RESERVATION, status, "zx_vmar_destroy");
        }
    }
    out->entry = loaded->entry + bias;
    out->elf_base = loaded->lo + bias;
    out->stack_size = stack_size;
    return ZX_OK;
}

zx_status_t pb_build(struct process_builder *b, struct pb_built *out) {
    uint8_t buf[PB_MESSAGE_BYTES] __attribute__((aligned(8)));
    struct build w = {.b = b};
    struct pb_built built = {0};
    zx_status_t status = build_steps(&w, &built, buf);
    unmap_file(&w, &w.exe);
    unmap_file(&w, &w.ld);
    unmap_file(&w, &w.vdso);
    zx_handle_close_many(w.main.handles, w.main.count);
    if (w.reservation != ZX_HANDLE_INVALID) {
        zx_vmar_destroy(w.reservation);
        close_handle(&w.reservation);
    }
    close_handle(&w.ld_vmo);
    close_handle(&w.ours);
    if (status != ZX_OK) {
        close_handle(&w.theirs);
        pb_destroy(b);
        return status;
    }
    built.process = b->process;
    built.root_vmar = b->root_vmar;
    built.thread = b->thread;
    built.bootstrap = w.theirs;
    b->process = b->root_vmar = b->thread = ZX_HANDLE_INVALID;
    pb_destroy(b);  // what is left: an unused loader service or executable handle
    *out = built;
    return ZX_OK;
}

zx_status_t pb_start(struct pb_built *built, zx_handle_t *process, struct pb_error *error) {
    zx_status_t status = zx_process_start(built->process, built->thread, built->entry,
                                          built->stack, built->bootstrap, built->vdso_base);
    built->bootstrap = ZX_HANDLE_INVALID;  // consumed, even on failure
    if (status != ZX_OK) {
        pb_set_error(error, PB_ERR_PROCESS_START, status, "zx_process_start");
        pb_built_destroy(built);
        return status;
    }
    close_handle(&built->thread);
    close_handle(&built->root_vmar);
    if (process != NULL) {
        *process = built->process;
    } else {
        zx_handle_close(built->process);
    }
    built->process = ZX_HANDLE_INVALID;
    return ZX_OK;
}

zx_status_t ldsvc_load_object(zx_handle_t ldsvc, const char *name, size_t len, zx_handle_t *vmo) {
    uint8_t req[LDMSG_REQ_MAX] __attribute__((aligned(8)));
    uint8_t rsp[LDMSG_RSP_SIZE] __attribute__((aligned(8)));
    uint32_t size = ldmsg_encode(req, LDSVC_TXID, LDMSG_OP_LOAD_OBJECT, name, len);
    if (size == 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    zx_handle_t got = ZX_HANDLE_INVALID;
    uint32_t got_bytes = 0;
    uint32_t got_handles = 0;
    zx_channel_call_args_t call = {
        .wr_bytes = req,
        .wr_num_bytes = size,
        .rd_bytes = rsp,
        .rd_handles = &got,
        .rd_num_bytes = sizeof(rsp),
        .rd_num_handles = 1,
    };
    zx_status_t status =
        zx_channel_call(ldsvc, 0, ZX_TIME_INFINITE, &call, &got_bytes, &got_handles);
    if (status != ZX_OK) {
        return status;
    }
    int32_t rv;
    memcpy(&rv, rsp + 16, sizeof(rv));
    if (got_bytes != LDMSG_RSP_SIZE || rv != ZX_OK || got_handles != 1) {
        if (got_handles == 1) {
            zx_handle_close(got);
        }
        return got_bytes != LDMSG_RSP_SIZE ? ZX_ERR_IO : rv != ZX_OK ? rv : ZX_ERR_NOT_FOUND;
    }
    *vmo = got;
    return ZX_OK;
}
