// Memory exhaustion: commit and map VMOs until ZX_ERR_NO_MEMORY, commit VMO pages until
// NO_MEMORY, a mapping larger than RAM (demand paging: it commits nothing); each failure leaves
// its out parameter alone, and after freeing everything the system allocates as much again.
#include <string.h>

#include "stress.h"

#define CHUNK (1024u * 1024u)
#define MAX_CHUNKS 8192u  // 8 GiB: more than the RAM of any machine variant (4 GiB at most)
#define VMO_MAX_BYTES (1ull << 32)  // the kernel's largest VMO
#define USER_BASE ((zx_vaddr_t)16 << 20)
#define USER_TOP ((zx_vaddr_t)0x7ffffffff000ull)
#define SENTINEL_ADDR ((zx_vaddr_t)0x5e5e5e5e5e5e5e5eull)

struct chunk {
    zx_handle_t vmo;
    zx_vaddr_t addr;
};

// Commits every page of a new 1 MiB VMO (a byte written per page: mappings commit nothing,
// and a fault that finds no memory would kill us).
static zx_status_t commit_chunk(zx_handle_t vmo) {
    zx_status_t status = ZX_OK;
    for (uint32_t off = 0; off < CHUNK && status == ZX_OK; off += TK_PAGE) {
        status = zx_vmo_write(vmo, "c", off, 1);
    }
    return status;
}

