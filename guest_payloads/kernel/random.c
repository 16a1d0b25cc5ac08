// Kernel random numbers (include/kernel/random.h): SplitMix64 stirred with the clock.
#include <kernel/random.h>

#include <kernel/arch.h>
#include <kernel/thread.h>
#include <kernel/timer.h>
#include <lib/string.h>

static uint64_t state = 0x9e3779b97f4a7c15ull;  // guarded by masking interrupts

uint64_t random_u64(void) {
    arch_irq_state_t s = thread_lock_irqsave();
    state += 0x9e3779b97f4a7c15ull ^ current_time();
    uint64_t z = state;
    thread_unlock_irqrestore(s);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void random_fill(void *buf, size_t len) {
    char *p = buf;
    while (len > 0) {
        uint64_t r = random_u64();
        size_t n = len < sizeof(r) ? len : sizeof(r);
        memcpy(p, &r, n);
        p += n;
        len -= n;
    }
}
