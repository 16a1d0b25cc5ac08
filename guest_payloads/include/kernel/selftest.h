// Boot-time kernel self-tests (kernel/selftest.c), run when the command line holds the word
// `kernel.selftest`. Output is KTAP (the format KUnit prints), one line per case:
//
//   KTAP version 1
//   1..N
//   # <diagnostic lines of a case, before its result>
//   ok 1 <name>           or   not ok 1 <name>
//   ...
//   # selftest: P passed, F failed
//
// Other files add cases as a suite: a `const struct selftest_suite` of their own, named in
// the `suites[]` list of kernel/selftest.c (one line each). Suites run in list order; the
// cases of all suites are numbered in one KTAP plan.
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <lib/console.h>

// A case returns true on success and explains a failure with SELFTEST_CHECK / SELFTEST_DIAG.
struct selftest_case {
    const char *name;
    bool (*run)(void);
};

struct selftest_suite {
    const struct selftest_case *cases;
    size_t count;
};

// Prints one "# " diagnostic line (printf arguments).
#define SELFTEST_DIAG(...) (printf("# " __VA_ARGS__), printf("\n"))
// Evaluates `cond`; on failure prints the condition and its line and makes the case fail.
#define SELFTEST_CHECK(cond)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            SELFTEST_DIAG("%s:%d: check failed: %s", __FILE__, __LINE__, #cond);                   \
            return false;                                                                          \
        }                                                                                          \
    } while (0)

// Runs every case from a thread context with interrupts enabled and the tick running, and
// prints the KTAP report (a failing case never stops the run or the boot).
void selftest_run(void);
