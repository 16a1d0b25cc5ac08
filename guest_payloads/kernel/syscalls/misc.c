// Miscellaneous syscalls: debug output, time, randomness (Zircon semantics; handler shape
// per README "Syscall definitions": validate, copy through the checked helpers, then act).
//
//   zx_debug_write        bytes to the kernel console, at most DEBUG_WRITE_MAX per call
//   zx_nanosleep          blocks until the deadline (ZX_THREAD_STATE_BLOCKED_SLEEPING)
//   zx_clock_get_monotonic  ns since boot
//   zx_cprng_draw         any length, from kernel/random.c in ZX_CPRNG_DRAW_MAX_LEN chunks
//                         (not a cryptographic generator, see include/kernel/random.h); as in
//                         Zircon it has no error return: a bad buffer kills the caller
#include <kernel/process.h>
#include <kernel/random.h>
#include <kernel/thread.h>
#include <kernel/timer.h>
#include <kernel/usercopy.h>
#include <lib/console.h>
#include <syscall-kernel.h>
#include <zircon/errors.h>

#define DEBUG_WRITE_MAX 256u

zx_status_t sys_debug_write(user_in_ptr_t buffer, size_t buffer_size) {
    char buf[DEBUG_WRITE_MAX];
    if (buffer_size > sizeof(buf)) {
        buffer_size = sizeof(buf);
    }
    zx_status_t st = copy_from_user(buf, (const void *)buffer.addr, buffer_size);
    if (st != ZX_OK) {
        return st;
    }
    for (size_t i = 0; i < buffer_size; i++) {
        lib_putc(buf[i]);
    }
    return ZX_OK;
}

zx_status_t sys_nanosleep(zx_time_t deadline) {
    if (deadline <= 0) {
        thread_yield();  // Zircon: a deadline of 0 (or before boot) yields the CPU
        return ZX_OK;
    }
    uthread_set_blocked(ZX_THREAD_STATE_BLOCKED_SLEEPING);
    // Ends early (ZX_ERR_INTERNAL_INTR_KILLED) when the thread is killed; either way the
    // caller sees ZX_OK, as a killed thread never returns to user mode.
    (void)thread_sleep_until(deadline <= 0 ? 0 : (uint64_t)deadline);
    uthread_set_blocked(0);
    return ZX_OK;
}

zx_time_t sys_clock_get_monotonic(void) {
    return (zx_time_t)current_time();
}

void sys_cprng_draw(user_out_ptr_t buffer, size_t buffer_size) {
    char buf[ZX_CPRNG_DRAW_MAX_LEN];
    for (size_t done = 0; done < buffer_size;) {
        size_t n = buffer_size - done < sizeof(buf) ? buffer_size - done : sizeof(buf);
        random_fill(buf, n);
        if (copy_to_user((char *)buffer.addr + done, buf, n) != ZX_OK) {
            process_kill(process_current(), ZX_TASK_RETCODE_EXCEPTION_KILL);
            return;
        }
        done += n;
    }
}
