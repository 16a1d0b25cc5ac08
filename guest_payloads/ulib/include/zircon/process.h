// The startup handles of a guest program, as Zircon's <zircon/process.h>. ulib's _start
// reads them from the processargs message before main() runs.
#pragma once

#include <stdint.h>
#include <zircon/types.h>

#ifdef __cplusplus
extern "C" {
#endif

// Removes and returns the startup handle whose handle_info is `hnd_info` (PA_HND(type, arg)),
// or ZX_HANDLE_INVALID if there is none (or it was already taken).
zx_handle_t zx_take_startup_handle(uint32_t hnd_info);

// The program's own handles (not taken: these stay valid for the program's lifetime).
zx_handle_t zx_process_self(void);
zx_handle_t zx_thread_self(void);
zx_handle_t zx_vmar_root_self(void);
zx_handle_t zx_job_default(void);

#ifdef __cplusplus
}
#endif
