// A tiny KTAP test framework for guest programs (ulib/ktap.c).
//
//   KTAP_CASE(channel_round_trip) {
//       zx_handle_t a, b;
//       KTAP_ASSERT_OK(zx_channel_create(0, &a, &b));
//       KTAP_EXPECT_EQ(zx_channel_write(a, 0, "hi", 2, NULL, 0), ZX_OK);
//   }
//   int main(void) { return ktap_main("core-tests"); }
//
// Each KTAP_CASE(name) defines a case and registers it in the `ktap_cases` linker section;
// ktap_main runs them in link order (files in build order, cases in source order) and prints
//
//   KTAP version 1
//   1..N
//   # <file>:<line>: <failed check and values>     diagnostics precede their case's result
//   ok 1 <name>           /  not ok 2 <name>
//   # <program>: P passed, F failed
//
// and returns 0 if every case passed, else 1. Write KTAP_CASE( at the start of a line, one
// per line: the host harness finds case names by scanning sources for "KTAP_CASE(".
// KTAP_EXPECT_* record a failure and go on; KTAP_ASSERT_* also end the case.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zircon/types.h>

struct ktap_case {
    const char *name;
    void (*run)(void);
};

// The registration record's placement: the ktap_cases section, kept even if unreferenced.
#define KTAP_CASE_SECTION __attribute__((used, section("ktap_cases"), aligned(sizeof(void *))))
#define KTAP_CASE(name)                                                                            \
    static void ktap_run_##name(void);                                                             \
    static const struct ktap_case ktap_case_##name KTAP_CASE_SECTION = {#name, ktap_run_##name};   \
    static void ktap_run_##name(void)

// Each check returns true if it held; on failure it prints one "# file:line: ..." line and
// marks the running case failed.
bool ktap_check(bool ok, const char *file, int line, const char *expr);
bool ktap_check_eq(int64_t actual, int64_t expected, const char *file, int line,
                   const char *actual_expr, const char *expected_expr);
bool ktap_check_ne(int64_t actual, int64_t other, const char *file, int line,
                   const char *actual_expr, const char *other_expr);
bool ktap_check_status(zx_status_t actual, zx_status_t expected, const char *file, int line,
                       const char *expr);

#define KTAP_EXPECT_TRUE(cond) ktap_check((cond), __FILE__, __LINE__, #cond)
#define KTAP_EXPECT_EQ(actual, expected)                                                           \
    ktap_check_eq((int64_t)(actual), (int64_t)(expected), __FILE__, __LINE__, #actual, #expected)
#define KTAP_EXPECT_NE(actual, other)                                                              \
    ktap_check_ne((int64_t)(actual), (int64_t)(other), __FILE__, __LINE__, #actual, #other)
#define KTAP_EXPECT_STATUS(expr, expected)                                                         \
    ktap_check_status((expr), (expected), __FILE__, __LINE__, #expr)
#define KTAP_EXPECT_OK(expr) KTAP_EXPECT_STATUS(expr, ZX_OK)

#define KTAP_ASSERT_TRUE(cond)                                                                     \
    do {                                                                                           \
        if (!KTAP_EXPECT_TRUE(cond))                                                               \
            return;                                                                                \
    } while (0)
#define KTAP_ASSERT_EQ(actual, expected)                                                           \
    do {                                                                                           \
        if (!KTAP_EXPECT_EQ(actual, expected))                                                     \
            return;                                                                                \
    } while (0)
#define KTAP_ASSERT_OK(expr)                                                                       \
    do {                                                                                           \
        if (!KTAP_EXPECT_OK(expr))                                                                 \
            return;                                                                                \
    } while (0)

// Reports the running case as skipped (`ok N name # SKIP reason`) when it returns, unless a
// check failed.
void ktap_skip(const char *reason);

// Prints "# " + the formatted text as a diagnostic line.
void ktap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Diagnostic lines from now on read "# <prefix>: ..." (prefix NULL: no prefix); with `quiet`,
// ktap_diag prints nothing and only failed checks print their line.
void ktap_set_diag(const char *prefix, bool quiet);

// The registered cases, in link order (for a runner of its own, like stress-tests' parallel
// mode): how many, and the name of case `index` (NULL past the end).
size_t ktap_case_count(void);
const char *ktap_case_name(size_t index);

// Runs case `name` once, printing only its diagnostics (no KTAP header or result line).
// KTAP_SKIPPED sets *skip_reason.
enum ktap_result { KTAP_PASSED = 0, KTAP_FAILED = 1, KTAP_SKIPPED = 2, KTAP_NO_SUCH_CASE = 3 };
enum ktap_result ktap_run_one(const char *name, const char **skip_reason);

// True if `name` is one of the comma-separated names in `list` (ktap_main_select's filter).
bool ktap_listed(const char *list, const char *name);
// True if case `name` is selected: listed in `only` (NULL: every case) and not in `skip`
// (NULL: none).
bool ktap_selected(const char *only, const char *skip, const char *name);

// Runs every registered case; returns the exit status (0: all passed).
int ktap_main(const char *program);
// The same, running only the cases named in `only` (comma-separated; NULL: all); the others
// are reported as `ok N name # SKIP not selected`.
int ktap_main_select(const char *program, const char *only);
// Like ktap_main_select, also reporting the cases listed in `skip` as skipped.
int ktap_main_filter(const char *program, const char *only, const char *skip);
