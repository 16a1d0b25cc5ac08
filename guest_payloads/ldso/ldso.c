// ld.so.1: the guest tree's dynamic linker (README "Dynamic linking"). The process builder
// starts it (PT_INTERP) with the bootstrap channel and the vDSO base. It reads the linker
// message (PA_LDSVC_LOADER, PA_VMO_EXECUTABLE, the root VMAR), loads the executable with the
// process builder's ELF loader, makes the program's stack (PT_GNU_STACK, else 256 KiB) and
// moves onto it, loads every DT_NEEDED library breadth-first through the loader service
// (libzircon.so is the vDSO, already mapped), applies the RELA relocations (RELATIVE,
// GLOB_DAT, JUMP_SLOT, ABS64; symbols looked up by DT_GNU_HASH in the executable, then the
// libraries in load order, then the vDSO), makes PT_GNU_RELRO read-only, sends the loader
// Done (and waits up to 1 s for it to close its end), closes the loader channel and the
// handles of the linker message, and jumps to the executable's entry with
// the bootstrap channel (whose next message is the program's own) and the vDSO base.
//
// Code maps straight from the file VMOs, data from copy-on-write snapshots of them
// (pb_load_elf). The executable and the libraries go one after the other right after ld.so's
// own image, wherever the process builder put that: one random slide for all of them, as
// Linux's mmap base (a module whose spot is taken goes to a random one instead).
//
// Anything wrong is one console line, "ld.so: error: <what>", and zx_process_exit(127).
// Everything lives in static storage: the linker's initial stack is only as big as the
// process builder computed (the message plus 3 KiB).
#include <lib/console.h>
#include <lib/string.h>
#include <zhb-arch.h>
#include <zhb/elf.h>
#include <zhb/process_builder.h>
#include <zhb/processargs.h>
#include <zircon/processargs.h>

#pragma GCC visibility push(hidden)
#include <zircon/syscalls.h>
#pragma GCC visibility pop

#define PAGE 4096u
#define MAX_MODULES 16
#define MAX_HANDLES 16
#define NAME_MAX_LEN 64
#define EXIT_CODE 127
#define VDSO_SONAME "libzircon.so"
#define DEFAULT_STACK (256u * 1024u)
#define LINE_MAX 256
#define HEAD 1024u  // what ld.so reads of a file to parse it (else: it maps it)

#define PT_DYNAMIC 2u
#define PT_GNU_RELRO 0x6474e552u
#define DT_NULL 0
#define DT_NEEDED 1
#define DT_PLTRELSZ 2
#define DT_STRTAB 5
#define DT_SYMTAB 6
#define DT_RELA 7
#define DT_RELASZ 8
#define DT_RELAENT 9
#define DT_STRSZ 10
#define DT_SYMENT 11
#define DT_REL 17
#define DT_PLTREL 20
#define DT_TEXTREL 22
#define DT_JMPREL 23
#define DT_GNU_HASH 0x6ffffef5
#define STB_LOCAL 0
#define STB_WEAK 2
#define SHN_UNDEF 0
#define SHN_ABS 0xfff1
#define RELA_SIZE 24u
#define SYM_SIZE 24u
#define MAX_DYNAMIC 256u

void __zhb_start(zx_handle_t bootstrap, uintptr_t vdso_base);
__attribute__((noreturn)) void ldso_switch(void (*fn)(void), uintptr_t sp);
__attribute__((noreturn)) void ldso_enter(uintptr_t entry, uintptr_t sp, uintptr_t arg0,
                                          uintptr_t arg1);

uintptr_t __zhb_vdso_base;  // ulib's vDSO thunks call through it
extern const uint8_t _end[] __attribute__((visibility("hidden")));  // our image's end

struct sym {
    uint32_t name;
    uint8_t info;
    uint8_t other;
    uint16_t shndx;
    uint64_t value;
    uint64_t size;
};

struct module {
    char name[NAME_MAX_LEN];
    uint64_t bias;
    uint64_t lo, hi;  // the mapped span (link addresses + bias)
    const struct sym *symtab;
    const char *strtab;
    uint64_t strsz;
    const uint32_t *gnu_hash;
    uint64_t rela, relasz, jmprel, pltrelsz;  // run-time addresses and byte sizes
    uint64_t relro_start, relro_end;         // run-time, both rounded down to pages
    uint64_t needed[MAX_MODULES];            // DT_NEEDED string offsets
    uint32_t num_needed;
    zx_handle_t vmar;  // its sub-VMAR (for RELRO), closed when done
};

