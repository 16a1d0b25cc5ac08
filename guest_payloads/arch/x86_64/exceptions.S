// x86-64 interrupt and exception entry: one 16-byte stub per IDT vector (0-255), all
// funnelling into x86_isr_common, which saves the general registers as a struct x86_iframe
// (arch/x86_64/include/arch/x86_64/iframe.h) and calls x86_exception_handler(frame).
//
//   stub n:  [pushq $0 unless the CPU pushes an error code]  pushq $n  jmp x86_isr_common
//   stub 14 (#PF): jmp x86_pf_entry, which may move to the thread's stack first (below)
//
// Stack on the C call, lowest address first (what struct x86_iframe mirrors):
//   r15 r14 r13 r12 r11 r10 r9 r8 rbp rdi rsi rdx rcx rbx rax | vector error | rip cs rflags rsp ss
// The CPU aligns %rsp to 16 before pushing its 5 words, so with 2 + 15 more the C call sees a
// 16-byte aligned stack.

#include <arch/arch_percpu.h>
#include <arch/x86_64/iframe.h>

.section .text.isr, "ax"
.code64

.balign X86_ISR_STUB_SIZE
.globl x86_isr_stubs
x86_isr_stubs:
.set vector, 0
.rept 256
    .balign X86_ISR_STUB_SIZE
    .if vector == X86_VECTOR_PF
    jmp x86_pf_entry
    .else
    // Vectors whose exception pushes an error code: #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX.
    .if (vector == 8) | ((vector >= 10) & (vector <= 14)) | (vector == 17) | (vector == 21) | \
        (vector == 29) | (vector == 30)
    .else
    pushq $0
    .endif
    pushq $vector
    jmp x86_isr_common
    .endif
    .set vector, vector + 1
.endr

// #PF arrives on its own IST stack (arch.c), so a fault on a kernel stack's guard page still
// gets a frame. Handling a fault that can be resolved may block and switch threads, and the
// per-CPU IST stack is reused by the next #PF, so two kinds move the CPU's frame off it first:
//   - from ring 3: to the thread's kernel stack top (the per-CPU kernel_rsp, as TSS.rsp0),
//     where the CPU puts it without IST;
//   - from ring 0 at a user address (CR2 in the lower half: a user copy's fault, which
//     vm_fault may resolve): onto the interrupted kernel stack, 16-byte aligned below its %rsp
//     as the CPU would without IST (the kernel has no red zone). Such a fault is not a stack
//     overflow: the guards are kernel addresses.
// On entry: error code, rip, cs, rflags, rsp, ss (lowest first).
x86_pf_entry:
    push %rax                // rax, error code, rip, cs, rflags, rsp, ss
    testb $3, 24(%rsp)       // cs: from ring 3?
    jz 2f
    mov %rsp, %rax
    swapgs                   // read the per-CPU stack top; x86_isr_common swaps again
    mov %gs:X86_PERCPU_KERNEL_RSP, %rsp
    swapgs
3:  pushq 48(%rax)
    pushq 40(%rax)
    pushq 32(%rax)
    pushq 24(%rax)
    pushq 16(%rax)
    pushq 8(%rax)
    mov (%rax), %rax
1:  pushq $X86_VECTOR_PF
    jmp x86_isr_common
2:  mov %cr2, %rax
    shr $47, %rax
    jz 4f                    // a user address
    pop %rax
    jmp 1b                   // stay on the IST stack
4:  mov %rsp, %rax
    mov 40(%rax), %rsp       // the interrupted %rsp
    and $-16, %rsp
    jmp 3b

// From ring 3 (the frame's cs): swapgs on the way in and out, so the kernel always runs with
// %gs = this CPU's struct percpu.
x86_isr_common:
    cld
    cmpb $0, x86_smap_enabled(%rip)
    je 3f
    clac                     // a user copy's AC must not leak into the handler (or a switch)
3:
    testb $3, 24(%rsp)       // cs, above vector and error code
    jz 1f
    swapgs
1:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    call x86_exception_handler
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp  // vector and error code
    testb $3, 8(%rsp)        // cs
    jz 2f
    swapgs
2:
    iretq
