// Memory exhaustion: map VMOs until ZX_ERR_NO_MEMORY, commit VMO pages until NO_MEMORY, a
// mapping larger than RAM; each failure leaves its out parameter alone, and after freeing
// everything the system allocates as much again.
#include <string.h>

#include "stress.h"

#define CHUNK (1024u * 1024u)
#define MAX_CHUNKS 1024u  // 1 GiB: more than the guest's RAM
#define USER_BASE ((zx_vaddr_t)16 << 20)
#define USER_TOP ((zx_vaddr_t)0x7ffffffff000ull)
#define SENTINEL_ADDR ((zx_vaddr_t)0x5e5e5e5e5e5e5e5eull)

struct chunk {
    zx_handle_t vmo;
    zx_vaddr_t addr;
};

// Creates and maps 1 MiB VMOs (mappings commit every page) until NO_MEMORY or `limit` of
// them; returns how many, with the failing status in *why.
static uint32_t map_until_full(struct chunk *chunks, uint32_t limit, zx_status_t *why) {
    uint32_t n = 0;
    *why = ZX_OK;
    while (n < limit) {
        zx_status_t status = zx_vmo_create(CHUNK, 0, &chunks[n].vmo);
        if (status != ZX_OK) {
            *why = status;
            break;
        }
        zx_vaddr_t addr = SENTINEL_ADDR;
        status = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0,
                             chunks[n].vmo, 0, CHUNK, &addr);
        if (status != ZX_OK) {
            if (addr != SENTINEL_ADDR) {
                ktap_diag("failed zx_vmar_map (status %d) wrote mapped_addr 0x%llx", status,
                          (unsigned long long)addr);
                *why = ZX_ERR_INTERNAL;
            } else {
                *why = status;
            }
            zx_handle_close(chunks[n].vmo);
            break;
        }
        chunks[n].addr = addr;
        n++;
        if (addr < USER_BASE || addr > USER_TOP - CHUNK || addr % TK_PAGE != 0) {
            // Not touched: a bogus address would kill us instead of failing the case.
            ktap_diag("zx_vmar_map returned ZX_OK with mapped_addr 0x%llx, outside user space",
                      (unsigned long long)addr);
            *why = ZX_ERR_INTERNAL;
            break;
        }
    }
    return n;
}

static void unmap_all(struct chunk *chunks, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), chunks[i].addr, CHUNK));
        KTAP_EXPECT_OK(zx_handle_close(chunks[i].vmo));
    }
}

// Map 1 MiB VMOs until the kernel says ZX_ERR_NO_MEMORY (never a panic, never a bogus
// address), free them all, and do it again: about as much memory is available.
KTAP_CASE(memory_exhaustion_recovery) {
    static struct chunk chunks[MAX_CHUNKS];
    zx_time_t deadline = tk_round_deadline();
    uint32_t first = 0;
    int rounds = 0;
    do {
        zx_status_t why;
        uint32_t n = map_until_full(chunks, MAX_CHUNKS, &why);
        KTAP_EXPECT_STATUS(why, ZX_ERR_NO_MEMORY);
        if (rounds == 0) {
            first = n;
            ktap_diag("out of memory after %u MiB mapped", n);
        } else {
            KTAP_EXPECT_TRUE(n + 2 >= first);
        }
        // Out of memory: other allocations fail cleanly too.
        zx_handle_t h = (zx_handle_t)0x5e5e5e5eu;
        zx_vaddr_t addr = SENTINEL_ADDR;
        zx_status_t status = zx_vmo_create(CHUNK, 0, &h);
        if (status == ZX_OK) {
            status = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, h,
                                 0, CHUNK, &addr);
            KTAP_EXPECT_STATUS(status, ZX_ERR_NO_MEMORY);
            KTAP_EXPECT_EQ(addr, SENTINEL_ADDR);
            if (status == ZX_OK) {
                zx_vmar_unmap(zx_vmar_root_self(), addr, CHUNK);
            }
            zx_handle_close(h);
        }
        unmap_all(chunks, n);
        rounds++;
    } while (tk_before(deadline) && rounds < 100);
    STRESS_KERNEL_SANE();
}

// Commit pages of one big VMO with zx_vmo_write until ZX_ERR_NO_MEMORY, close it, and the
// memory is back (a second VMO commits about as many pages).
KTAP_CASE(vmo_commit_exhaustion_recovery) {
    static const uint8_t byte = 0x42;
    uint64_t counts[2] = {0, 0};
    for (int round = 0; round < 2; round++) {
        zx_handle_t vmo;
        KTAP_ASSERT_OK(zx_vmo_create(1ull << 30, 0, &vmo));
        zx_status_t status = ZX_OK;
        uint64_t pages = 0;
        for (; pages < (1ull << 30) / TK_PAGE; pages++) {
            status = zx_vmo_write(vmo, &byte, pages * TK_PAGE, 1);
            if (status != ZX_OK) {
                break;
            }
        }
        KTAP_EXPECT_STATUS(status, ZX_ERR_NO_MEMORY);
        counts[round] = pages;
        KTAP_EXPECT_OK(zx_handle_close(vmo));
    }
    ktap_diag("committed %llu then %llu pages before NO_MEMORY", (unsigned long long)counts[0],
              (unsigned long long)counts[1]);
    KTAP_EXPECT_TRUE(counts[1] + 64 >= counts[0]);
    STRESS_KERNEL_SANE();
}

