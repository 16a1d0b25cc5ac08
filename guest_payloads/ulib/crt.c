// The guest program runtime's start: _start (ulib/arch/<arch>/start.S) calls __zhb_start
// with the bootstrap channel and the vDSO base. It records the base for the vDSO thunks,
// reads the processargs message into argv, environ and the startup-handle table, and runs
// main. A program started without a readable message gets argc 0 and no handles.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zhb/processargs.h>
#include <zhb/runtime.h>
#include <zircon/process.h>
#include <zircon/processargs.h>
#include <zircon/syscalls.h>

#define MAX_MESSAGE 8192
#define MAX_HANDLES 64
#define MAX_STRINGS 64

uintptr_t __zhb_vdso_base;
char **environ;

static uint8_t message[MAX_MESSAGE] __attribute__((aligned(8)));
static zx_handle_t startup_handles[MAX_HANDLES];
static uint32_t startup_info[MAX_HANDLES];
static uint32_t startup_count;
static const char *argv_table[MAX_STRINGS + 1];
static const char *environ_table[MAX_STRINGS + 1];
static zx_handle_t self_process;
static zx_handle_t self_thread;
static zx_handle_t self_vmar;
static zx_handle_t self_job;

int main(int argc, char **argv, char **envp);
__attribute__((noreturn)) void __zhb_start(zx_handle_t bootstrap, uintptr_t vdso_base);

zx_handle_t zx_take_startup_handle(uint32_t hnd_info) {
    for (uint32_t i = 0; i < startup_count; i++) {
        if (startup_info[i] == hnd_info && startup_handles[i] != ZX_HANDLE_INVALID) {
            zx_handle_t handle = startup_handles[i];
            startup_handles[i] = ZX_HANDLE_INVALID;
            return handle;
        }
    }
    return ZX_HANDLE_INVALID;
}

zx_handle_t zx_process_self(void) {
    return self_process;
}

zx_handle_t zx_thread_self(void) {
    return self_thread;
}

zx_handle_t zx_vmar_root_self(void) {
    return self_vmar;
}

zx_handle_t zx_job_default(void) {
    return self_job;
}

const char *getenv(const char *name) {
    size_t len = strlen(name);
    for (char **word = environ; word != NULL && *word != NULL; word++) {
        if (strncmp(*word, name, len) == 0) {
            if ((*word)[len] == '=') {
                return *word + len + 1;
            }
            if ((*word)[len] == '\0') {
                return *word + len;
            }
        }
    }
    return NULL;
}

void exit(int status) {
    fflush_stdout();
    zx_process_exit(status);
}

// Reads the message; returns argc.
static int read_bootstrap(zx_handle_t bootstrap) {
    uint32_t bytes = 0;
    struct processargs pa;
    if (zx_channel_read(bootstrap, 0, message, startup_handles, sizeof(message), MAX_HANDLES,
                        &bytes, &startup_count) != ZX_OK) {
        startup_count = 0;
        return 0;
    }
    if (processargs_parse(&pa, message, bytes, startup_count) != PROCESSARGS_OK) {
        zx_handle_close_many(startup_handles, startup_count);
        startup_count = 0;
        return 0;
    }
    for (uint32_t i = 0; i < startup_count; i++) {
        startup_info[i] = processargs_handle_info(&pa, i);
    }
    processargs_environ(&pa, environ_table, MAX_STRINGS);
    return (int)processargs_args(&pa, argv_table, MAX_STRINGS);
}

void __zhb_start(zx_handle_t bootstrap, uintptr_t vdso_base) {
    __zhb_vdso_base = vdso_base;
    int argc = read_bootstrap(bootstrap);
    zx_handle_close(bootstrap);
    environ = (char **)environ_table;
    self_process = zx_take_startup_handle(PA_HND(PA_PROC_SELF, 0));
    self_thread = zx_take_startup_handle(PA_HND(PA_THREAD_SELF, 0));
    self_vmar = zx_take_startup_handle(PA_HND(PA_VMAR_ROOT, 0));
    self_job = zx_take_startup_handle(PA_HND(PA_JOB_DEFAULT, 0));
    exit(main(argc, (char **)argv_table, environ));
}
