// Flattened devicetree reader (see fdt.h for the format). Every offset read from the blob is
// checked against the block it points into before it is used, so a corrupt DTB gives an
// error, never a wild read. All reads are byte-wise: the DTB need not be aligned and the MMU is
// off (no unaligned accesses allowed).

#include "fdt.h"

#include <lib/string.h>

#define FDT_MAGIC 0xd00dfeedu
#define FDT_HEADER_SIZE 40u
#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE 2u
#define FDT_PROP 3u
#define FDT_NOP 4u
#define FDT_END 9u

// Cell counts a node gets when it has no #address-cells / #size-cells property.
#define FDT_DEFAULT_ADDR_CELLS 2u
#define FDT_DEFAULT_SIZE_CELLS 1u

static uint32_t be32(const void *p) {
    const uint8_t *b = p;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint32_t align4(uint32_t n) {
    return (n + 3u) & ~3u;
}

uint64_t fdt_read_cells(const void *p, uint32_t cells) {
    const uint8_t *b = p;
    uint64_t value = 0;
    for (uint32_t i = 0; i < cells; i++) {
        value = value << 32 | be32(b + 4 * i);
    }
    return value;
}

int fdt_init(struct fdt *fdt, const void *blob, const char **why) {
    const uint8_t *b = blob;
    if (be32(b) != FDT_MAGIC) {
        *why = "bad magic";
        return -1;
    }
    uint32_t total = be32(b + 4);
    uint32_t off_struct = be32(b + 8);
    uint32_t off_strings = be32(b + 12);
    uint32_t off_rsvmap = be32(b + 16);
    uint32_t version = be32(b + 20);
    uint32_t size_strings = be32(b + 32);
    if (version < 16) {
        *why = "version older than 16";
        return -1;
    }
    // Version 17 added size_dt_struct; before that the block runs to the end of the blob.
    uint32_t size_struct = version >= 17 ? be32(b + 36) : total - off_struct;
    if (total < FDT_HEADER_SIZE || off_struct > total || size_struct > total - off_struct ||
        off_strings > total || size_strings > total - off_strings || off_rsvmap > total ||
        (off_struct & 3) != 0 || (off_rsvmap & 7) != 0) {
        *why = "blocks outside totalsize";
        return -1;
    }
    fdt->blob = b;
    fdt->size = total;
    fdt->structs = b + off_struct;
    fdt->structs_size = size_struct;
    fdt->strings = (const char *)b + off_strings;
    fdt->strings_size = size_strings;
    fdt->rsvmap = b + off_rsvmap;
    return 0;
}

int fdt_rsv(const struct fdt *fdt, uint32_t index, uint64_t *base, uint64_t *size) {
    uint64_t offset = (uint64_t)(fdt->rsvmap - fdt->blob) + 16u * index;
    if (offset + 16 > fdt->size) {
        return -1;
    }
    const uint8_t *entry = fdt->blob + offset;
    *base = fdt_read_cells(entry, 2);
    *size = fdt_read_cells(entry + 8, 2);
    return *base == 0 && *size == 0 ? -1 : 0;
}

// Token at structure-block offset `off`, or FDT_END if `off` is out of bounds.
static uint32_t token_at(const struct fdt *fdt, uint32_t off) {
    if (off > fdt->structs_size || fdt->structs_size - off < 4) {
        return FDT_END;
    }
    return be32(fdt->structs + off);
}

// Decodes the PROP token at `off`: its name, value and length, and the offset of the next
// token. Returns 0, or -1 if the property or its name lies outside its block.
static int prop_at(const struct fdt *fdt, uint32_t off, const char **name, const void **value,
                   uint32_t *len, uint32_t *next) {
    if (fdt->structs_size - off < 12) {
        return -1;
    }
    uint32_t length = be32(fdt->structs + off + 4);
    uint32_t nameoff = be32(fdt->structs + off + 8);
    if (length > fdt->structs_size - off - 12 || nameoff >= fdt->strings_size ||
        strnlen(fdt->strings + nameoff, fdt->strings_size - nameoff) ==
            fdt->strings_size - nameoff) {
        return -1;
    }
    *name = fdt->strings + nameoff;
    *value = fdt->structs + off + 12;
    *len = length;
    *next = align4(off + 12 + length);
    return 0;
}

const void *fdt_prop(const struct fdt_node *node, const char *name, uint32_t *len) {
    const struct fdt *fdt = node->fdt;
    uint32_t off = node->props;
    for (;;) {
        uint32_t token = token_at(fdt, off);
        if (token == FDT_NOP) {
            off += 4;
            continue;
        }
        if (token != FDT_PROP) {
            return NULL;
        }
        const char *prop_name;
        const void *value;
        uint32_t length;
        if (prop_at(fdt, off, &prop_name, &value, &length, &off) != 0) {
            return NULL;
        }
        if (strcmp(prop_name, name) == 0) {
            *len = length;
            return value;
        }
    }
}

// A one-cell property of `node`, or `fallback` if it is absent or not 4 bytes long.
static uint32_t prop_u32(const struct fdt_node *node, const char *name, uint32_t fallback) {
    uint32_t len;
    const void *value = fdt_prop(node, name, &len);
    return value != NULL && len == 4 ? be32(value) : fallback;
}

int fdt_is_compatible(const struct fdt_node *node, const char *compat) {
    uint32_t len;
    const char *list = fdt_prop(node, "compatible", &len);
    if (list == NULL) {
        return 0;
    }
    size_t want = strlen(compat);
    for (uint32_t pos = 0; pos < len;) {
        size_t have = strnlen(list + pos, len - pos);
        if (have == want && memcmp(list + pos, compat, want) == 0) {
            return 1;
        }
        pos += (uint32_t)have + 1;
    }
    return 0;
}

int fdt_name_is(const struct fdt_node *node, const char *base) {
    size_t n = strlen(base);
    return strncmp(node->name, base, n) == 0 && (node->name[n] == '\0' || node->name[n] == '@');
}

int fdt_reg(const struct fdt_node *node, uint32_t index, uint64_t *base, uint64_t *size) {
    uint32_t ac = node->addr_cells;
    uint32_t sc = node->size_cells;
    if (ac < 1 || ac > 2 || sc > 2) {
        return -1;
    }
    uint32_t len;
    const uint8_t *reg = fdt_prop(node, "reg", &len);
    uint32_t entry = 4 * (ac + sc);
    if (reg == NULL || index >= len / entry) {
        return -1;
    }
    *base = fdt_read_cells(reg + index * entry, ac);
    *size = fdt_read_cells(reg + index * entry + 4 * ac, sc);
    return 0;
}

int fdt_walk(const struct fdt *fdt, fdt_node_fn fn, void *ctx, const char **why) {
    // Cell counts each open node declares for its children, indexed by depth.
    uint32_t child_cells[FDT_MAX_DEPTH][2];
    uint32_t open = 0;  // number of nodes entered and not yet left
    uint32_t off = 0;
    for (;;) {
        uint32_t token = token_at(fdt, off);
        if (token == FDT_BEGIN_NODE) {
            const char *name = (const char *)fdt->structs + off + 4;
            uint32_t room = fdt->structs_size - off - 4;
            size_t name_len = strnlen(name, room);
            if (name_len == room) {
                *why = "node name runs past the structure block";
                return -1;
            }
            if (open == FDT_MAX_DEPTH) {
                *why = "nodes nested too deeply";
                return -1;
            }
            struct fdt_node node = {
                .fdt = fdt,
                .name = name,
                .props = align4(off + 4 + (uint32_t)name_len + 1),
                .depth = open,
                .addr_cells = open > 0 ? child_cells[open - 1][0] : FDT_DEFAULT_ADDR_CELLS,
                .size_cells = open > 0 ? child_cells[open - 1][1] : FDT_DEFAULT_SIZE_CELLS,
            };
            node.own_addr_cells = prop_u32(&node, "#address-cells", FDT_DEFAULT_ADDR_CELLS);
            node.own_size_cells = prop_u32(&node, "#size-cells", FDT_DEFAULT_SIZE_CELLS);
            child_cells[open][0] = node.own_addr_cells;
            child_cells[open][1] = node.own_size_cells;
            open++;
            int result = fn(&node, ctx);
            if (result != 0) {
                return result;
            }
            off = node.props;
        } else if (token == FDT_END_NODE) {
            if (open == 0) {
                *why = "unbalanced END_NODE";
                return -1;
            }
            open--;
            off += 4;
        } else if (token == FDT_PROP) {
            const char *name;
            const void *value;
            uint32_t len;
            if (prop_at(fdt, off, &name, &value, &len, &off) != 0) {
                *why = "property outside its block";
                return -1;
            }
        } else if (token == FDT_NOP) {
            off += 4;
        } else if (token == FDT_END) {
            if (open != 0) {
                *why = "structure block ends inside a node";
                return -1;
            }
            return 0;
        } else {
            *why = "bad structure token";
            return -1;
        }
    }
}
