// userboot: the first user program (Zircon's userboot). The kernel maps this RODSO at a
// random address with the vDSO right after it and starts it at _start (ulib/arch/<arch>/
// start.S) -> __zhb_start(bootstrap channel) on a stack of its own. This file reads the
// bootstrap message, finds the BOOTFS in the ZBI, decompresses it into a fresh VMO, picks the
// program to run, starts it with ulib's process builder (<zhb/process_builder.h>) and, with
// userboot.shutdown, waits for it and powers off. Nothing here may use writable static data:
// everything lives on the stack.
#include "userboot.h"

#include <lib/console.h>
#include <lib/string.h>
#include <lib/zbi-format/zbi.h>
#include <zhb-arch.h>
#include <zhb/elf.h>
#include <zhb/process_builder.h>
#include <zhb/processargs.h>
#include <zircon/processargs.h>

#include "bootfs.h"
#include "lz4.h"

#define BOOTSTRAP_BYTES 8192
#define BOOTSTRAP_HANDLES 16
#define DEFAULT_NEXT "bin/core-tests"
#define NEXT_PREFIX "userboot.next="
#define SHUTDOWN_WORD "userboot.shutdown"
#define ROOT_PREFIX "userboot.root="
#define PAGE_SIZE 4096u

// What the bootstrap message gave us.
struct bootstrap {
    zx_handle_t vmar_root;
    zx_handle_t job;
    zx_handle_t vdso_vmo;
    zx_handle_t zbi_vmo;
    zx_handle_t power;
    zx_info_vmar_t root;  // where every mapping must land
    const char *environ[USERBOOT_MAX_ENVIRON];
    uint32_t num_environ;
};

__attribute__((noreturn)) void __zhb_start(zx_handle_t bootstrap, uintptr_t vdso_base);

void userboot_say(const char *text) {
    char line[USERBOOT_LINE_MAX];  // one zx_debug_write of at most 256 bytes
    int n = snprintf(line, sizeof(line) - 1, "userboot: %s", text);
    size_t len = (size_t)n < sizeof(line) - 2 ? (size_t)n : sizeof(line) - 2;
    line[len++] = '\n';
    zx_debug_write(line, len);
}

// "userboot: error: <text>", then power off; exit if even that fails (never hang).
static __attribute__((noreturn)) void fail(zx_handle_t power, const char *text) {
    char line[USERBOOT_LINE_MAX];
    snprintf(line, sizeof(line), "error: %s", text);
    userboot_say(line);
    zx_system_powerctl(power, ZX_SYSTEM_POWERCTL_SHUTDOWN, NULL);
    zx_process_exit(1);
}

static __attribute__((noreturn)) void fail_status(zx_handle_t power, const char *what,
                                                  zx_status_t status) {
    char text[USERBOOT_LINE_MAX];
    snprintf(text, sizeof(text), "%s failed (status %d)", what, status);
    fail(power, text);
}

static bool starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void read_bootstrap(zx_handle_t channel, struct bootstrap *boot, uint8_t *msg) {
    zx_handle_t handles[BOOTSTRAP_HANDLES];
    uint32_t bytes = 0;
    uint32_t num_handles = 0;
    zx_status_t status = zx_channel_read(channel, 0, msg, handles, BOOTSTRAP_BYTES,
                                         BOOTSTRAP_HANDLES, &bytes, &num_handles);
    if (status != ZX_OK) {
        fail_status(ZX_HANDLE_INVALID, "reading the bootstrap message", status);
    }
    zx_handle_close(channel);
    struct processargs pa;
    if (processargs_parse(&pa, msg, bytes, num_handles) != PROCESSARGS_OK) {
        fail(ZX_HANDLE_INVALID, "malformed bootstrap message");
    }
    for (uint32_t i = 0; i < num_handles; i++) {
        switch (PA_HND_TYPE(processargs_handle_info(&pa, i))) {
        case PA_VMAR_ROOT:
            boot->vmar_root = handles[i];
            break;
        case PA_JOB_DEFAULT:
            boot->job = handles[i];
            break;
        case PA_VMO_VDSO:
            boot->vdso_vmo = handles[i];
            break;
        case PA_VMO_BOOTDATA:
            boot->zbi_vmo = handles[i];
            break;
        case PA_RESOURCE:
            boot->power = handles[i];
            break;
        default:  // PA_PROC_SELF, PA_THREAD_SELF: kept, unused
            break;
        }
    }
    boot->num_environ = processargs_environ(&pa, boot->environ, USERBOOT_MAX_ENVIRON);
    if (boot->vmar_root == ZX_HANDLE_INVALID || boot->job == ZX_HANDLE_INVALID ||
        boot->vdso_vmo == ZX_HANDLE_INVALID || boot->zbi_vmo == ZX_HANDLE_INVALID) {
        fail(boot->power, "bootstrap message lacks the root VMAR, job, vDSO or ZBI handle");
    }
}

