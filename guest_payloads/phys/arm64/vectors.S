// Exception vectors of the arm64 phys programs (VBAR_EL1, installed by start.S). Nothing in
// a phys program expects an exception: every vector calls phys_exception() (phys.h), which
// reports it if it can and powers off.

#include <arch/arm64/asm.h>

arm64_vector_table phys_vectors, phys_exception
