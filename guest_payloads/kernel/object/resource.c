// Resource objects (include/kernel/resource.h): the power resource.
//
// One static object, created on first use and never destroyed (a reference is kept here).
#include <kernel/resource.h>

#include <kernel/heap.h>
#include <kernel/panic.h>

struct resource {
    struct kobject obj;  // type ZX_OBJ_TYPE_RESOURCE
};

static struct resource *power_resource;

static void resource_destroy(struct kobject *obj) {
    kfree(obj);
}

static const struct kobject_ops resource_ops = {
    .type_name = "resource",
    .default_rights = ZX_DEFAULT_RESOURCE_RIGHTS,
    .destroy = resource_destroy,
};

struct kobject *resource_power(void) {
    if (power_resource == NULL) {
        power_resource = kzalloc(sizeof(*power_resource));
        if (power_resource == NULL) {
            panic("resource_power: no memory");
        }
        kobject_init(&power_resource->obj, ZX_OBJ_TYPE_RESOURCE, &resource_ops);
        kobject_set_name(&power_resource->obj, "power", sizeof("power"));
    }
    kobject_ref(&power_resource->obj);
    return &power_resource->obj;
}

zx_status_t resource_check_power(struct handle_table *ht, zx_handle_t h) {
    struct kobject *obj;
    zx_status_t status = handle_table_get(ht, h, ZX_OBJ_TYPE_RESOURCE, ZX_RIGHT_NONE, &obj);
    if (status != ZX_OK) {
        return status;
    }
    status = obj == &power_resource->obj ? ZX_OK : ZX_ERR_ACCESS_DENIED;
    kobject_unref(obj);
    return status;
}
