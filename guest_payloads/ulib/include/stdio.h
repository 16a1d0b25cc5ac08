// <stdio.h> for guest programs: lib/'s printf family. printf output is line-buffered and
// written with zx_debug_write (ulib/stdio.c); "\n" goes out as "\r\n".
#pragma once

#include <lib/console.h>

// Writes out any buffered printf output.
void fflush_stdout(void);
