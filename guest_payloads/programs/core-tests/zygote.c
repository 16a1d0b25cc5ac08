// The zygote (RFC-0013's motivating use): a fork in user space. This process's mappings are
// cloned into a new process (tk_zygote_spawn: ZX_INFO_PROCESS_MAPS, zx_vmar_create_vmo_child
// for mappings, zx_vmo_create_child for a VMO we hold a handle to, the same addresses and
// permissions), and a thread there continues at a known function, which reports over a
// channel what it saw. Writes on either side after the clone stay private.
#include <ktap.h>
#include <string.h>
#include <zircon/process.h>

#include "child.h"
#include "testkit.h"

#define PG CHILD_PAGE_SIZE
#define ZYGOTE_STACK (16u * PG)

static volatile uint64_t zygote_data = 0x1111;  // .data, cloned
static uint8_t zygote_stack[ZYGOTE_STACK] __attribute__((aligned(4096)));  // .bss, cloned
static volatile uint64_t *zygote_heap;  // a mapping of a VMO we hold a handle to

struct zygote_report {
    uint64_t data_seen;
    uint64_t heap_seen;
    uint64_t data_after;
    uint64_t arg2;
};

// Runs in the clone: nothing here may use a handle of ours (the clone's table holds only
// the channel).
__attribute__((noreturn)) static void zygote_entry(zx_handle_t channel, uintptr_t arg2) {
    struct zygote_report r = {
        .data_seen = zygote_data,
        .heap_seen = zygote_heap[0],
        .arg2 = arg2,
    };
    zygote_data = 0xc4113d;  // private to the clone
    zygote_heap[0] = 0xc4113d;
    r.data_after = zygote_data;
    (void)zx_channel_write(channel, 0, &r, sizeof(r), NULL, 0);
    // Alive (holding the clones) until the parent has looked at its memory.
    (void)zx_object_wait_one(channel, ZX_CHANNEL_READABLE | ZX_CHANNEL_PEER_CLOSED,
                             ZX_TIME_INFINITE, NULL);
    zx_process_exit(7);
}

static bool writable_mapping_of(const zx_info_maps_t *maps, size_t n, zx_koid_t koid) {
    for (size_t i = 0; i < n; i++) {
        if (maps[i].type == ZX_INFO_MAPS_TYPE_MAPPING && maps[i].u.mapping.vmo_koid == koid &&
            (maps[i].u.mapping.mmu_flags & ZX_VM_PERM_WRITE)) {
            return true;
        }
    }
    return false;
}

// The bytes the VMOs of our writable mappings hold alone (ZX_INFO_PROCESS_VMOS, VIA_MAPPING
// records, each VMO once): pages shared with a clone count for neither side. Read-only and
// code mappings are left out: they map the executable's file VMO, most of whose pages (the
// parts of the file no segment covers) no mapping shows.
static uint64_t private_mapped_bytes(void) {
    static zx_info_vmo_t vmos[256];
    static zx_info_maps_t maps[256];
    size_t n = 0;
    size_t nmaps = 0;
    uint64_t bytes = 0;
    if (zx_object_get_info(zx_process_self(), ZX_INFO_PROCESS_VMOS, vmos, sizeof(vmos), &n,
                           NULL) != ZX_OK ||
        zx_object_get_info(zx_process_self(), ZX_INFO_PROCESS_MAPS, maps, sizeof(maps), &nmaps,
                           NULL) != ZX_OK) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            seen = (vmos[j].flags & ZX_INFO_VMO_VIA_MAPPING) && vmos[j].koid == vmos[i].koid;
        }
        if ((vmos[i].flags & ZX_INFO_VMO_VIA_MAPPING) && !seen &&
            writable_mapping_of(maps, nmaps, vmos[i].koid)) {
            bytes += vmos[i].committed_bytes;
        }
    }
    return bytes;
}

KTAP_CASE(zygote_fork) {
    zx_handle_t heap_vmo;
    zx_vaddr_t heap_addr = 0;
    zx_handle_t ours;
    zx_handle_t theirs;
    zx_handle_t proc;
    KTAP_ASSERT_OK(zx_vmo_create(4 * PG, 0, &heap_vmo));
    KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0,
                               heap_vmo, 0, 4 * PG, &heap_addr));
    zygote_heap = (volatile uint64_t *)heap_addr;
    zygote_heap[0] = 0x4ea9;
    zygote_data = 0x2222;
    zygote_stack[0] = 1;
    KTAP_ASSERT_OK(zx_channel_create(0, &ours, &theirs));
    // The spawn helpers' BOOTFS mapping: userboot maps that VMO too, so a clone copies it
    // rather than share it; it is not part of what the zygote shares.
    bootfs_close();
    uint64_t private_before = private_mapped_bytes();
    KTAP_ASSERT_OK(tk_zygote_spawn(zygote_entry, (zx_vaddr_t)(zygote_stack + ZYGOTE_STACK),
                                   &heap_vmo, 1, theirs, 0x5a, &proc));
    zygote_data = 0x3333;  // after the clone: the clone must not see it
    zygote_heap[0] = 0x3333;
    struct zygote_report r;
    memset(&r, 0, sizeof(r));
    uint32_t bytes = 0;
    KTAP_EXPECT_OK(wait_ms(ours, ZX_CHANNEL_READABLE, 20000));
    KTAP_EXPECT_OK(zx_channel_read(ours, 0, &r, NULL, sizeof(r), 0, &bytes, NULL));
    KTAP_EXPECT_EQ(bytes, sizeof(r));
    KTAP_EXPECT_EQ(r.data_seen, 0x2222u);
    KTAP_EXPECT_EQ(r.heap_seen, 0x4ea9u);
    KTAP_EXPECT_EQ(r.data_after, 0xc4113du);
    KTAP_EXPECT_EQ(r.arg2, 0x5au);
    // While the clone lives, most of our committed pages are shared with it (our stack, the
    // data we wrote and the buffers we touch since are our own again).
    uint64_t private_shared = private_mapped_bytes();
    ktap_diag("private mapped memory: %llu KiB before the clone, %llu KiB with it alive",
              (unsigned long long)(private_before >> 10),
              (unsigned long long)(private_shared >> 10));
    KTAP_EXPECT_TRUE(private_shared * 2 < private_before);
    KTAP_EXPECT_OK(zx_channel_write(ours, 0, "go", 2, NULL, 0));
    KTAP_EXPECT_OK(wait_ms(proc, ZX_PROCESS_TERMINATED, 20000));
    KTAP_EXPECT_EQ(return_code(proc), 7);
    KTAP_EXPECT_EQ(zygote_data, 0x3333u);  // the clone's writes stayed in the clone
    KTAP_EXPECT_EQ(zygote_heap[0], 0x3333u);
    zx_handle_close(proc);
    zx_handle_close(ours);
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), heap_addr, 4 * PG));
    zx_handle_close(heap_vmo);
}
