// Zircon page-size constants, as Zircon's <zircon/limits.h> (the base page size only; the
// per-architecture ZX_MIN/MAX_PAGE_* values are left out).
#pragma once

#include <stdint.h>

#define ZX_PAGE_SHIFT ((uint32_t)12u)
#define ZX_PAGE_SIZE ((uintptr_t)(1u << ZX_PAGE_SHIFT))
#define ZX_PAGE_MASK (ZX_PAGE_SIZE - 1u)
