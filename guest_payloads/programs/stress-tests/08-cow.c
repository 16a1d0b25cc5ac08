// Copy-on-write VMO children under concurrency: COW faults from several threads on pages a
// snapshot shares with its parent while the parent writes them too; a resizable parent
// resized while its snapshots are mapped and written; snapshot trees closed in random orders.
// Nothing leaks: whenever one VMO is left it owns each of its pages alone (committed_bytes
// counts only pages nobody else shares, so a lost reference would show).
#include <string.h>

#include "stress.h"

#define COW_PAGES 64u
#define COW_WRITERS 3

static uint64_t committed_pages(zx_handle_t vmo) {
    zx_info_vmo_t info;
    memset(&info, 0, sizeof(info));
    (void)zx_object_get_info(vmo, ZX_INFO_VMO, &info, sizeof(info), NULL, NULL);
    return info.committed_bytes / TK_PAGE;
}

static uint64_t page_tag(uint64_t page) {
    return 0x7a6700000000ull | page;
}

// A VMO of `pages` pages, page i holding page_tag(i) in its first word.
static zx_status_t tagged_vmo(uint32_t pages, uint32_t options, zx_handle_t *vmo) {
    zx_status_t status = zx_vmo_create(pages * TK_PAGE, options, vmo);
    for (uint64_t i = 0; status == ZX_OK && i < pages; i++) {
        uint64_t tag = page_tag(i);
        status = zx_vmo_write(*vmo, &tag, i * TK_PAGE, sizeof(tag));
    }
    return status;
}

// ---- cow_faults_on_shared_pages, cow_mapping_clones_vs_writers ------------------------------

struct cow_race {
    volatile uint64_t stop;
    zx_handle_t parent;
    volatile uint64_t *map;  // the mapping the writers write through
    volatile uint64_t next_writer;
    volatile uint64_t writes;
    volatile uint64_t clones;
    struct tk_failure fail;
};

// Writes its own word (offset 64 * w) of random pages through the mapping — copy-on-write
// faults on pages shared with a parent or with clones — and checks the page still holds its
// tag and the word.
static void cow_writer(void *arg) {
    struct cow_race *s = arg;
    uint64_t w = tk_add(&s->next_writer, 1);
    uint64_t rng = stress_seed(w);
    while (!tk_load(&s->stop)) {
        uint64_t page = tk_below(&rng, COW_PAGES);
        volatile uint64_t *p = s->map + page * (TK_PAGE / 8);
        uint64_t v = tk_rand(&rng);
        p[8 * w] = v;
        if (p[0] != page_tag(page) || p[8 * w] != v) {
            TK_FAIL(&s->fail, "the mapped page keeps its tag and the writer's word", page, p[0]);
        }
        tk_add(&s->writes, 1);
    }
}

// Writes word 1 of random parent pages through its handle: copies of shared pages from the
// other side, racing the faults.
static void cow_parent_writer(void *arg) {
    struct cow_race *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        uint64_t page = tk_below(&rng, COW_PAGES);
        uint64_t v = ~page_tag(page);
        zx_status_t status = zx_vmo_write(s->parent, &v, page * TK_PAGE + 8, sizeof(v));
        if (status != ZX_OK) {
            TK_FAIL(&s->fail, "parent zx_vmo_write: OK", status, page);
        }
    }
}

KTAP_CASE(cow_faults_on_shared_pages) {
    static struct cow_race s;
    s = (struct cow_race){0};
    zx_handle_t child;
    zx_vaddr_t addr = 0;
    KTAP_ASSERT_OK(tagged_vmo(COW_PAGES, 0, &s.parent));
    KTAP_ASSERT_OK(zx_vmo_create_child(s.parent, ZX_VMO_CHILD_SNAPSHOT, 0, COW_PAGES * TK_PAGE,
                                       &child));
    KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, child,
                               0, COW_PAGES * TK_PAGE, &addr));
    s.map = (volatile uint64_t *)addr;
    static const stress_worker workers[] = {cow_writer, cow_writer, cow_writer,
                                            cow_parent_writer};
    KTAP_EXPECT_OK(stress_round(workers, COW_WRITERS + 1, &s, &s.stop));
    ktap_diag("%llu snapshot writes", (unsigned long long)s.writes);
    tk_report(&s.fail, __FILE__);
    // Neither side saw the other's words.
    for (uint64_t page = 0; page < COW_PAGES; page++) {
        uint64_t words[COW_WRITERS + 2];
        KTAP_EXPECT_OK(zx_vmo_read(s.parent, words, page * TK_PAGE, 8));
        KTAP_EXPECT_EQ(words[0], page_tag(page));
        for (uint64_t w = 1; w <= COW_WRITERS; w++) {
            KTAP_EXPECT_OK(zx_vmo_read(s.parent, &words[w], page * TK_PAGE + 64 * w, 8));
            KTAP_EXPECT_EQ(words[w], 0u);
        }
        KTAP_EXPECT_EQ(s.map[page * (TK_PAGE / 8) + 1], 0u);
    }
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), addr, COW_PAGES * TK_PAGE));
    zx_handle_close(child);
    KTAP_EXPECT_EQ(committed_pages(s.parent), COW_PAGES);  // every page its own again
    zx_handle_close(s.parent);
    STRESS_KERNEL_SANE();
}

