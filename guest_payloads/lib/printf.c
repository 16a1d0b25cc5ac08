// Freestanding printf (<lib/console.h>): one formatter, two sinks.
//
//   printf/vprintf --> format() --> console sink --> lib_putc()   ("\n" sent as "\r\n")
//   snprintf       --> format() --> buffer sink  --> buf[]        (bytes as formatted)
//
// Conversions: %% %c %s %d %i %u %x %X %p; length modifiers l, ll, z; the '0' flag and a
// decimal field width. An unknown conversion is printed verbatim so mistakes are visible.
#include <lib/console.h>

#include <stdbool.h>
#include <stdint.h>

#include <lib/string.h>

struct sink {
    void (*put)(struct sink *s, char c);
    char *buf;     // buffer sink only
    size_t size;   // buffer sink only: capacity including the NUL
    size_t count;  // bytes produced so far (for the buffer sink: as if it were unbounded)
};

static void console_put(struct sink *s, char c) {
    if (c == '\n') {
        lib_putc('\r');
        s->count++;
    }
    lib_putc(c);
    s->count++;
}

static void buffer_put(struct sink *s, char c) {
    if (s->count + 1 < s->size) {
        s->buf[s->count] = c;
    }
    s->count++;
}

static void put_padding(struct sink *s, char pad, int n) {
    while (n-- > 0) {
        s->put(s, pad);
    }
}

static void put_string(struct sink *s, const char *str, int width) {
    if (str == NULL) {
        str = "(null)";
    }
    put_padding(s, ' ', width - (int)strlen(str));
    while (*str != '\0') {
        s->put(s, *str++);
    }
}

// Prints `value` in `base` (10 or 16), with a '-' if `negative`, right-aligned in `width`
// with `pad` ('0' pads after the sign, ' ' before it).
static void put_number(struct sink *s, uint64_t value, bool negative, unsigned base, bool upper,
                       int width, char pad) {
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = digits[value % base];
        value /= base;
    } while (value != 0);
    int len = n + (negative ? 1 : 0);
    if (pad == ' ') {
        put_padding(s, ' ', width - len);
    }
    if (negative) {
        s->put(s, '-');
    }
    if (pad == '0') {
        put_padding(s, '0', width - len);
    }
    while (n > 0) {
        s->put(s, tmp[--n]);
    }
}

enum length { LEN_INT, LEN_LONG, LEN_LLONG, LEN_SIZE };

static int64_t next_signed(va_list *ap, enum length len) {
    switch (len) {
    case LEN_LONG:
        return va_arg(*ap, long);
    case LEN_LLONG:
        return va_arg(*ap, long long);
    case LEN_SIZE:
        return (int64_t)va_arg(*ap, size_t);
    default:
        return va_arg(*ap, int);
    }
}

static uint64_t next_unsigned(va_list *ap, enum length len) {
    switch (len) {
    case LEN_LONG:
        return va_arg(*ap, unsigned long);
    case LEN_LLONG:
        return va_arg(*ap, unsigned long long);
    case LEN_SIZE:
        return va_arg(*ap, size_t);
    default:
        return va_arg(*ap, unsigned int);
    }
}

// Formats `fmt` with the arguments in `ap` into the sink.
static void format(struct sink *s, const char *fmt, va_list *ap) {
    for (; *fmt != '\0'; fmt++) {
        if (*fmt != '%') {
            s->put(s, *fmt);
            continue;
        }
        const char *start = fmt++;
        char pad = ' ';
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        int width = 0;
        while (*fmt >= '0' && *fmt <= '9') {
            width = width * 10 + (*fmt++ - '0');
        }
        enum length len = LEN_INT;
        if (*fmt == 'l') {
            len = LEN_LONG;
            if (*++fmt == 'l') {
                len = LEN_LLONG;
                fmt++;
            }
        } else if (*fmt == 'z') {
            len = LEN_SIZE;
            fmt++;
        }
        switch (*fmt) {
        case '%':
            s->put(s, '%');
            break;
        case 'c':
            s->put(s, (char)va_arg(*ap, int));
            break;
        case 's':
            put_string(s, va_arg(*ap, const char *), width);
            break;
        case 'd':
        case 'i': {
            int64_t v = next_signed(ap, len);
            uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
            put_number(s, mag, v < 0, 10, false, width, pad);
            break;
        }
        case 'u':
            put_number(s, next_unsigned(ap, len), false, 10, false, width, pad);
            break;
        case 'x':
        case 'X':
            put_number(s, next_unsigned(ap, len), false, 16, *fmt == 'X', width, pad);
            break;
        case 'p':
            s->put(s, '0');
            s->put(s, 'x');
            put_number(s, (uintptr_t)va_arg(*ap, void *), false, 16, false, width, pad);
            break;
        default:
            // Unknown or truncated conversion: echo it as written.
            for (const char *p = start; p <= fmt && *p != '\0'; p++) {
                s->put(s, *p);
            }
            if (*fmt == '\0') {
                return;
            }
            break;
        }
    }
}

int vprintf(const char *fmt, va_list ap) {
    struct sink s = {.put = console_put};
    va_list copy;
    va_copy(copy, ap);
    format(&s, fmt, &copy);
    va_end(copy);
    return (int)s.count;
}

int printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

// Returns the length the full output would have; writes at most size-1 bytes plus a NUL.
int snprintf(char *buf, size_t size, const char *fmt, ...) {
    struct sink s = {.put = buffer_put, .buf = buf, .size = size};
    va_list ap;
    va_start(ap, fmt);
    format(&s, fmt, &ap);
    va_end(ap);
    if (size > 0) {
        buf[s.count < size ? s.count : size - 1] = '\0';
    }
    return (int)s.count;
}
