// bin/syscall-fuzz: the types of the generated syscall table ($(OUT)/gen/syscall-fuzz-table.inc,
// written by tools/sysgen.py from syscalls/zircon.syscalls) and the report a fuzzing child
// shares with its parent.
#pragma once

#include <stdint.h>
#include <zircon/syscalls.h>

// What an argument is, as the generator classifies it (sysgen.py fuzz_kind).
enum fuzz_kind {
    FUZZ_HANDLE,   // a scalar handle
    FUZZ_IN,       // pointer the kernel reads
    FUZZ_OUT,      // pointer the kernel writes
    FUZZ_INOUT,    // pointer the kernel reads and writes
    FUZZ_SIZE,     // a size, count or length
    FUZZ_OPTIONS,  // options, topic, property, command, rights, signal mask
    FUZZ_TIME,     // a deadline or duration
    FUZZ_ADDR,     // a user address
    FUZZ_SCALAR,   // any other number
};

#define FUZZ_F_RELEASE 1u  // the syscall consumes the handle(s)
#define FUZZ_F_ACQUIRE 2u  // the syscall stores new handles there
#define FUZZ_F_HANDLES 4u  // a pointer to handles

#define FUZZ_S_BLOCKING 1u
#define FUZZ_S_NORETURN 2u
#define FUZZ_S_VDSO 4u  // implemented in the vDSO, no kernel entry

enum fuzz_ret { FUZZ_RET_STATUS, FUZZ_RET_VOID, FUZZ_RET_VALUE };

struct fuzz_arg {
    uint8_t kind;  // enum fuzz_kind
    uint8_t flags;
    zx_obj_type_t obj;  // the object type a handle must be (ZX_OBJ_TYPE_NONE: any)
    uint32_t elem;      // pointers: the size of what they point to
};

struct fuzz_syscall {
    const char *name;
    void (*fn)(void);  // the user entry point zx_<name>
    uint32_t flags;
    uint32_t ret;  // enum fuzz_ret
    uint32_t nargs;
    struct fuzz_arg args[8];
};

#include "syscall-fuzz-table.inc"

// The page a fuzzing child keeps up to date for its parent (a VMO both map).
#define FUZZ_REPORT_MAGIC 0x7a66757a7a726570ull
#define FUZZ_STATUS_SLOTS 80  // counts of -status for 0..78; the last slot: anything else

struct fuzz_report {
    uint64_t magic;
    uint64_t calls;    // calls started (the last may not have returned)
    uint64_t current;  // table index of the call in progress
    uint64_t values;   // calls that return a value or nothing (not a status)
    uint64_t args[8];  // the arguments of the call in progress
    uint64_t statuses[FUZZ_STATUS_SLOTS];
    uint64_t per_syscall[FUZZ_SYSCALL_COUNT];
};
_Static_assert(sizeof(struct fuzz_report) <= 4096, "the report fits one page");
