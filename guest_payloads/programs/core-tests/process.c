// Process creation flow (Zircon's process test): a child spinning in `jmp .`/`b .` keeps
// running while we sleep and dies when killed; a child calling zx_thread_exit through a vDSO
// it got mapped twice (read-only + code); a direct syscall from outside the vDSO is fatal.
#include <ktap.h>
#include <zhb/runtime.h>
#include <zircon/process.h>

#include "child.h"
#include "machine-code.h"

ZHB_DECLARE_VDSO_OFFSET(zx_thread_exit);

#define DEATH_WAIT_MS 5000
// How long the parent sleeps while the child spins: one scheduler quantum (10 ms), so the
// child has had the CPU for a whole quantum and the parent still got it back.
#define SPIN_SLEEP_MS 10

KTAP_CASE(process_spin_sleep_kill) {
    static const uint8_t code[] = MC_SPIN;
    struct child child;
    KTAP_ASSERT_OK(child_create(zx_job_default(), "spinner", code, sizeof(code), false, &child));
    if (KTAP_EXPECT_OK(child_start(&child, 0))) {
        KTAP_EXPECT_OK(zx_nanosleep(zx_deadline_after(ZX_MSEC(SPIN_SLEEP_MS))));
        KTAP_EXPECT_EQ(thread_state(child.thread), ZX_THREAD_STATE_RUNNING);
        KTAP_EXPECT_OK(zx_task_kill(child.proc));
        KTAP_EXPECT_OK(wait_ms(child.proc, ZX_PROCESS_TERMINATED, DEATH_WAIT_MS));
        KTAP_EXPECT_EQ(return_code(child.proc), ZX_TASK_RETCODE_SYSCALL_KILL);
        KTAP_EXPECT_EQ(thread_state(child.thread), ZX_THREAD_STATE_DEAD);
    }
    child_destroy(&child);
}

KTAP_CASE(thread_exit_through_mapped_vdso) {
    static const uint8_t code[] = MC_JUMP_ARG2_ZERO;
    struct child child;
    KTAP_ASSERT_OK(child_create(zx_job_default(), "vdso-user", code, sizeof(code), true, &child));
    uintptr_t thread_exit = child.vdso_base + ZHB_VDSO_OFFSET(zx_thread_exit);
    if (KTAP_EXPECT_OK(child_start(&child, thread_exit))) {
        KTAP_EXPECT_OK(wait_ms(child.thread, ZX_THREAD_TERMINATED, DEATH_WAIT_MS));
        KTAP_EXPECT_EQ(thread_state(child.thread), ZX_THREAD_STATE_DEAD);
    }
    child_destroy(&child);
}

KTAP_CASE(direct_syscall_kills_caller) {
    static const uint8_t code[] = MC_RAW_SYSCALL_EXIT;
    struct child child;
    KTAP_ASSERT_OK(child_create(zx_job_default(), "raw-syscall", code, sizeof(code), true, &child));
    if (KTAP_EXPECT_OK(child_start(&child, 0))) {
        KTAP_EXPECT_OK(wait_ms(child.proc, ZX_PROCESS_TERMINATED, DEATH_WAIT_MS));
        int64_t code_seen = return_code(child.proc);
        ktap_diag("raw syscall child return code %lld", (long long)code_seen);
        KTAP_EXPECT_NE(code_seen, 0);  // 0 would mean the kernel ran zx_process_exit(0)
    }
    child_destroy(&child);
}

KTAP_CASE(process_start_rejects_bad_args) {
    static const uint8_t code[] = MC_SPIN;
    struct child child;
    zx_handle_t ours;
    zx_handle_t theirs;
    KTAP_ASSERT_OK(child_create(zx_job_default(), "bad-start", code, sizeof(code), false, &child));
    KTAP_ASSERT_OK(zx_channel_create(0, &ours, &theirs));
    // A thread of another process (our own) is not this process's thread.
    KTAP_EXPECT_STATUS(zx_process_start(child.proc, zx_thread_self(), child.code, 0, theirs, 0),
                       ZX_ERR_ACCESS_DENIED);
    zx_handle_close(ours);
    child_destroy(&child);
}
