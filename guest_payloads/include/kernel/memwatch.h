// kernel.memwatch (kernel/memwatch.c): memory and object counts on the console, periodically.
#pragma once

// Prints one line now:
//   zhb kernel: memwatch: free F of T KiB; heap P pages, B blocks, N bytes; kernel stacks L
//   live, C cached; objects O: <type> <n>...
void memwatch_print(void);
// Starts the thread that prints that line every 10 seconds (and prints it once now).
void memwatch_start(void);
// At power-off (kernel_main's end, ZX_SYSTEM_POWERCTL_SHUTDOWN): the line once more, if
// memwatch_start ran. What user objects are still counted then belong to the process that
// asked for the power-off; memory missing beyond them leaked.
void memwatch_at_poweroff(void);
