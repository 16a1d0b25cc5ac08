// <stdlib.h> for guest programs: exit() and getenv() (ulib/crt.c).
#pragma once

#include <zhb/runtime.h>
