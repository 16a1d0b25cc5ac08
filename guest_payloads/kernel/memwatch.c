// kernel.memwatch: a kernel thread that prints the page allocator's and the heap's counts and
// the live kernel objects by type every MEMWATCH_PERIOD_S seconds, for long runs: memory that
// only goes one way, or objects of one type that keep adding up, show a leak while it
// happens (include/kernel/memwatch.h).
#include <kernel/memwatch.h>

#include <stdbool.h>

#include <kernel/heap.h>
#include <kernel/kstack.h>
#include <kernel/object.h>
#include <kernel/pmm.h>
#include <kernel/thread.h>
#include <lib/console.h>
#include <lib/string.h>
#include <zircon/types.h>

#define MEMWATCH_PERIOD_S 10u

static bool started;  // kernel.memwatch was on the command line

void memwatch_print(void) {
    struct pmm_stats pmm = pmm_stats();
    struct heap_stats heap = heap_stats();
    struct kstack_stats kstacks = kstack_stats();
    char objects[320];
    size_t used = 0;
    objects[0] = '\0';
    for (zx_obj_type_t type = 0; type < ZX_OBJ_TYPE_UPPER_BOUND; type++) {
        const char *name = NULL;
        size_t n = kobject_live_by_type(type, &name);
        if (n == 0 || name == NULL || used + strlen(name) + 24 > sizeof(objects)) {
            continue;
        }
        used += (size_t)snprintf(objects + used, sizeof(objects) - used, " %s %zu", name, n);
    }
    printf("zhb kernel: memwatch: free %zu of %zu KiB; heap %zu pages, %zu blocks, %zu bytes; "
           "kernel stacks %zu live, %zu cached; objects %zu:%s\n",
           pmm.free_pages * (PAGE_SIZE / 1024), pmm.total_pages * (PAGE_SIZE / 1024), heap.pages,
           heap.allocated_blocks, heap.allocated_bytes, kstacks.live, kstacks.cached,
           kobject_live_count(), objects);
}

static int memwatch_main(void *arg) {
    (void)arg;
    for (;;) {
        thread_sleep((uint64_t)MEMWATCH_PERIOD_S * 1000000000u);
        memwatch_print();
    }
    return 0;
}

void memwatch_at_poweroff(void) {
    if (started) {
        memwatch_print();
    }
}

void memwatch_start(void) {
    started = true;
    struct thread *t = thread_create("memwatch", memwatch_main, NULL);
    if (t == NULL) {
        printf("zhb kernel: memwatch: no memory for its thread\n");
        return;
    }
    thread_detach(t);
    memwatch_print();
}