static struct {
    zx_handle_t bootstrap;
    zx_handle_t ldsvc;
    zx_handle_t exe_vmo;
    zx_handle_t root_vmar;
    zx_handle_t handles[MAX_HANDLES];  // the linker message's, closed before the jump
    uint32_t num_handles;
    const char *argv0;
    zx_info_vmar_t root;
    struct pb_error error;
    struct module modules[MAX_MODULES];
    uint32_t num_modules;
    struct module vdso;
    struct elf_info exe_info;
    uintptr_t stack_top;
    uintptr_t next_base;  // where the next module goes if that is free: right after the last
    uint8_t message[PB_MESSAGE_BYTES] __attribute__((aligned(8)));
    uint8_t head[HEAD] __attribute__((aligned(8)));  // a file's first bytes, parsed
} g;

static void say(const char *text) {
    char line[LINE_MAX];
    int n = snprintf(line, sizeof(line) - 1, "ld.so: error: %s", text);
    size_t len = (size_t)n < sizeof(line) - 2 ? (size_t)n : sizeof(line) - 2;
    line[len++] = '\n';
    zx_debug_write(line, len);
}

static __attribute__((noreturn)) void die(const char *text) {
    say(text);
    zx_process_exit(EXIT_CODE);
}

static __attribute__((noreturn)) void die_status(const char *what, const char *name,
                                                 zx_status_t status) {
    char text[LINE_MAX];
    snprintf(text, sizeof(text), "%s%s%s (status %d)", name, name[0] != '\0' ? ": " : "", what,
             status);
    die(text);
}

static uint64_t page_down(uint64_t v) {
    return v & ~(uint64_t)(PAGE - 1);
}

static uint64_t page_up(uint64_t v) {
    return page_down(v + PAGE - 1);
}

// __builtin_memcpy: one load (a memcpy call here is a byte loop, lib/string.c's).
static uint64_t rd64(const uint8_t *p) {
    uint64_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}

static uint32_t rd32(const uint8_t *p) {
    uint32_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}

// ---- The linker message ------------------------------------------------------------------

static void read_message(void) {
    zx_handle_t handles[MAX_HANDLES];
    uint32_t bytes = 0;
    uint32_t count = 0;
    struct processargs pa;
    zx_status_t status = zx_channel_read(g.bootstrap, 0, g.message, handles, sizeof(g.message),
                                         MAX_HANDLES, &bytes, &count);
    if (status != ZX_OK) {
        die_status("reading the linker message", "", status);
    }
    if (processargs_parse(&pa, g.message, bytes, count) != PROCESSARGS_OK) {
        die("malformed linker message");
    }
    const char *args[1] = {"(program)"};
    if (processargs_args(&pa, args, 1) == 0) {
        args[0] = "(program)";
    }
    g.argv0 = args[0];
    for (uint32_t i = 0; i < count; i++) {
        switch (PA_HND_TYPE(processargs_handle_info(&pa, i))) {
        case PA_LDSVC_LOADER:
            g.ldsvc = handles[i];
            break;
        case PA_VMO_EXECUTABLE:
            g.exe_vmo = handles[i];
            break;
        case PA_VMAR_ROOT:
            g.root_vmar = handles[i];
            break;
        default:
            break;
        }
        g.handles[g.num_handles++] = handles[i];
    }
    if (g.ldsvc == ZX_HANDLE_INVALID || g.exe_vmo == ZX_HANDLE_INVALID ||
        g.root_vmar == ZX_HANDLE_INVALID) {
        die("the linker message lacks the loader service, executable or root VMAR handle");
    }
    status = zx_object_get_info(g.root_vmar, ZX_INFO_VMAR, &g.root, sizeof(g.root), NULL, NULL);
    if (status != ZX_OK) {
        die_status("reading the root VMAR", "", status);
    }
}

// ---- Loading -------------------------------------------------------------------------------

