// Freestanding string and memory functions (lib/string.c). clang may emit calls to
// memcpy/memset/memmove/memcmp on its own, so every program links these.
#pragma once

#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
// The index of the first non-zero word of w[i..end), or `end`. Eight zero words are tested per
// loop step (a loop step is a translated block under QEMU's TCG): page tables and VMO page
// directories are mostly zero.
size_t words_next_nonzero(const uint64_t *w, size_t i, size_t end);