// Creates, commits and maps 1 MiB VMOs until NO_MEMORY or `limit` of them; returns how
// many, with the failing status in *why.
static uint32_t map_until_full(struct chunk *chunks, uint32_t limit, zx_status_t *why) {
    uint32_t n = 0;
    *why = ZX_OK;
    while (n < limit) {
        zx_status_t status = zx_vmo_create(CHUNK, 0, &chunks[n].vmo);
        if (status == ZX_OK) {
            status = commit_chunk(chunks[n].vmo);
            if (status != ZX_OK) {
                zx_handle_close(chunks[n].vmo);
            }
        }
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

// Filling all of RAM takes seconds under TCG: the default run fills it once per case and
// checks recovery with a RECOVERY_MIB allocation; a long run (rounds of a second or more)
// repeats full fills for the whole round and checks each against the first.
#define RECOVERY_MIB 64u

static bool long_mode(void) {
    return tk_round_ms() >= LONG_ROUND_MS;
}

// While memory is exhausted, other paths that need memory fail cleanly too: a VMO page
// commit, a 64 KiB channel message (the kernel heap), a mapping (it commits nothing, so it
// may succeed; failing, it leaves mapped_addr alone), a snapshot of a mapped VMO (copies).
// The message check_exhausted_paths writes: touched before memory runs out (its pages are
// committed on demand, and a user copy from a page that cannot be committed fails).
static uint8_t exhausted_msg[ZX_CHANNEL_MAX_MSG_BYTES];

static void check_exhausted_paths(const struct chunk *full) {
    uint8_t *msg = exhausted_msg;
    zx_handle_t vmo = (zx_handle_t)0x5e5e5e5eu;
    zx_status_t status = zx_vmo_create(CHUNK, 0, &vmo);
    if (status == ZX_OK) {
        KTAP_EXPECT_STATUS(commit_chunk(vmo), ZX_ERR_NO_MEMORY);
        zx_vaddr_t addr = SENTINEL_ADDR;
        status = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0,
                             CHUNK, &addr);
        KTAP_EXPECT_TRUE(status == ZX_OK || (status == ZX_ERR_NO_MEMORY && addr == SENTINEL_ADDR));
        if (status == ZX_OK) {
            zx_vmar_unmap(zx_vmar_root_self(), addr, CHUNK);
        }
        zx_handle_close(vmo);
        zx_handle_t snap = (zx_handle_t)0x5e5e5e5eu;
        // The full chunk is mapped here only: a snapshot shares its pages (write-protecting
        // the mapping) and needs only heap records for them, which may or may not be left.
        status = zx_vmo_create_child(full->vmo, ZX_VMO_CHILD_SNAPSHOT, 0, CHUNK, &snap);
        KTAP_EXPECT_TRUE(status == ZX_OK ||
                         (status == ZX_ERR_NO_MEMORY && snap == (zx_handle_t)0x5e5e5e5eu));
        if (status == ZX_OK) {
            zx_handle_close(snap);
        }
    } else {
        KTAP_EXPECT_STATUS(status, ZX_ERR_NO_MEMORY);
        KTAP_EXPECT_EQ(vmo, (zx_handle_t)0x5e5e5e5eu);
    }
    zx_handle_t a, b;
    if (zx_channel_create(0, &a, &b) == ZX_OK) {
        status = ZX_OK;
        // Until the kernel refuses (at most 1 GiB): with several CPUs, teardown of earlier
        // cases' processes may still be freeing memory, so the first writes can get through.
        for (int i = 0; i < 16384 && status == ZX_OK; i++) {
            status = zx_channel_write(a, 0, msg, sizeof(exhausted_msg), NULL, 0);
        }
        KTAP_EXPECT_TRUE(status == ZX_ERR_NO_MEMORY || status == ZX_ERR_NO_RESOURCES);
        zx_handle_close(a);
        zx_handle_close(b);
    }
}

// RECOVERY_MIB can be mapped again once everything was freed.
// Teardown the kernel defers (another CPU's reaper, a dying process's last thread) may still
// be freeing when we ask: a short while is allowed for that.
static void check_recovered(void) {
    static struct chunk chunks[RECOVERY_MIB];
    zx_status_t why;
    uint32_t n = map_until_full(chunks, RECOVERY_MIB, &why);
    for (int tries = 0; why == ZX_ERR_NO_MEMORY && tries < 20; tries++) {
        unmap_all(chunks, n);
        zx_nanosleep(zx_deadline_after(ZX_MSEC(50)));
        n = map_until_full(chunks, RECOVERY_MIB, &why);
    }
    KTAP_EXPECT_OK(why);
    KTAP_EXPECT_EQ(n, RECOVERY_MIB);
    unmap_all(chunks, n);
}

// Map 1 MiB VMOs until the kernel says ZX_ERR_NO_MEMORY (never a panic, never a bogus
// address); while out of memory, commits, heap allocations and mappings fail cleanly; free
// it all: memory is back (long runs: fill again and again, about as much each time).
KTAP_CASE(memory_exhaustion_recovery) {
    static struct chunk chunks[MAX_CHUNKS];
    memset(exhausted_msg, 0x6d, sizeof(exhausted_msg));
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
        if (why == ZX_ERR_NO_MEMORY && n > 0) {
            check_exhausted_paths(&chunks[0]);
        }
        unmap_all(chunks, n);
        rounds++;
    } while (long_mode() && tk_before(deadline));
    check_recovered();
    STRESS_KERNEL_SANE();
}

// Commit pages of one 4 GiB VMO (64 KiB writes; more than the free memory of any variant) until ZX_ERR_NO_MEMORY, close it, and the
// memory is back; long runs only (memory_exhaustion_recovery covers the commit failure path
// in the default run).
KTAP_CASE(vmo_commit_exhaustion_recovery) {
    if (!long_mode()) {
        ktap_skip("long runs only (seconds=1 or more)");
        return;
    }
    static uint8_t buf[64 * 1024];
    memset(buf, 0x42, sizeof(buf));
    zx_time_t deadline = tk_round_deadline();
    uint64_t first = 0;
    int rounds = 0;
    do {
        zx_handle_t vmo;
        KTAP_ASSERT_OK(zx_vmo_create(VMO_MAX_BYTES, 0, &vmo));
        zx_status_t status = ZX_OK;
        uint64_t off = 0;
        for (; off < VMO_MAX_BYTES; off += sizeof(buf)) {
            status = zx_vmo_write(vmo, buf, off, sizeof(buf));
            if (status != ZX_OK) {
                break;
            }
        }
        KTAP_EXPECT_STATUS(status, ZX_ERR_NO_MEMORY);
        if (rounds == 0) {
            first = off;
            ktap_diag("committed %llu KiB before NO_MEMORY", (unsigned long long)(off >> 10));
        } else {
            KTAP_EXPECT_TRUE(off + (1u << 20) >= first);
        }
        KTAP_EXPECT_OK(zx_handle_close(vmo));
        rounds++;
    } while (tk_before(deadline));
    check_recovered();
    STRESS_KERNEL_SANE();
}

