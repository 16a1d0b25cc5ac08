// Program entry, x86-64: _start(bootstrap channel in %rdi, vDSO base in %rsi), as
// zx_process_start passes them. Realigns the stack and calls __zhb_start, which never returns.
    .text
    .globl _start
    .type _start, %function
_start:
    xor %ebp, %ebp
    and $-16, %rsp
    call __zhb_start
    ud2
    .size _start, . - _start
