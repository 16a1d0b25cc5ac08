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
static const char *diag_prefix;  // ktap_set_diag: "# <prefix>: ..." when set
static bool diag_quiet;          // ktap_set_diag: only failed checks print

void ktap_skip(const char *reason) {
    case_skip_reason = reason;
}

void ktap_set_diag(const char *prefix, bool quiet) {
    diag_prefix = prefix;
    diag_quiet = quiet;
}

static void vdiag(const char *fmt, va_list ap) {
    printf("# ");
    if (diag_prefix != NULL) {
        printf("%s: ", diag_prefix);
    }
    vprintf(fmt, ap);
    printf("\n");
}

// A failed check's line: printed even when quiet.
static void failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failure(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vdiag(fmt, ap);
    va_end(ap);
}

void ktap_diag(const char *fmt, ...) {
    if (diag_quiet) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vdiag(fmt, ap);
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
        failure("%s:%d: expected %s", file, line, expr);
    }
    return record(ok);
}

bool ktap_check_eq(int64_t actual, int64_t expected, const char *file, int line,
                   const char *actual_expr, const char *expected_expr) {
    bool ok = actual == expected;
    if (!ok) {
        failure("%s:%d: %s == %s: got %lld (0x%llx), expected %lld (0x%llx)", file, line,
                  actual_expr, expected_expr, (long long)actual, (unsigned long long)actual,
                  (long long)expected, (unsigned long long)expected);
    }
    return record(ok);
}

bool ktap_check_ne(int64_t actual, int64_t other, const char *file, int line,
                   const char *actual_expr, const char *other_expr) {
    bool ok = actual != other;
    if (!ok) {
        failure("%s:%d: %s != %s: both are %lld", file, line, actual_expr, other_expr,
                  (long long)actual);
    }
    return record(ok);
}

bool ktap_check_status(zx_status_t actual, zx_status_t expected, const char *file, int line,
                       const char *expr) {
    bool ok = actual == expected;
    if (!ok) {
        failure("%s:%d: %s returned %d, expected %d", file, line, expr, actual, expected);
    }
    return record(ok);
}

bool ktap_listed(const char *list, const char *name) {
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

static enum ktap_result run_case(const struct ktap_case *c, const char **skip_reason) {
    case_failed = false;
    case_skip_reason = NULL;
    c->run();
    if (case_failed) {
        return KTAP_FAILED;
    }
    if (case_skip_reason != NULL) {
        *skip_reason = case_skip_reason;
        return KTAP_SKIPPED;
    }
    return KTAP_PASSED;
}

size_t ktap_case_count(void) {
    return (size_t)(__stop_ktap_cases - __start_ktap_cases);
}

const char *ktap_case_name(size_t index) {
    return index < ktap_case_count() ? __start_ktap_cases[index].name : NULL;
}

enum ktap_result ktap_run_one(const char *name, const char **skip_reason) {
    for (size_t i = 0; i < ktap_case_count(); i++) {
        if (strcmp(__start_ktap_cases[i].name, name) != 0) {
            continue;
        }
        return run_case(&__start_ktap_cases[i], skip_reason);
    }
    return KTAP_NO_SUCH_CASE;
}

int ktap_main(const char *program) {
    return ktap_main_select(program, NULL);
}

int ktap_main_select(const char *program, const char *only) {
    return ktap_main_filter(program, only, NULL);
}

bool ktap_selected(const char *only, const char *skip, const char *name) {
    return (only == NULL || ktap_listed(only, name)) && (skip == NULL || !ktap_listed(skip, name));
}

int ktap_main_filter(const char *program, const char *only, const char *skip) {
    size_t count = ktap_case_count();
    size_t failed = 0;
    printf("KTAP version 1\n1..%zu\n", count);
    for (size_t i = 0; i < count; i++) {
        const struct ktap_case *c = &__start_ktap_cases[i];
        if (!ktap_selected(only, skip, c->name)) {
            printf("ok %zu %s # SKIP not selected\n", i + 1, c->name);
            continue;
        }
        const char *skip_reason = NULL;
        enum ktap_result result = run_case(c, &skip_reason);
        failed += result == KTAP_FAILED;
        if (result == KTAP_SKIPPED) {
            printf("ok %zu %s # SKIP %s\n", i + 1, c->name, skip_reason);
            continue;
        }
        printf("%sok %zu %s\n", result == KTAP_FAILED ? "not " : "", i + 1, c->name);
    }
    printf("# %s: %zu passed, %zu failed\n", program, count - failed, failed);
    return failed == 0 ? 0 : 1;
}
