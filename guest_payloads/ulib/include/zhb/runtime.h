// The guest SDK runtime (ulib): what _start sets up and what programs may use beyond the
// Zircon API. A program defines `int main(int argc, char **argv, char **envp)`; ulib's
// _start reads the processargs message (args, environ, startup handles, see
// <zircon/process.h>), calls main and exits with its return value.
#pragma once

#include <stddef.h>
#include <stdint.h>

extern char **environ;

// The vDSO base the program was started with (zx_process_start's second argument).
extern uintptr_t __zhb_vdso_base;

// The offset of a vDSO entry point in vdso.so, from the build (ZHB_VDSO_OFFSET(zx_foo)).
#define ZHB_VDSO_OFFSET(name) ((uintptr_t)__zhb_vdso_off_##name)
#define ZHB_DECLARE_VDSO_OFFSET(name) extern const char __zhb_vdso_off_##name[]

// Flushes stdout and ends the process with zx_process_exit(status).
__attribute__((noreturn)) void exit(int status);

// The value of environment word NAME=VALUE, NULL if absent ("" for a bare NAME).
const char *getenv(const char *name);
