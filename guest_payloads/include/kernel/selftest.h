// Boot-time kernel self-tests (kernel/selftest.c), run when the command line holds the word
// `kernel.selftest`. Output is KTAP (the format KUnit prints), one line per case:
//
//   KTAP version 1
//   1..N
//   # <diagnostic lines of a case, before its result>
//   ok 1 <name>           or   not ok 1 <name>
//   ...
//   # selftest: P passed, F failed
#pragma once

// Runs every case from a thread context with interrupts enabled and the tick running, and
// prints the KTAP report (a failing case never stops the run or the boot).
void selftest_run(void);
