// ELF64 header checks and the load plan: see elf.h.
#include <zhb/elf.h>

#define EHDR_SIZE 64u
#define PHDR_SIZE 56u
#define PT_LOAD 1u
#define PT_INTERP 3u
#define PT_GNU_STACK 0x6474e551u

static uint16_t rd16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p) {
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint64_t page_down(uint64_t v) {
    return v & ~(uint64_t)(ELF_PAGE_SIZE - 1);
}

static int check_ident(const uint8_t *p, size_t size) {
    if (size < 4 || p[0] != 0x7f || p[1] != 'E' || p[2] != 'L' || p[3] != 'F') {
        return ELF_ERR_IDENT;
    }
    if (size < EHDR_SIZE) {
        return ELF_ERR_TRUNCATED;
    }
    // ELFCLASS64, ELFDATA2LSB, EV_CURRENT
    if (p[4] != 2 || p[5] != 1 || p[6] != 1 || rd32(p + 20) != 1) {
        return ELF_ERR_IDENT;
    }
    return ELF_OK;
}

// One PT_LOAD, checked and appended to info->segs.
static int add_segment(struct elf_info *info, const uint8_t *ph, uint64_t size) {
    struct elf_segment seg = {
        .flags = rd32(ph + 4),
        .offset = rd64(ph + 8),
        .vaddr = rd64(ph + 16),
        .filesz = rd64(ph + 32),
        .memsz = rd64(ph + 40),
    };
    if (seg.memsz == 0) {
        return ELF_OK;  // nothing to map
    }
    if ((seg.flags & ELF_PF_W) && (seg.flags & ELF_PF_X)) {
        return ELF_ERR_WX;
    }
    if (seg.filesz > seg.memsz || seg.offset > size || seg.filesz > size - seg.offset ||
        seg.vaddr % ELF_PAGE_SIZE != seg.offset % ELF_PAGE_SIZE ||
        seg.vaddr + seg.memsz < seg.vaddr || seg.vaddr + seg.memsz > UINT64_MAX - ELF_PAGE_SIZE) {
        return ELF_ERR_SEGMENT;
    }
    uint64_t start = page_down(seg.vaddr);
    uint64_t end = page_down(seg.vaddr + seg.memsz + ELF_PAGE_SIZE - 1);
    if (info->nsegs == ELF_MAX_SEGMENTS) {
        return ELF_ERR_TOO_MANY;
    }
    if (info->nsegs > 0 && start < info->hi) {
        return ELF_ERR_SEGMENT;  // out of order or overlapping
    }
    if (info->nsegs == 0) {
        info->lo = start;
    }
    info->hi = end;
    info->segs[info->nsegs++] = seg;
    return ELF_OK;
}

// The PT_INTERP at `ph`: a name inside the file, not empty, ending in its only NUL.
static int set_interp(struct elf_info *info, const uint8_t *p, const uint8_t *ph, uint64_t size,
                      size_t head_len) {
    uint64_t offset = rd64(ph + 8);
    uint64_t filesz = rd64(ph + 32);
    if (info->interp_size != 0 || filesz < 2 || offset > size || filesz > size - offset) {
        return ELF_ERR_INTERP;
    }
    if (offset > head_len || filesz > head_len - offset) {
        return ELF_ERR_HEAD;
    }
    if (p[offset + filesz - 1] != '\0') {
        return ELF_ERR_INTERP;
    }
    for (uint64_t i = 0; i + 1 < filesz; i++) {
        if (p[offset + i] == '\0') {
            return ELF_ERR_INTERP;
        }
    }
    info->interp_offset = offset;
    info->interp_size = filesz - 1;
    return ELF_OK;
}

int elf_parse(const void *image, size_t size, uint16_t machine, struct elf_info *info) {
    return elf_parse_head(image, size, size, machine, info);
}

int elf_parse_head(const void *head, size_t head_len, uint64_t size, uint16_t machine,
                   struct elf_info *info) {
    const uint8_t *p = head;
    if (head_len < EHDR_SIZE && size > head_len) {
        return ELF_ERR_HEAD;
    }
    int status = check_ident(p, head_len);
    if (status != ELF_OK) {
        return status;
    }
    *info = (struct elf_info){.type = rd16(p + 16), .machine = rd16(p + 18)};
    if (info->type != ELF_ET_EXEC && info->type != ELF_ET_DYN) {
        return ELF_ERR_TYPE;
    }
    if (info->machine != machine) {
        return ELF_ERR_MACHINE;
    }
    info->entry = rd64(p + 24);
    uint64_t phoff = rd64(p + 32);
    uint16_t phentsize = rd16(p + 54);
    uint16_t phnum = rd16(p + 56);
    if (phentsize != PHDR_SIZE || phnum == 0 || phoff > size ||
        (uint64_t)phnum * PHDR_SIZE > size - phoff) {
        return ELF_ERR_PHDRS;
    }
    if (phoff > head_len || (uint64_t)phnum * PHDR_SIZE > head_len - phoff) {
        return ELF_ERR_HEAD;
    }
    for (uint16_t i = 0; i < phnum; i++) {
        const uint8_t *ph = p + phoff + (size_t)i * PHDR_SIZE;
        uint32_t type = rd32(ph);
        if (type == PT_INTERP) {
            if ((status = set_interp(info, p, ph, size, head_len)) != ELF_OK) {
                return status;
            }
        } else if (type == PT_GNU_STACK) {
            if (rd32(ph + 4) & ELF_PF_X) {
                return ELF_ERR_STACK;
            }
            info->stack_size = rd64(ph + 40);
        } else if (type == PT_LOAD && (status = add_segment(info, ph, size)) != ELF_OK) {
            return status;
        }
    }
    if (info->nsegs == 0) {
        return ELF_ERR_NO_SEGMENTS;
    }
    if (info->type == ELF_ET_DYN && info->entry == 0) {
        return ELF_OK;  // a library (the vDSO): no entry point
    }
    for (uint32_t i = 0; i < info->nsegs; i++) {
        const struct elf_segment *seg = &info->segs[i];
        if ((seg->flags & ELF_PF_X) && info->entry >= seg->vaddr &&
            info->entry - seg->vaddr < seg->memsz) {
            return ELF_OK;
        }
    }
    return ELF_ERR_ENTRY;
}

const char *elf_strerror(int status) {
    switch (status) {
    case ELF_OK:
        return "ok";
    case ELF_ERR_TRUNCATED:
        return "truncated ELF file";
    case ELF_ERR_IDENT:
        return "not a 64-bit little-endian ELF file";
    case ELF_ERR_TYPE:
        return "ELF file is not an executable";
    case ELF_ERR_MACHINE:
        return "ELF file is for another architecture";
    case ELF_ERR_PHDRS:
        return "bad ELF program headers";
    case ELF_ERR_INTERP:
        return "bad PT_INTERP: not one NUL-terminated name inside the file";
    case ELF_ERR_SEGMENT:
        return "bad ELF segment";
    case ELF_ERR_TOO_MANY:
        return "too many ELF segments";
    case ELF_ERR_NO_SEGMENTS:
        return "ELF file has no loadable segment";
    case ELF_ERR_WX:
        return "ELF segment is both writable and executable";
    case ELF_ERR_STACK:
        return "ELF file asks for an executable stack";
    case ELF_ERR_ENTRY:
        return "ELF entry point is not in executable code";
    case ELF_ERR_HEAD:
        return "ELF headers past the bytes read";
    default:
        return "unknown ELF error";
    }
}