// Maps the whole of `vmo` with `perms` anywhere in `vmar`, and checks that the mapping the
// kernel reports lies inside the root VMAR before anything touches it.
static const uint8_t *map_vmo(const struct bootstrap *boot, zx_handle_t vmo, uint64_t size,
                              zx_vm_option_t perms, const char *what) {
    char text[USERBOOT_LINE_MAX];
    zx_vaddr_t addr = 0;
    uint64_t mapped = (size + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
    zx_status_t status = zx_vmar_map(boot->vmar_root, perms, 0, vmo, 0, mapped, &addr);
    if (status != ZX_OK) {
        fail_status(boot->power, what, status);
    }
    if (addr < boot->root.base || addr - boot->root.base > boot->root.len ||
        mapped > boot->root.len - (addr - boot->root.base)) {
        snprintf(text, sizeof(text), "%s: the kernel reported address 0x%lx for %lu bytes, "
                 "outside the root VMAR", what, (unsigned long)addr, (unsigned long)mapped);
        fail(boot->power, text);
    }
    return (const uint8_t *)addr;
}

// The ZBI, mapped read-only; *budget gets the most bytes a BOOTFS image or a program may take.
static const uint8_t *map_zbi(const struct bootstrap *boot, uint64_t *zbi_size, uint64_t *budget) {
    zx_status_t status = zx_vmo_get_size(boot->zbi_vmo, zbi_size);
    if (status != ZX_OK) {
        fail_status(boot->power, "reading the ZBI size", status);
    }
    const uint8_t *zbi =
        map_vmo(boot, boot->zbi_vmo, *zbi_size, ZX_VM_PERM_READ, "mapping the ZBI");
    uint64_t ram = zbi_ram_size(zbi, *zbi_size);
    if (ram == 0) {
        fail(boot->power, "ZBI: no MEM_CONFIG item with RAM: cannot check sizes against RAM");
    }
    *budget = ram / USERBOOT_RAM_SHARE;
    return zbi;
}

// The first STORAGE_BOOTFS item of the ZBI, decompressed into a new VMO mapped at *image.
static zx_handle_t unpack_bootfs(const struct bootstrap *boot, const uint8_t *zbi,
                                 uint64_t zbi_size, uint64_t budget, const uint8_t **image,
                                 size_t *size) {
    char text[USERBOOT_LINE_MAX];
    zx_status_t status;
    const void *header_ptr;
    const void *payload;
    int found = zbi_find_item(zbi, zbi_size, ZBI_TYPE_STORAGE_BOOTFS, &header_ptr, &payload);
    if (found != BOOTFS_OK) {
        fail(boot->power, bootfs_strerror(found));
    }
    zbi_header_t header;
    memcpy(&header, header_ptr, sizeof(header));
    bool compressed = (header.flags & ZBI_FLAGS_STORAGE_COMPRESSED) != 0;
    *size = compressed ? header.extra : header.length;
    if (*size > budget) {
        snprintf(text, sizeof(text), "BOOTFS: the ZBI item says %lu bytes, more than the %lu "
                 "userboot allows (1/%d of RAM)", (unsigned long)*size, (unsigned long)budget,
                 USERBOOT_RAM_SHARE);
        fail(boot->power, text);
    }
    zx_handle_t vmo;
    if ((status = zx_vmo_create(*size, 0, &vmo)) != ZX_OK) {
        fail_status(boot->power, "creating the BOOTFS VMO", status);
    }
    uint8_t *out = (uint8_t *)map_vmo(boot, vmo, *size, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE,
                                      "mapping the BOOTFS VMO");
    if (!compressed) {
        memcpy(out, payload, *size);
    } else {
        size_t produced = 0;
        size_t where = 0;
        int lz4 = lz4_decompress(payload, header.length, out, *size, &produced, &where);
        if (lz4 != LZ4_OK) {
            snprintf(text, sizeof(text), "BOOTFS: %s at byte %zu", lz4_strerror(lz4), where);
            fail(boot->power, text);
        }
        if (produced != *size) {
            snprintf(text, sizeof(text), "BOOTFS: decompressed to %zu bytes, ZBI item says %zu",
                     produced, *size);
            fail(boot->power, text);
        }
    }
    // Every program gets this VMO (PA_VMO_BOOTFS): read-only from here on, so no program (a
    // fuzzer's random vmo_write included) can change the files the others are started from.
    zx_handle_t ro;
    status = zx_handle_replace(vmo, ZX_RIGHTS_BASIC | ZX_RIGHT_READ | ZX_RIGHT_MAP |
                                        ZX_RIGHT_GET_PROPERTY, &ro);
    if (status != ZX_OK) {
        fail_status(boot->power, "making the BOOTFS VMO read-only", status);
    }
    *image = out;
    return ro;
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

// Where the program is and what it gets.
struct launch {
    const char *path;
    const char *const *args;
    uint32_t num_args;
    const struct bootfs *fs;
    const char *root;  // userboot.root: lib/ is looked up under it
    zx_handle_t bootfs_vmo;
    uint64_t budget;
};

// With PT_INTERP: the dynamic linker ([root/]lib/<PT_INTERP>) handed to the builder, and a
// loader service channel whose other end *server gets.
static void set_interp(const struct bootstrap *boot, const struct launch *l,
                       const struct bootfs_entry *entry, struct process_builder *b,
                       zx_handle_t *server) {
    char text[USERBOOT_LINE_MAX];
    char name[USERBOOT_LINE_MAX / 2];
    char found[USERBOOT_LINE_MAX / 2];
    struct elf_info info;
    if (elf_parse(entry->data, entry->data_len, ZHB_ELF_MACHINE, &info) != ELF_OK ||
        info.interp_size == 0) {
        return;  // static, or a bad file the builder will report
    }
    if (info.interp_size >= sizeof(name)) {
        snprintf(text, sizeof(text), "%s: PT_INTERP name too long", l->path);
        fail(boot->power, text);
    }
    memcpy(name, entry->data + info.interp_offset, info.interp_size + 1);
    zx_handle_t vmo, client;
    zx_status_t status = ldsvc_lookup(l->fs, l->root, name, &vmo, found, sizeof(found));
    if (status != ZX_OK) {
        snprintf(text, sizeof(text), "%s: dynamic linker %s: not found in BOOTFS (status %d)",
                 l->path, found, status);
        fail(boot->power, text);
    }
    if ((status = zx_channel_create(0, server, &client)) != ZX_OK) {
        fail_status(boot->power, "creating the loader service channel", status);
    }
    pb_set_interp_vmo(b, vmo);
    pb_set_loader_service(b, client);
    snprintf(text, sizeof(text), "%s: dynamic linker %s", l->path, found);
    userboot_say(text);
}

// Starts BOOTFS file `entry` with the process builder: args, our environ, and duplicates of
// the job, vDSO, BOOTFS and power handles. Returns the process handle; *server is the loader
// service channel to serve (PT_INTERP) or invalid.
static zx_handle_t start_program(const struct bootstrap *boot, const struct launch *l,
                                 const struct bootfs_entry *entry, zx_handle_t *server) {
    char text[USERBOOT_LINE_MAX];
    const char *path = l->path;
    zx_handle_t exe;
    zx_status_t status = pb_vmo_from_bytes(entry->data, entry->data_len, &exe);
    if (status != ZX_OK) {
        fail_status(boot->power, "copying the program into a VMO", status);
    }
    struct process_builder b;
    *server = ZX_HANDLE_INVALID;
    const struct {
        zx_handle_t source;
        uint32_t info;
    } wanted[] = {
        {boot->job, PA_HND(PA_JOB_DEFAULT, 0)},
        {boot->vdso_vmo, PA_HND(PA_VMO_VDSO, 0)},
        {l->bootfs_vmo, PA_HND(PA_VMO_BOOTFS, 0)},
        {boot->power, PA_HND(PA_RESOURCE, 0)},
    };
    zx_handle_t handles[sizeof(wanted) / sizeof(wanted[0])];
    uint32_t info[sizeof(wanted) / sizeof(wanted[0])];
    uint32_t count = 0;
    status = pb_create(&b, boot->job, basename(path), exe, boot->vmar_root);
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]) && status == ZX_OK; i++) {
        if (wanted[i].source == ZX_HANDLE_INVALID) {
            continue;
        }
        status = zx_handle_duplicate(wanted[i].source, ZX_RIGHT_SAME_RIGHTS, &handles[count]);
        if (status != ZX_OK) {
            zx_handle_close_many(handles, count);
            pb_destroy(&b);
            fail_status(boot->power, "zx_handle_duplicate", status);
        }
        info[count++] = wanted[i].info;
    }
    b.memory_limit = l->budget;
    if (status == ZX_OK) {
        set_interp(boot, l, entry, &b, server);
    }
    struct pb_built built;
    if (status != ZX_OK || pb_add_args(&b, l->args, l->num_args) != ZX_OK ||
        pb_add_environ(&b, boot->environ, boot->num_environ) != ZX_OK ||
        pb_add_handles(&b, handles, info, count) != ZX_OK || pb_build(&b, &built) != ZX_OK) {
        pb_destroy(&b);
        snprintf(text, sizeof(text), "%s: %s", path, b.error.text);
        fail(boot->power, text);
    }
    zx_handle_t proc;
    if (pb_start(&built, &proc, &b.error) != ZX_OK) {
        snprintf(text, sizeof(text), "%s: %s", path, b.error.text);
        fail(boot->power, text);
    }
    return proc;
}