// ---- cow_readers_and_writers_on_shared_pages -----------------------------------------------

struct cow_share {
    struct cow_race r;  // first: cow_writer and cow_parent_writer take it (map: the child)
    zx_handle_t child;
    volatile uint64_t reads;
    volatile uint64_t handle_writes;
    volatile uint64_t snapshots;
};

// Reads random pages of the child's mapping: read faults map pages it shares with its
// parent (and with its own snapshots) read-only. Every page keeps its tag, and nothing the
// parent writes (word 1) ever shows.
static void share_reader(void *arg) {
    struct cow_share *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->r.stop)) {
        uint64_t page = tk_below(&rng, COW_PAGES);
        volatile uint64_t *p = s->r.map + page * (TK_PAGE / 8);
        if (p[0] != page_tag(page) || p[1] != 0) {
            TK_FAIL(&s->r.fail, "a shared page read through the mapping: tag, no parent word",
                    page, p[1]);
        }
        tk_add(&s->reads, 1);
    }
}

// Writes word 2 of random child pages through its handle (pages the mapping may map shared
// and read-only at that moment) and reads it back through the mapping at once.
static void share_handle_writer(void *arg) {
    struct cow_share *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    for (uint64_t n = 1; !tk_load(&s->r.stop); n++) {
        uint64_t page = tk_below(&rng, COW_PAGES);
        zx_status_t status = zx_vmo_write(s->child, &n, page * TK_PAGE + 16, sizeof(n));
        if (status != ZX_OK || s->r.map[page * (TK_PAGE / 8) + 2] != n) {
            TK_FAIL(&s->r.fail, "a handle write shows through the mapping at once", status, page);
        }
        tk_add(&s->handle_writes, 1);
    }
}

// Snapshots the mapped child again and again (its mapping is write-protected, nothing
// copied): every snapshot holds every tag and keeps its own writes.
static void share_snapshotter(void *arg) {
    struct cow_share *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->r.stop)) {
        zx_handle_t snap;
        zx_status_t status = zx_vmo_create_child(s->child, ZX_VMO_CHILD_SNAPSHOT, 0,
                                                 COW_PAGES * TK_PAGE, &snap);
        if (status != ZX_OK) {
            TK_FAIL(&s->r.fail, "zx_vmo_create_child of the mapped child: OK", status, 0);
            continue;
        }
        uint64_t page = tk_below(&rng, COW_PAGES);
        uint64_t got = 0;
        uint64_t mark = ~0ull;
        (void)zx_vmo_read(snap, &got, page * TK_PAGE, 8);
        (void)zx_vmo_write(snap, &mark, page * TK_PAGE + 24, 8);
        if (got != page_tag(page) || s->r.map[page * (TK_PAGE / 8) + 3] == mark) {
            TK_FAIL(&s->r.fail, "a snapshot holds the tag and keeps its writes", page, got);
        }
        zx_handle_close(snap);
        tk_add(&s->snapshots, 1);
    }
}

// Readers and writers on pages a clone shares with its parent, from several threads: read
// faults share, write faults and handle writes copy one page and unmap the shared one from
// the mapping before letting it go, snapshots of the mapped clone write-protect it.
KTAP_CASE(cow_readers_and_writers_on_shared_pages) {
    static struct cow_share s;
    s = (struct cow_share){0};
    zx_vaddr_t addr = 0;
    KTAP_ASSERT_OK(tagged_vmo(COW_PAGES, 0, &s.r.parent));
    KTAP_ASSERT_OK(zx_vmo_create_child(s.r.parent, ZX_VMO_CHILD_SNAPSHOT, 0, COW_PAGES * TK_PAGE,
                                       &s.child));
    KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0,
                               s.child, 0, COW_PAGES * TK_PAGE, &addr));
    s.r.map = (volatile uint64_t *)addr;
    static const stress_worker workers[] = {share_reader, share_reader,        cow_writer,
                                            cow_writer,   share_handle_writer, cow_parent_writer,
                                            share_snapshotter};
    KTAP_EXPECT_OK(stress_round(workers, 7, &s, &s.r.stop));
    ktap_diag("%llu reads, %llu handle writes, %llu snapshots", (unsigned long long)s.reads,
              (unsigned long long)s.handle_writes, (unsigned long long)s.snapshots);
    tk_report(&s.r.fail, __FILE__);
    // The parent never saw the child's words.
    for (uint64_t page = 0; page < COW_PAGES; page++) {
        uint64_t words[3];
        KTAP_EXPECT_OK(zx_vmo_read(s.r.parent, words, page * TK_PAGE, sizeof(words)));
        KTAP_EXPECT_EQ(words[0], page_tag(page));
        KTAP_EXPECT_EQ(words[2], 0u);
    }
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), addr, COW_PAGES * TK_PAGE));
    zx_handle_close(s.child);
    KTAP_EXPECT_EQ(committed_pages(s.r.parent), COW_PAGES);  // every page its own again
    zx_handle_close(s.r.parent);
    STRESS_KERNEL_SANE();
}

