// Miscellaneous syscalls: debug output, time, randomness (Zircon semantics; handler shape
// per README "Syscall definitions": validate, copy through the checked helpers, then act).
//
//   zx_debug_write        bytes to the kernel console, at most DEBUG_WRITE_MAX per call
//   zx_nanosleep          blocks until the deadline (ZX_THREAD_STATE_BLOCKED_SLEEPING)
//   zx_clock_get_monotonic  ns since boot
//   zx_cprng_draw         any length, from kernel/random.c in ZX_CPRNG_DRAW_MAX_LEN chunks
//                         (not a cryptographic generator, see include/kernel/random.h); as in
//                         Zircon it has no error return: a bad buffer kills the caller
#include <kernel/timer.h>
#undef ZX_USEC
#undef ZX_MSEC
#undef ZX_SEC

#include <kernel/process.h>
#include <kernel/random.h>
#include <kernel/thread.h>
#include <kernel/usercopy.h>
#include <lib/console.h>
#include <syscall-kernel.h>
#include <zircon/errors.h>

#define DEBUG_WRITE_MAX 256u
#define SLEEP_SLICE_NS 1000000u  // nanosleep re-checks for a kill this often

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
    uthread_set_blocked(ZX_THREAD_STATE_BLOCKED_SLEEPING);
    struct uthread *self = uthread_current();
    for (;;) {
        uint64_t now = current_time();
        if (deadline <= 0 || (uint64_t)deadline <= now || (self != NULL && self->kill_requested)) {
            break;
        }
        uint64_t left = (uint64_t)deadline - now;
        thread_sleep(left < SLEEP_SLICE_NS ? left : SLEEP_SLICE_NS);
    }
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