// Parses the ELF file in `vmo` into *info from its first HEAD bytes, read into g.head, or, if
// its headers lie further in, from the whole file mapped read-only (*mapped: its length,
// else 0). *data: where the parsed bytes are.
static void parse_file(zx_handle_t vmo, const char *name, struct elf_info *info,
                       const uint8_t **data, uint64_t *mapped) {
    uint64_t size;
    zx_vaddr_t addr;
    *mapped = 0;
    zx_status_t status = zx_vmo_get_size(vmo, &size);
    if (status == ZX_OK && size == 0) {
        status = ZX_ERR_OUT_OF_RANGE;
    }
    size_t len = size < HEAD ? (size_t)size : HEAD;
    if (status != ZX_OK || (status = zx_vmo_read(vmo, g.head, 0, len)) != ZX_OK) {
        die_status("cannot read the file", name, status);
    }
    *data = g.head;
    int parsed = elf_parse_head(g.head, len, size, ZHB_ELF_MACHINE, info);
    if (parsed == ELF_ERR_HEAD) {
        status = zx_vmar_map(g.root_vmar, ZX_VM_PERM_READ, 0, vmo, 0, page_up(size), &addr);
        if (status != ZX_OK) {
            die_status("cannot map the file", name, status);
        }
        *data = (const uint8_t *)addr;
        *mapped = page_up(size);
        parsed = elf_parse(*data, size, ZHB_ELF_MACHINE, info);
    }
    if (parsed != ELF_OK) {
        char text[LINE_MAX];
        snprintf(text, sizeof(text), "%s: %s", name, elf_strerror(parsed));
        die(text);
    }
}

// The module's dynamic section (at run time), checked, into m.
static void read_dynamic(struct module *m, uint64_t dyn, uint64_t dyn_size) {
    char text[LINE_MAX];
    uint64_t syment = SYM_SIZE, relaent = RELA_SIZE, pltrel = DT_RELA;
    bool done = false;
    if (dyn < m->lo || dyn_size > m->hi - dyn || dyn % 8 != 0) {
        snprintf(text, sizeof(text), "%s: corrupt dynamic section: PT_DYNAMIC outside the file",
                 m->name);
        die(text);
    }
    for (uint64_t i = 0; i < dyn_size / 16 && i < MAX_DYNAMIC && !done; i++) {
        const uint8_t *entry = (const uint8_t *)(uintptr_t)dyn + i * 16;
        int64_t tag = (int64_t)rd64(entry);
        uint64_t val = rd64(entry + 8);
        switch (tag) {
        case DT_NULL:
            done = true;
            break;
        case DT_NEEDED:
            if (m->num_needed == MAX_MODULES) {
                snprintf(text, sizeof(text), "%s: too many DT_NEEDED", m->name);
                die(text);
            }
            m->needed[m->num_needed++] = val;
            break;
        case DT_STRTAB:
            m->strtab = (const char *)(uintptr_t)(val + m->bias);
            break;
        case DT_SYMTAB:
            m->symtab = (const struct sym *)(uintptr_t)(val + m->bias);
            break;
        case DT_STRSZ:
            m->strsz = val;
            break;
        case DT_SYMENT:
            syment = val;
            break;
        case DT_GNU_HASH:
            m->gnu_hash = (const uint32_t *)(uintptr_t)(val + m->bias);
            break;
        case DT_RELA:
            m->rela = val + m->bias;
            break;
        case DT_RELASZ:
            m->relasz = val;
            break;
        case DT_RELAENT:
            relaent = val;
            break;
        case DT_JMPREL:
            m->jmprel = val + m->bias;
            break;
        case DT_PLTRELSZ:
            m->pltrelsz = val;
            break;
        case DT_PLTREL:
            pltrel = val;
            break;
        case DT_REL:
        case DT_TEXTREL:
            snprintf(text, sizeof(text), "%s: unsupported dynamic tag %ld", m->name, (long)tag);
            die(text);
        default:
            break;
        }
    }
    const char *bad = NULL;
    uint64_t strtab = (uintptr_t)m->strtab;
    uint64_t symtab = (uintptr_t)m->symtab;
    uint64_t hash = (uintptr_t)m->gnu_hash;
    if (!done) {
        bad = "no DT_NULL";
    } else if (m->strtab == NULL || m->symtab == NULL || m->gnu_hash == NULL) {
        bad = "DT_STRTAB, DT_SYMTAB or DT_GNU_HASH missing";
    } else if (strtab < m->lo || m->strsz > m->hi - strtab || symtab < m->lo ||
               symtab >= m->hi || hash < m->lo || hash + 16 > m->hi || hash % 4 != 0) {
        bad = "a table outside the module";
    } else if (syment != SYM_SIZE || relaent != RELA_SIZE || pltrel != DT_RELA) {
        bad = "DT_SYMENT, DT_RELAENT or DT_PLTREL not ELF64 RELA";
    } else if ((m->relasz != 0 && (m->rela < m->lo || m->relasz > m->hi - m->rela)) ||
               (m->pltrelsz != 0 && (m->jmprel < m->lo || m->pltrelsz > m->hi - m->jmprel))) {
        bad = "relocations outside the module";
    }
    for (uint32_t i = 0; bad == NULL && i < m->num_needed; i++) {
        if (m->needed[i] >= m->strsz) {
            bad = "DT_NEEDED outside DT_STRTAB";
        }
    }
    if (bad != NULL) {
        snprintf(text, sizeof(text), "%s: corrupt dynamic section: %s", m->name, bad);
        die(text);
    }
}