void __zhb_start(zx_handle_t bootstrap, uintptr_t vdso_base) {
    (void)vdso_base;  // the vDSO is at _end
    uint8_t msg[BOOTSTRAP_BYTES] __attribute__((aligned(8)));
    struct bootstrap boot = {0};
    read_bootstrap(bootstrap, &boot, msg);

    const char *next = DEFAULT_NEXT;
    const char *root = "";
    bool shutdown = false;
    for (uint32_t i = 0; i < boot.num_environ; i++) {
        const char *word = boot.environ[i];
        if (starts_with(word, NEXT_PREFIX)) {
            next = word + strlen(NEXT_PREFIX);
        } else if (starts_with(word, ROOT_PREFIX)) {
            root = word + strlen(ROOT_PREFIX);
        } else if (strcmp(word, SHUTDOWN_WORD) == 0 || starts_with(word, SHUTDOWN_WORD "=")) {
            shutdown = true;
        }
    }

    // userboot.next=FILE+arg1+arg2...: split at '+' in a copy.
    char next_buf[USERBOOT_LINE_MAX];
    char text[USERBOOT_LINE_MAX];
    if (strlen(next) >= sizeof(next_buf)) {
        fail(boot.power, "userboot.next is too long");
    }
    memcpy(next_buf, next, strlen(next) + 1);
    const char *args[USERBOOT_MAX_ARGS];
    uint32_t num_args = 0;
    for (char *word = next_buf; word != NULL;) {
        if (num_args == USERBOOT_MAX_ARGS) {
            fail(boot.power, "userboot.next has too many arguments");
        }
        args[num_args++] = word;
        char *plus = strchr(word, '+');
        if (plus != NULL) {
            *plus++ = '\0';
        }
        word = plus;
    }
    const char *path = args[0];

    zx_status_t status = zx_object_get_info(boot.vmar_root, ZX_INFO_VMAR, &boot.root,
                                            sizeof(boot.root), NULL, NULL);
    if (status != ZX_OK) {
        fail_status(boot.power, "reading the root VMAR", status);
    }
    uint64_t zbi_size;
    uint64_t budget;
    const uint8_t *zbi = map_zbi(&boot, &zbi_size, &budget);
    const uint8_t *image;
    size_t image_size;
    zx_handle_t bootfs_vmo = unpack_bootfs(&boot, zbi, zbi_size, budget, &image, &image_size);
    struct bootfs fs;
    struct bootfs_entry entry;
    int found = bootfs_open(&fs, image, image_size);
    if (found != BOOTFS_OK) {
        snprintf(text, sizeof(text), "BOOTFS: %s", bootfs_strerror(found));
        fail(boot.power, text);
    }
    if ((found = bootfs_find(&fs, path, &entry)) != BOOTFS_OK) {
        snprintf(text, sizeof(text), "%s: %s", path, bootfs_strerror(found));
        fail(boot.power, text);
    }

    struct launch launch = {
        .path = path,
        .args = args,
        .num_args = num_args,
        .fs = &fs,
        .root = root,
        .bootfs_vmo = bootfs_vmo,
        .budget = budget,
    };
    zx_handle_t server;
    zx_handle_t proc = start_program(&boot, &launch, &entry, &server);
    if (server != ZX_HANDLE_INVALID) {
        ldsvc_serve(&fs, root, server);  // until ld.so closes its end
    }
    if (!shutdown) {
        zx_handle_close(proc);
        zx_process_exit(0);
    }

    zx_signals_t observed = 0;
    status = zx_object_wait_one(proc, ZX_PROCESS_TERMINATED, ZX_TIME_INFINITE, &observed);
    if (status != ZX_OK) {
        fail_status(boot.power, "waiting for the program", status);
    }
    zx_info_process_t info = {0};
    status = zx_object_get_info(proc, ZX_INFO_PROCESS, &info, sizeof(info), NULL, NULL);
    if (status != ZX_OK) {
        fail_status(boot.power, "reading the program's return code", status);
    }
    snprintf(text, sizeof(text), "%s exited with return code %lld", path,
             (long long)info.return_code);
    userboot_say(text);
    status = zx_system_powerctl(boot.power, ZX_SYSTEM_POWERCTL_SHUTDOWN, NULL);
    fail_status(boot.power, "powering off", status);
}
