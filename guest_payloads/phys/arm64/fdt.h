// A small reader for flattened devicetrees (the DTB a boot loader passes in x0), enough for the
// arm64 boot shim and poweroff.bin: header checks, a depth-first walk over the nodes with the
// #address-cells/#size-cells that apply to each, property lookup and `reg` decoding.
//
// Format (devicetree specification, all fields big-endian): a 40-byte header, the memory
// reservation block (pairs of u64 address/size ended by 0/0), the structure block (tokens
// BEGIN_NODE name / PROP len nameoff value / END_NODE / NOP / END, each 4-byte aligned) and
// the strings block holding property names. Nothing here writes to the blob.
#pragma once

#include <stddef.h>
#include <stdint.h>

#define FDT_MAX_DEPTH 16

struct fdt {
    const uint8_t *blob;
    uint32_t size;           // header totalsize
    const uint8_t *structs;  // structure block
    uint32_t structs_size;
    const char *strings;  // strings block
    uint32_t strings_size;
    const uint8_t *rsvmap;  // memory reservation block
};

// One node during a walk. `addr_cells`/`size_cells` are the parent's: they encode this node's
// `reg`. `own_addr_cells`/`own_size_cells` are this node's: they encode its children's `reg`
// and the child side of its `ranges`.
struct fdt_node {
    const struct fdt *fdt;
    const char *name;  // "pl011@9000000"; "" for the root
    uint32_t props;    // structure-block offset of the node's first property token
    uint32_t depth;    // 0 for the root
    uint32_t addr_cells, size_cells;
    uint32_t own_addr_cells, own_size_cells;
};

// Checks the header of the DTB at `blob` (magic, version >= 16, blocks inside totalsize) and
// fills *fdt. Returns 0, or -1 with *why naming the problem.
int fdt_init(struct fdt *fdt, const void *blob, const char **why);

// Calls fn(node, ctx) for every node, parents before children, in file order. Returns fn's
// value as soon as it is nonzero, 0 after the whole tree, or -1 with *why if the structure
// block is malformed.
typedef int (*fdt_node_fn)(const struct fdt_node *node, void *ctx);
int fdt_walk(const struct fdt *fdt, fdt_node_fn fn, void *ctx, const char **why);

// The value of property `name` of `node` and its length, or NULL if the node lacks it.
const void *fdt_prop(const struct fdt_node *node, const char *name, uint32_t *len);

// Whether `node`'s "compatible" string list contains `compat`.
int fdt_is_compatible(const struct fdt_node *node, const char *compat);

// Whether the node's name is `base` or `base@<unit-address>`.
int fdt_name_is(const struct fdt_node *node, const char *base);

// Reads a big-endian number of `cells` 32-bit cells (1 or 2) at p (4-byte aligned).
uint64_t fdt_read_cells(const void *p, uint32_t cells);

// Decodes entry `index` of the node's `reg` property. Returns 0, or -1 if there is no such
// entry or the parent's cell counts are not 1 or 2.
int fdt_reg(const struct fdt_node *node, uint32_t index, uint64_t *base, uint64_t *size);

// Entry `index` of the memory reservation block. Returns 0, or -1 past the last entry.
int fdt_rsv(const struct fdt *fdt, uint32_t index, uint64_t *base, uint64_t *size);