// ---- cow_resize_parent_while_children_mapped -----------------------------------------------

#define RESIZE_CHILDREN 3

struct cow_resize {
    volatile uint64_t stop;
    zx_handle_t parent;
    volatile uint64_t *children[RESIZE_CHILDREN];  // mapped snapshots of the first COW_PAGES
    volatile uint64_t ops;
    struct tk_failure fail;
};

// Resizes the (unmapped) parent between a few pages and twice its size, writing new pages
// and taking and dropping snapshots of it.
static void cow_resizer(void *arg) {
    struct cow_resize *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        uint64_t pages = 1 + tk_below(&rng, 2 * COW_PAGES);
        zx_status_t status = zx_vmo_set_size(s->parent, pages * TK_PAGE);
        if (status != ZX_OK) {
            TK_FAIL(&s->fail, "zx_vmo_set_size of the parent: OK", status, pages);
        }
        uint64_t v = tk_rand(&rng);
        (void)zx_vmo_write(s->parent, &v, tk_below(&rng, pages) * TK_PAGE, sizeof(v));
        zx_handle_t snap;
        if (zx_vmo_create_child(s->parent, ZX_VMO_CHILD_SNAPSHOT, 0, pages * TK_PAGE, &snap) ==
            ZX_OK) {
            zx_handle_close(snap);
        }
        tk_add(&s->ops, 1);
    }
}

// Reads and writes the mapped children: each keeps the contents of its snapshot.
static void cow_child_user(void *arg) {
    struct cow_resize *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        uint64_t c = tk_below(&rng, RESIZE_CHILDREN);
        uint64_t page = tk_below(&rng, COW_PAGES);
        volatile uint64_t *p = s->children[c] + page * (TK_PAGE / 8);
        if (p[0] != page_tag(page)) {
            TK_FAIL(&s->fail, "a mapped snapshot keeps its contents while its parent resizes",
                    page, p[0]);
        }
        p[16] = tk_rand(&rng);
    }
}

KTAP_CASE(cow_resize_parent_while_children_mapped) {
    static struct cow_resize s;
    s = (struct cow_resize){0};
    zx_handle_t kids[RESIZE_CHILDREN];
    zx_vaddr_t addrs[RESIZE_CHILDREN];
    KTAP_ASSERT_OK(tagged_vmo(COW_PAGES, ZX_VMO_RESIZABLE, &s.parent));
    for (int i = 0; i < RESIZE_CHILDREN; i++) {
        KTAP_ASSERT_OK(zx_vmo_create_child(s.parent, ZX_VMO_CHILD_SNAPSHOT, 0,
                                           COW_PAGES * TK_PAGE, &kids[i]));
        KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0,
                                   kids[i], 0, COW_PAGES * TK_PAGE, &addrs[i]));
        s.children[i] = (volatile uint64_t *)addrs[i];
    }
    static const stress_worker workers[] = {cow_resizer, cow_child_user, cow_child_user};
    KTAP_EXPECT_OK(stress_round(workers, 3, &s, &s.stop));
    ktap_diag("%llu resizes", (unsigned long long)s.ops);
    tk_report(&s.fail, __FILE__);
    zx_handle_close(s.parent);
    for (int i = 0; i < RESIZE_CHILDREN; i++) {
        // The users write random pages: on a loaded host a short round may miss some.
        for (uint32_t page = 0; page < COW_PAGES; page++) {
            s.children[i][page * (TK_PAGE / 8) + 16] = page;
        }
        KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), addrs[i], COW_PAGES * TK_PAGE));
        KTAP_EXPECT_EQ(committed_pages(kids[i]), COW_PAGES);  // all written, all its own
        zx_handle_close(kids[i]);
    }
    STRESS_KERNEL_SANE();
}

// ---- cow_close_random_order ----------------------------------------------------------------

#define TREE_MAX 8
#define TREE_PAGES 8u

