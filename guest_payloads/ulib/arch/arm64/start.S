// Program entry, arm64: _start(bootstrap channel in x0, vDSO base in x1), as
// zx_process_start passes them. Realigns the stack and calls __zhb_start, which never returns.
    .text
    .globl _start
    .type _start, %function
_start:
    mov x29, #0
    mov x30, #0
    mov x9, sp
    and x9, x9, #-16
    mov sp, x9
    bl __zhb_start
    brk #1
    .size _start, . - _start