// PT_DYNAMIC and PT_GNU_RELRO from the program headers at `phdrs`.
static void read_phdrs(struct module *m, const uint8_t *phdrs, uint32_t phnum) {
    uint64_t dyn = 0, dyn_size = 0;
    for (uint32_t i = 0; i < phnum; i++) {
        const uint8_t *ph = phdrs + (size_t)i * 56;
        uint32_t type = rd32(ph);
        uint64_t vaddr = rd64(ph + 16) + m->bias;
        uint64_t memsz = rd64(ph + 40);
        if (type == PT_DYNAMIC) {
            dyn = vaddr;
            dyn_size = memsz;
        } else if (type == PT_GNU_RELRO) {
            m->relro_start = page_down(vaddr);  // RELRO starts its RW segment (lld)
            m->relro_end = page_down(vaddr + memsz);
        }
    }
    if (dyn == 0) {
        char text[LINE_MAX];
        snprintf(text, sizeof(text), "%s: corrupt dynamic section: no PT_DYNAMIC", m->name);
        die(text);
    }
    read_dynamic(m, dyn, dyn_size);
}

// Loads the ELF file in `vmo` as module m (named `name`).
static void load_module(struct module *m, const char *name, zx_handle_t vmo,
                        struct elf_info *info) {
    const uint8_t *file;
    uint64_t mapped;
    snprintf(m->name, sizeof(m->name), "%s", name);
    parse_file(vmo, m->name, info, &file, &mapped);
    char text[LINE_MAX];
    if (info->interp_size != 0 && m != &g.modules[0]) {
        snprintf(text, sizeof(text), "%s: a library with PT_INTERP", m->name);
        die(text);
    }
    struct pb_loader loader = {.vmar = g.root_vmar, .root = g.root, .error = &g.error,
                               .hint = g.next_base - g.root.base};
    zx_status_t status = pb_load_elf(&loader, info, vmo, &m->bias, &m->vmar);
    if (status != ZX_OK) {
        snprintf(text, sizeof(text), "%s: %s", m->name, g.error.text);
        die(text);
    }
    m->lo = info->lo + m->bias;
    m->hi = info->hi + m->bias;
    g.next_base = m->hi;
    read_phdrs(m, file + rd64(file + 32), rd32(file + 56) & 0xffff);
    if (mapped != 0) {
        zx_vmar_unmap(g.root_vmar, (zx_vaddr_t)file, mapped);
    }
}

// The vDSO as a module: already mapped at vdso_base (its headers are in its first segment).
static void vdso_module(uintptr_t base) {
    struct module *m = &g.vdso;
    const uint8_t *ehdr = (const uint8_t *)base;
    snprintf(m->name, sizeof(m->name), "%s", VDSO_SONAME);
    m->bias = base;
    m->lo = base;
    m->hi = base + UINT32_MAX;  // its layout was checked by the process builder
    read_phdrs(m, ehdr + rd64(ehdr + 32), rd32(ehdr + 56) & 0xffff);
}

static const char *needed_name(const struct module *m, uint32_t i) {
    return m->strtab + m->needed[i];
}