// Random trees of snapshots (each of a random live VMO), random writes, closed in random
// order; after every step each live VMO reads back exactly its model, and the last one left
// owns all its pages alone.
KTAP_CASE(cow_close_random_order) {
    zx_time_t deadline = tk_round_deadline();
    uint64_t rng = stress_seed((uintptr_t)&rng);
    uint64_t rounds = 0;
    do {
        zx_handle_t h[TREE_MAX];
        uint64_t model[TREE_MAX][TREE_PAGES];
        int live = 0;
        KTAP_ASSERT_OK(tagged_vmo(TREE_PAGES, 0, &h[0]));
        for (uint64_t p = 0; p < TREE_PAGES; p++) {
            model[0][p] = page_tag(p);
        }
        live = 1;
        while (live < TREE_MAX) {
            int from = (int)tk_below(&rng, (uint64_t)live);
            KTAP_ASSERT_OK(zx_vmo_create_child(h[from], ZX_VMO_CHILD_SNAPSHOT, 0,
                                               TREE_PAGES * TK_PAGE, &h[live]));
            memcpy(model[live], model[from], sizeof(model[live]));
            for (int k = 0; k < 3; k++) {  // a few writes to random live VMOs
                int who = (int)tk_below(&rng, (uint64_t)live + 1);
                uint64_t p = tk_below(&rng, TREE_PAGES);
                model[who][p] = tk_rand(&rng);
                KTAP_EXPECT_OK(zx_vmo_write(h[who], &model[who][p], p * TK_PAGE, 8));
            }
            live++;
        }
        while (live > 0) {
            int gone = (int)tk_below(&rng, (uint64_t)live);
            zx_handle_close(h[gone]);
            h[gone] = h[live - 1];
            memcpy(model[gone], model[live - 1], sizeof(model[gone]));
            live--;
            for (int v = 0; v < live; v++) {
                for (uint64_t p = 0; p < TREE_PAGES; p++) {
                    uint64_t got = 0;
                    KTAP_EXPECT_OK(zx_vmo_read(h[v], &got, p * TK_PAGE, 8));
                    KTAP_EXPECT_EQ(got, model[v][p]);
                }
            }
            if (live == 1) {
                KTAP_EXPECT_EQ(committed_pages(h[0]), TREE_PAGES);
            }
        }
        rounds++;
    } while (tk_before(deadline));
    ktap_diag("%llu trees", (unsigned long long)rounds);
    STRESS_KERNEL_SANE();
}

// ---- cow_mapping_clones_vs_writers -----------------------------------------------------------

// Clones the whole mapping again and again (zx_vmar_create_vmo_child shares its pages and
// makes the mapping read-only); every clone holds every tag, and writes to it stay in it.
static void pin_cloner(void *arg) {
    struct cow_race *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    zx_vaddr_t base = (zx_vaddr_t)(uintptr_t)s->map;
    while (!tk_load(&s->stop)) {
        zx_handle_t clone;
        zx_status_t status = zx_vmar_create_vmo_child(zx_vmar_root_self(), ZX_VMO_CHILD_SNAPSHOT,
                                                      base, COW_PAGES * TK_PAGE, &clone);
        if (status != ZX_OK) {
            TK_FAIL(&s->fail, "zx_vmar_create_vmo_child: OK", status, 0);
            continue;
        }
        uint64_t page = tk_below(&rng, COW_PAGES);
        uint64_t got = 0;
        uint64_t mark = ~0ull;
        (void)zx_vmo_read(clone, &got, page * TK_PAGE, 8);
        (void)zx_vmo_write(clone, &mark, page * TK_PAGE + 8, 8);
        if (got != page_tag(page) || s->map[page * (TK_PAGE / 8) + 1] != 0) {
            TK_FAIL(&s->fail, "a clone holds the tag and keeps its writes", page, got);
        }
        zx_handle_close(clone);
        tk_add(&s->clones, 1);
    }
}

KTAP_CASE(cow_mapping_clones_vs_writers) {
    static struct cow_race s;
    s = (struct cow_race){0};
    zx_vaddr_t addr = 0;
    KTAP_ASSERT_OK(tagged_vmo(COW_PAGES, 0, &s.parent));
    KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0,
                               s.parent, 0, COW_PAGES * TK_PAGE, &addr));
    s.map = (volatile uint64_t *)addr;
    static const stress_worker workers[] = {cow_writer, cow_writer, cow_writer, pin_cloner};
    KTAP_EXPECT_OK(stress_round(workers, COW_WRITERS + 1, &s, &s.stop));
    ktap_diag("%llu clones", (unsigned long long)s.clones);
    tk_report(&s.fail, __FILE__);
    KTAP_EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), addr, COW_PAGES * TK_PAGE));
    KTAP_EXPECT_EQ(committed_pages(s.parent), COW_PAGES);  // every clone gone: all its own
    zx_handle_close(s.parent);
    STRESS_KERNEL_SANE();
}
