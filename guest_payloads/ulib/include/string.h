// <string.h> for guest programs: lib/'s freestanding string and memory functions.
#pragma once

#include <lib/string.h>
