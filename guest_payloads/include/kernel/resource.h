// Resource objects (kernel/object/resource.c): capabilities for privileged operations.
//
// zhb has one kind so far, the power resource handed to userboot (PA_HND(PA_RESOURCE, 0) in
// its bootstrap message): zx_system_powerctl requires a handle to it.
#pragma once

#include <kernel/handle.h>
#include <kernel/object.h>
#include <zircon/types.h>

// The power resource, created on first use; the caller gets a new reference.
struct kobject *resource_power(void);

// zx_system_powerctl's check on its `resource` argument in table `ht` (no rights needed, as in
// Zircon): ZX_OK if `h` is a handle to the power resource; errors as handle_table_get
// (BAD_HANDLE / WRONG_TYPE), ZX_ERR_ACCESS_DENIED for any other resource.
zx_status_t resource_check_power(struct handle_table *ht, zx_handle_t h);
