// The KTAP runner and checks: see <ktap.h>.
#include <ktap.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

// Linker-made bounds of the ktap_cases section. Hidden: addressed PC-relative, never through
// the GOT (the program is linked above 4 GiB, out of reach of 32-bit absolute forms).
extern const struct ktap_case __start_ktap_cases[] __attribute__((visibility("hidden")));
extern const struct ktap_case __stop_ktap_cases[] __attribute__((visibility("hidden")));

static bool case_failed;
static const char *case_skip_reason;

void ktap_skip(const char *reason) {
    case_skip_reason = reason;
}

void ktap_diag(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static bool record(bool ok) {
    if (!ok) {
        case_failed = true;
    }
    return ok;
}

bool ktap_check(bool ok, const char *file, int line, const char *expr) {
    if (!ok) {
        ktap_diag("%s:%d: expected %s", file, line, expr);
    }
    return record(ok);
}

bool ktap_check_eq(int64_t actual, int64_t expected, const char *file, int line,
                   const char *actual_expr, const char *expected_expr) {
    bool ok = actual == expected;
    if (!ok) {
        ktap_diag("%s:%d: %s == %s: got %lld (0x%llx), expected %lld (0x%llx)", file, line,
                  actual_expr, expected_expr, (long long)actual, (unsigned long long)actual,
                  (long long)expected, (unsigned long long)expected);
    }
    return record(ok);
}

bool ktap_check_ne(int64_t actual, int64_t other, const char *file, int line,
                   const char *actual_expr, const char *other_expr) {
    bool ok = actual != other;
    if (!ok) {
        ktap_diag("%s:%d: %s != %s: both are %lld", file, line, actual_expr, other_expr,
                  (long long)actual);
    }
    return record(ok);
}

bool ktap_check_status(zx_status_t actual, zx_status_t expected, const char *file, int line,
                       const char *expr) {
    bool ok = actual == expected;
    if (!ok) {
        ktap_diag("%s:%d: %s returned %d, expected %d", file, line, expr, actual, expected);
    }
    return record(ok);
}

// True if `name` is one of the comma-separated names in `list`.
static bool listed(const char *list, const char *name) {
    size_t len = strlen(name);
    for (const char *p = list; *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (n == len && strncmp(p, name, len) == 0) {
            return true;
        }
        p += n + (comma != NULL);
    }
    return false;
}

int ktap_main(const char *program) {
    return ktap_main_select(program, NULL);
}

int ktap_main_select(const char *program, const char *only) {
    size_t count = (size_t)(__stop_ktap_cases - __start_ktap_cases);
    size_t failed = 0;
    printf("KTAP version 1\n1..%zu\n", count);
    for (size_t i = 0; i < count; i++) {
        const struct ktap_case *c = &__start_ktap_cases[i];
        if (only != NULL && !listed(only, c->name)) {
            printf("ok %zu %s # SKIP not selected\n", i + 1, c->name);
            continue;
        }
        case_failed = false;
        case_skip_reason = NULL;
        c->run();
        failed += case_failed;
        if (case_skip_reason != NULL && !case_failed) {
            printf("ok %zu %s # SKIP %s\n", i + 1, c->name, case_skip_reason);
            continue;
        }
        printf("%sok %zu %s\n", case_failed ? "not " : "", i + 1, c->name);
    }
    printf("# %s: %zu passed, %zu failed\n", program, count - failed, failed);
    return failed == 0 ? 0 : 1;
}
