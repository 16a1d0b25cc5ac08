// The kernel's exception vectors (VBAR_EL1, installed by start.S). The kernel runs with
// interrupts masked and takes no faults on purpose yet, so every vector is fatal:
// arm64_exception() (exception.c) panics with the syndrome.

#include <arch/arm64/asm.h>

arm64_vector_table arm64_vectors, arm64_exception
