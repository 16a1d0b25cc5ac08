// Starting the first user process (kernel/userboot_launch.c), as Zircon's kernel does.
#pragma once

#include <kernel/bootinfo.h>

// Starts userboot (the RODSO embedded in the kernel) with the standard processargs bootstrap
// message, then waits until it and every other process of the root job have exited. Prints
// one "zhb kernel: userboot: <what failed>" line and returns if it cannot be started.
void userboot_run(const struct boot_info *bi);