static bool loaded(const char *name) {
    if (strcmp(name, VDSO_SONAME) == 0) {
        return true;
    }
    for (uint32_t i = 1; i < g.num_modules; i++) {
        if (strcmp(g.modules[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}

// Every DT_NEEDED, breadth-first, through the loader service.
static void load_libraries(void) {
    for (uint32_t i = 0; i < g.num_modules; i++) {
        for (uint32_t j = 0; j < g.modules[i].num_needed; j++) {
            const char *name = needed_name(&g.modules[i], j);
            if (loaded(name)) {
                continue;
            }
            if (strlen(name) >= NAME_MAX_LEN || g.num_modules == MAX_MODULES) {
                die_status("library name too long, or too many libraries", name,
                           ZX_ERR_OUT_OF_RANGE);
            }
            zx_handle_t vmo;
            zx_status_t status = ldsvc_load_object(g.ldsvc, name, strlen(name), &vmo);
            if (status != ZX_OK) {
                die_status("library not found", name, status);
            }
            struct elf_info info;
            load_module(&g.modules[g.num_modules++], name, vmo, &info);
            zx_handle_close(vmo);
        }
    }
}

// ---- Symbols and relocations ---------------------------------------------------------------

static uint32_t gnu_hash(const char *s) {
    uint32_t h = 5381;
    for (; *s != '\0'; s++) {
        h = h * 33 + (uint8_t)*s;
    }
    return h;
}

// The definition of `name` in m, or NULL (DT_GNU_HASH: buckets, then the hash chain).
static const struct sym *find_in(const struct module *m, const char *name, uint32_t h) {
    const uint32_t *gh = m->gnu_hash;
    uint32_t nbuckets = gh[0], symoffset = gh[1], bloom_words = gh[2];
    if (nbuckets == 0) {
        return NULL;
    }
    const uint32_t *buckets = gh + 4 + 2 * (uint64_t)bloom_words;
    const uint32_t *chain = buckets + nbuckets;
    uint32_t i = buckets[h % nbuckets];
    if (i < symoffset) {
        return NULL;
    }
    for (;; i++) {
        uint32_t h2 = chain[i - symoffset];
        const struct sym *s = &m->symtab[i];
        if ((h | 1) == (h2 | 1) && s->shndx != SHN_UNDEF && s->name < m->strsz &&
            (s->info >> 4) != STB_LOCAL && strcmp(m->strtab + s->name, name) == 0) {
            return s;
        }
        if (h2 & 1) {
            return NULL;
        }
    }
}

static uint64_t sym_address(const struct module *m, const struct sym *s) {
    return s->shndx == SHN_ABS ? s->value : s->value + m->bias;
}

// The run-time address of symbol `index` of module m: its own definition if local, else the
// first in the executable, the libraries, then the vDSO.
static uint64_t resolve(const struct module *m, uint32_t index) {
    const struct sym *s = &m->symtab[index];
    char text[LINE_MAX];
    if ((uint64_t)(uintptr_t)(s + 1) > m->hi || s->name >= m->strsz) {
        snprintf(text, sizeof(text), "%s: corrupt dynamic section: bad symbol %u", m->name, index);
        die(text);
    }
    if ((s->info >> 4) == STB_LOCAL && s->shndx != SHN_UNDEF) {
        return sym_address(m, s);
    }
    const char *name = m->strtab + s->name;
    uint32_t h = gnu_hash(name);
    for (uint32_t i = 0; i <= g.num_modules; i++) {
        const struct module *in = i < g.num_modules ? &g.modules[i] : &g.vdso;
        const struct sym *def = find_in(in, name, h);
        if (def != NULL) {
            return sym_address(in, def);
        }
    }
    if ((s->info >> 4) == STB_WEAK) {
        return 0;
    }
    snprintf(text, sizeof(text), "%s: undefined symbol: %s", m->name, name);
    die(text);
}

static void relocate_table(const struct module *m, uint64_t table, uint64_t size) {
    char text[LINE_MAX];
    for (uint64_t off = 0; off + RELA_SIZE <= size; off += RELA_SIZE) {
        const uint8_t *r = (const uint8_t *)(uintptr_t)(table + off);
        uint64_t where = rd64(r) + m->bias;
        uint64_t info = rd64(r + 8);
        uint64_t addend = rd64(r + 16);
        uint32_t type = (uint32_t)info;
        uint64_t value;
        if (where < m->lo || where + 8 > m->hi) {
            snprintf(text, sizeof(text), "%s: relocation outside the module", m->name);
            die(text);
        }
        switch (type) {
        case ZHB_R_NONE:
            continue;
        case ZHB_R_RELATIVE:
            value = m->bias + addend;
            break;
        case ZHB_R_GLOB_DAT:
        case ZHB_R_JUMP_SLOT:
        case ZHB_R_ABS64:
            value = resolve(m, (uint32_t)(info >> 32)) + addend;
            break;
        default:
            snprintf(text, sizeof(text), "%s: unsupported relocation type %u", m->name, type);
            die(text);
        }
        __builtin_memcpy((void *)(uintptr_t)where, &value, sizeof(value));
    }
}

// Relocates m, makes its RELRO read-only and drops its VMAR handle.
static void relocate(struct module *m) {
    relocate_table(m, m->rela, m->relasz);
    relocate_table(m, m->jmprel, m->pltrelsz);
    if (m->relro_end > m->relro_start) {
        zx_status_t status = zx_vmar_protect(m->vmar != ZX_HANDLE_INVALID ? m->vmar : g.root_vmar,
                                             ZX_VM_PERM_READ, m->relro_start,
                                             m->relro_end - m->relro_start);
        if (status != ZX_OK) {
            die_status("making RELRO read-only", m->name, status);
        }
    }
    if (m->vmar != ZX_HANDLE_INVALID) {
        zx_handle_close(m->vmar);
        m->vmar = ZX_HANDLE_INVALID;
    }
}

// ---- Start ---------------------------------------------------------------------------------

// Tells the loader service we are done (Done) and waits, a while, for it to close its end, so
// that what it prints about us comes before anything the program prints.
static void done_with_loader(void) {
    uint8_t req[LDMSG_REQ_MAX] __attribute__((aligned(8)));
    uint32_t size = ldmsg_encode(req, 0, LDMSG_OP_DONE, NULL, 0);
    zx_signals_t seen;
    if (zx_channel_write(g.ldsvc, 0, req, size, NULL, 0) == ZX_OK) {
        zx_object_wait_one(g.ldsvc, ZX_CHANNEL_PEER_CLOSED, zx_deadline_after(ZX_SEC(1)), &seen);
    }
}


// On the program's stack: the libraries, the relocations, the clean-up, the jump.
static __attribute__((noreturn)) void link_and_run(void) {
    load_libraries();
    for (uint32_t i = 0; i < g.num_modules; i++) {
        relocate(&g.modules[i]);
    }
    uintptr_t entry = g.exe_info.entry + g.modules[0].bias;
    done_with_loader();
    zx_handle_close_many(g.handles, g.num_handles);  // the loader channel among them
    ldso_enter(entry, zhb_initial_sp(g.stack_top), g.bootstrap, __zhb_vdso_base);
}

void __zhb_start(zx_handle_t bootstrap, uintptr_t vdso_base) {
    __zhb_vdso_base = vdso_base;
    g.bootstrap = bootstrap;
    read_message();
    g.next_base = page_up((uintptr_t)_end);
    vdso_module(vdso_base);
    g.num_modules = 1;
    load_module(&g.modules[0], g.argv0, g.exe_vmo, &g.exe_info);
    // The program's stack, which ld.so moves onto now (its own is tiny).
    uint64_t size = page_up(g.exe_info.stack_size != 0 ? g.exe_info.stack_size : DEFAULT_STACK);
    zx_handle_t vmo;
    zx_vaddr_t base;
    // It goes after the executable, past an unmapped guard page (the libraries follow it),
    // or, if that spot is taken, anywhere.
    zx_vm_option_t rw = ZX_VM_PERM_READ | ZX_VM_PERM_WRITE;
    zx_status_t status = zx_vmo_create(size, 0, &vmo);
    if (status == ZX_OK &&
        zx_vmar_map(g.root_vmar, rw | ZX_VM_SPECIFIC, g.next_base + PAGE - g.root.base, vmo, 0,
                    size, &base) != ZX_OK) {
        status = zx_vmar_map(g.root_vmar, rw, 0, vmo, 0, size, &base);
    }
    if (status != ZX_OK) {
        die_status("cannot make the program's stack", "", status);
    }
    zx_handle_close(vmo);
    g.stack_top = base + size;
    g.next_base = g.stack_top > g.next_base ? g.stack_top : g.next_base;
    ldso_switch(link_and_run, g.stack_top & ~(uintptr_t)15);
}
