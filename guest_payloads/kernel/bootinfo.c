// Decoding the data ZBI the boot shim handed over into struct boot_info (kernel/bootinfo.h).
//
// Items used: CMDLINE (joined by spaces, in order), MEM_CONFIG (all ranges of all such
// items), KERNEL_DRIVER (recorded in place, looked up by platform code). Others are ignored.
#include <kernel/bootinfo.h>
#include <kernel/bootinfo_parse.h>
#include <kernel/physmap.h>

#include <lib/string.h>
#include <lib/zbiutil.h>

const struct boot_driver *boot_find_driver(const struct boot_info *bi, uint32_t kind) {
    for (size_t i = 0; i < bi->driver_count; i++) {
        if (bi->drivers[i].kind == kind) {
            return &bi->drivers[i];
        }
    }
    return NULL;
}

struct parse_state {
    struct boot_info *bi;
    size_t cmdline_len;  // bytes used in bi->cmdline, excluding the NUL
    const char *why;     // set when an item cannot be recorded
};

// Appends one CMDLINE payload (up to its first NUL) to the joined command line, with a space
// separator; text past BOOT_CMDLINE_MAX - 1 bytes is dropped and counted in cmdline_dropped
// (kernel_main warns about it once the console is up).
static void bootinfo_add_cmdline(struct parse_state *st, const char *text, uint32_t length) {
    size_t n = strnlen(text, length);
    if (n == 0) {
        return;
    }
    char *out = st->bi->cmdline;
    size_t room = BOOT_CMDLINE_MAX - 1 - st->cmdline_len;
    if (st->cmdline_len > 0) {
        if (room == 0) {
            st->bi->cmdline_dropped += 1 + n;  // the separator and the whole payload
            return;
        }
        out[st->cmdline_len++] = ' ';
        room--;
    }
    if (n > room) {
        st->bi->cmdline_dropped += n - room;
        n = room;
    }
    memcpy(out + st->cmdline_len, text, n);
    st->cmdline_len += n;
    out[st->cmdline_len] = '\0';
}

// zbi_item_fn: records one item; returns -1 (stopping the walk) if it does not fit.
static int bootinfo_add_item(const zbi_header_t *hdr, const void *payload, void *ctx) {
    struct parse_state *st = ctx;
    struct boot_info *bi = st->bi;
    switch (hdr->type) {
    case ZBI_TYPE_CMDLINE:
        bootinfo_add_cmdline(st, payload, hdr->length);
        break;
    case ZBI_TYPE_MEM_CONFIG: {
        const zbi_mem_range_t *ranges = payload;
        size_t n = hdr->length / sizeof(zbi_mem_range_t);
        if (n > BOOT_MAX_MEM_RANGES - bi->mem_count) {
            st->why = "more memory ranges than BOOT_MAX_MEM_RANGES";
            return -1;
        }
        memcpy(&bi->mem[bi->mem_count], ranges, n * sizeof(zbi_mem_range_t));
        bi->mem_count += n;
        break;
    }
    case ZBI_TYPE_KERNEL_DRIVER:
        if (bi->driver_count == BOOT_MAX_DRIVERS) {
            st->why = "more KERNEL_DRIVER items than BOOT_MAX_DRIVERS";
            return -1;
        }
        bi->drivers[bi->driver_count++] = (struct boot_driver){
            .kind = hdr->extra,
            .config = payload,
            .length = hdr->length,
        };
        break;
    default:
        break;
    }
    return 0;
}

int bootinfo_parse(struct boot_info *bi, uintptr_t zbi_paddr, const char **why) {
    memset(bi, 0, sizeof(*bi));
    bi->zbi_paddr = zbi_paddr;
    const void *zbi = paddr_to_physmap(zbi_paddr);
    // The container's own length bounds the image: the boot protocol gives no other size.
    if (zbi_check(zbi, zbi_size(zbi), 0, why) != 0) {
        return -1;
    }
    struct parse_state st = {.bi = bi};
    if (zbi_for_each(zbi, bootinfo_add_item, &st) != 0) {
        *why = st.why;
        return -1;
    }
    return 0;
}