// Mapping a VMO larger than RAM succeeds and commits nothing (demand paging); touching a
// few pages commits those alone; memory can be mapped afterwards.
KTAP_CASE(map_larger_than_ram_commits_nothing) {
    static const uint64_t sizes[] = {512ull << 20, 1ull << 30, 3ull << 30};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        zx_handle_t vmo;
        KTAP_ASSERT_OK(zx_vmo_create(sizes[i], 0, &vmo));
        zx_vaddr_t addr = SENTINEL_ADDR;
        KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo,
                                   0, sizes[i], &addr));
        for (uint64_t off = 0; off < sizes[i]; off += sizes[i] / 4) {
            ((volatile char *)addr)[off] = 1;
        }
        zx_info_vmo_t info;
        KTAP_EXPECT_OK(zx_object_get_info(vmo, ZX_INFO_VMO, &info, sizeof(info), NULL, NULL));
        KTAP_EXPECT_EQ(info.committed_bytes, 4u * TK_PAGE);
        KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), addr, sizes[i]));
        zx_handle_close(vmo);
    }
    check_recovered();
    STRESS_KERNEL_SANE();
}

// Messages (64 KiB each, with an event) queued on one channel until the kernel runs out of
// memory: ZX_ERR_NO_MEMORY (or another Zircon limit), never a panic; closing the channel
// frees them all, and as many fit again, round after round. Long runs only (seconds of
// copying under TCG; memory_exhaustion_recovery covers a message failing for want of memory).
KTAP_CASE(channel_queue_exhaustion_recovery) {
    if (!long_mode()) {
        ktap_skip("long runs only (seconds=1 or more)");
        return;
    }
    static uint8_t msg[ZX_CHANNEL_MAX_MSG_BYTES];
    memset(msg, 0x6d, sizeof(msg));
    zx_time_t deadline = tk_round_deadline();
    uint64_t first = 0;
    int rounds = 0;
    do {
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
        if (rounds == 0) {
            first = n;
            ktap_diag("%llu messages queued, then status %d", (unsigned long long)n, status);
        } else {
            KTAP_EXPECT_TRUE(n + 8 >= first);
        }
        KTAP_EXPECT_OK(zx_handle_close(b));
        KTAP_EXPECT_OK(zx_handle_close(a));
        rounds++;
    } while (tk_before(deadline));
    check_recovered();
    STRESS_KERNEL_SANE();
}

// Page-sized mappings of one VMO into one VMAR until the kernel refuses (NO_MEMORY or
// NO_RESOURCES), at most 32,768 or as many as a round allows (long runs): every failure leaves mapped_addr alone; unmapping them all
// gives the address space back.
KTAP_CASE(mapping_count_exhaustion) {
    enum { MAX_MAPS = 32768 };
    static zx_vaddr_t addrs[MAX_MAPS];
    zx_handle_t vmo;
    KTAP_ASSERT_OK(zx_vmo_create(TK_PAGE, 0, &vmo));
    uint32_t n = 0;
    zx_status_t status = ZX_OK;
    // Placing a mapping gets slower as they add up: stop after a round.
    zx_time_t deadline = tk_round_deadline();
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
