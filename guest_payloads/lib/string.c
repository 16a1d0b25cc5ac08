// Freestanding memory and string functions (declared in <lib/string.h>).
//
// memcpy and memset move aligned 8-byte words (four per loop step) when source and
// destination share their alignment, and bytes otherwise and at the ends: under QEMU's TCG
// every guest store costs a softmmu lookup, and the kernel zeroes and copies whole pages.
// Only aligned word accesses, so they are also right before the arm64 MMU is on. The rest is
// byte-at-a-time. The build passes -fno-builtin so clang does not turn these loops back into
// calls to themselves.
#include <lib/string.h>

#include <stdint.h>

typedef uint64_t __attribute__((may_alias)) word_t;

#define WORD_MASK (sizeof(word_t) - 1)

void *memcpy(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if ((((uintptr_t)d ^ (uintptr_t)s) & WORD_MASK) == 0) {
        for (; n > 0 && ((uintptr_t)d & WORD_MASK) != 0; n--) {
            *d++ = *s++;
        }
        word_t *dw = (word_t *)d;
        const word_t *sw = (const word_t *)s;
        for (; n >= 4 * sizeof(word_t); n -= 4 * sizeof(word_t), dw += 4, sw += 4) {
            dw[0] = sw[0];
            dw[1] = sw[1];
            dw[2] = sw[2];
            dw[3] = sw[3];
        }
        for (; n >= sizeof(word_t); n -= sizeof(word_t)) {
            *dw++ = *sw++;
        }
        d = (unsigned char *)dw;
        s = (const unsigned char *)sw;
    }
    while (n-- > 0) {
        *d++ = *s++;
    }
    return dst;
}

// Copies n bytes between possibly overlapping buffers.
void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if ((uintptr_t)d <= (uintptr_t)s || (uintptr_t)d >= (uintptr_t)s + n) {
        return memcpy(dst, src, n);
    }
    while (n-- > 0) {
        d[n] = s[n];
    }
    return dst;
}

void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    for (; n > 0 && ((uintptr_t)d & WORD_MASK) != 0; n--) {
        *d++ = (unsigned char)c;
    }
    word_t v = (unsigned char)c * (word_t)0x0101010101010101ull;
    word_t *dw = (word_t *)d;
    for (; n >= 4 * sizeof(word_t); n -= 4 * sizeof(word_t), dw += 4) {
        dw[0] = v;
        dw[1] = v;
        dw[2] = v;
        dw[3] = v;
    }
    for (; n >= sizeof(word_t); n -= sizeof(word_t)) {
        *dw++ = v;
    }
    d = (unsigned char *)dw;
    while (n-- > 0) {
        *d++ = (unsigned char)c;
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a;
    const unsigned char *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return 0;
}

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    return n;
}

size_t strnlen(const char *s, size_t max) {
    size_t n = 0;
    while (n < max && s[n] != '\0') {
        n++;
    }
    return n;
}

int strcmp(const char *a, const char *b) {
    return strncmp(a, b, SIZE_MAX);
}

int strncmp(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i];
        unsigned char y = (unsigned char)b[i];
        if (x != y) {
            return x < y ? -1 : 1;
        }
        if (x == '\0') {
            return 0;
        }
    }
    return 0;
}

char *strchr(const char *s, int c) {
    for (;; s++) {
        if (*s == (char)c) {
            return (char *)s;
        }
        if (*s == '\0') {
            return NULL;
        }
    }
}

size_t words_next_nonzero(const uint64_t *w, size_t i, size_t end) {
    while (i + 8 <= end &&
           (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7]) == 0) {
        i += 8;
    }
    while (i < end && w[i] == 0) {
        i++;
    }
    return i;
}