// Mapping a VMO larger than RAM (mappings commit eagerly here) fails with ZX_ERR_NO_MEMORY
// and leaves mapped_addr as it was; the memory is all there afterwards.
KTAP_CASE(map_larger_than_ram_fails) {
    static const uint64_t sizes[] = {512ull << 20, 1ull << 30, 3ull << 30};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        zx_handle_t vmo;
        KTAP_ASSERT_OK(zx_vmo_create(sizes[i], 0, &vmo));
        zx_vaddr_t addr = SENTINEL_ADDR;
        zx_status_t status = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE,
                                         0, vmo, 0, sizes[i], &addr);
        KTAP_EXPECT_STATUS(status, ZX_ERR_NO_MEMORY);
        KTAP_EXPECT_EQ(addr, SENTINEL_ADDR);
        if (status == ZX_OK) {
            zx_vmar_unmap(zx_vmar_root_self(), addr, sizes[i]);
        }
        zx_handle_close(vmo);
    }
    static struct chunk chunks[32];
    zx_status_t why;
    uint32_t n = map_until_full(chunks, 32, &why);
    KTAP_EXPECT_OK(why);  // 32 MiB can still be mapped
    KTAP_EXPECT_EQ(n, 32);
    unmap_all(chunks, n);
    STRESS_KERNEL_SANE();
}

// Messages (64 KiB each, with an event) queued on one channel until the kernel runs out of
// memory: ZX_ERR_NO_MEMORY (or another Zircon limit), never a panic; closing the channel
// frees them all, and as many fit again.
KTAP_CASE(channel_queue_exhaustion_recovery) {
    static uint8_t msg[ZX_CHANNEL_MAX_MSG_BYTES];
    uint64_t counts[2] = {0, 0};
    memset(msg, 0x6d, sizeof(msg));
    for (int round = 0; round < 2; round++) {
        zx_handle_t a, b;
        KTAP_ASSERT_OK(zx_channel_create(0, &a, &b));
        zx_status_t status = ZX_OK;
        uint64_t n = 0;
        for (; n < 8192; n++) {
            zx_handle_t ev;
            status = zx_event_create(0, &ev);
            if (status != ZX_OK) {
                break;
            }
            status = zx_channel_write(a, 0, msg, sizeof(msg), &ev, 1);
            if (status != ZX_OK) {
                break;
            }
        }
        KTAP_EXPECT_TRUE(status == ZX_ERR_NO_MEMORY || status == ZX_ERR_NO_RESOURCES ||
                         status == ZX_ERR_SHOULD_WAIT);
        if (round == 0) {
            ktap_diag("%llu messages queued, then status %d", (unsigned long long)n, status);
        }
        counts[round] = n;
        KTAP_EXPECT_OK(zx_handle_close(b));
        KTAP_EXPECT_OK(zx_handle_close(a));
    }
    KTAP_EXPECT_TRUE(counts[1] + 8 >= counts[0]);
    STRESS_KERNEL_SANE();
}

// Page-sized mappings of one VMO into one VMAR until the kernel refuses (NO_MEMORY or
// NO_RESOURCES), at most 32,768 or as many as a round allows: every failure leaves mapped_addr alone; unmapping them all
// gives the address space back.
KTAP_CASE(mapping_count_exhaustion) {
    enum { MAX_MAPS = 32768 };
    static zx_vaddr_t addrs[MAX_MAPS];
    zx_handle_t vmo;
    KTAP_ASSERT_OK(zx_vmo_create(TK_PAGE, 0, &vmo));
    uint32_t n = 0;
    zx_status_t status = ZX_OK;
    // Placing a mapping gets slower as they add up: stop after a round (at least 1 s).
    zx_time_t deadline = zx_deadline_after(ZX_MSEC(tk_round_ms() > 1000 ? tk_round_ms() : 1000));
    for (; n < MAX_MAPS && tk_before(deadline); n++) {
        zx_vaddr_t addr = SENTINEL_ADDR;
        status = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0, vmo, 0, TK_PAGE, &addr);
        if (status != ZX_OK) {
            KTAP_EXPECT_TRUE(status == ZX_ERR_NO_MEMORY || status == ZX_ERR_NO_RESOURCES);
            KTAP_EXPECT_EQ(addr, SENTINEL_ADDR);
            break;
        }
        if (addr < USER_BASE || addr > USER_TOP - TK_PAGE) {
            KTAP_EXPECT_TRUE(addr >= USER_BASE && addr <= USER_TOP - TK_PAGE);
            break;
        }
        addrs[n] = addr;
    }
    ktap_diag("%u mappings (last status %d)", n, status);
    for (uint32_t i = 0; i < n; i++) {
        if (!KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), addrs[i], TK_PAGE))) {
            break;
        }
    }
    zx_handle_close(vmo);
    STRESS_KERNEL_SANE();
}
