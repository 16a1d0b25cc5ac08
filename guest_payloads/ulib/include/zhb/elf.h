// ELF64 header parsing for the process builder (ulib/process_builder/elf.c): checks an
// executable (or an ET_DYN such as the vDSO) and describes its loadable segments and its
// PT_INTERP. Pure (no syscalls, no writable static data): tests/test_userabi.py compiles it
// on the host.
//
// Accepted: ELFCLASS64, little-endian, EV_CURRENT, ET_EXEC or ET_DYN, the expected e_machine,
// program headers inside the file; at most one PT_INTERP, whose name lies inside the file,
// is not empty and ends in its only NUL; 1..ELF_MAX_SEGMENTS PT_LOAD segments in
// ascending, non-overlapping page ranges, each with filesz <= memsz, file data inside the
// file, vaddr and offset congruent modulo the page size, and never both writable and
// executable; the entry point inside an executable segment (an ET_DYN library such as the
// vDSO may have none: 0). PT_GNU_STACK gives the stack size (its p_memsz, 0 meaning the
// loader's default) and must not ask for an executable stack.
#pragma once

#include <stddef.h>
#include <stdint.h>

#define ELF_PAGE_SIZE 4096u
#define ELF_MAX_SEGMENTS 8u

#define ELF_EM_X86_64 62u
#define ELF_EM_AARCH64 183u
#define ELF_ET_EXEC 2u
#define ELF_ET_DYN 3u
#define ELF_PF_X 1u
#define ELF_PF_W 2u
#define ELF_PF_R 4u

enum elf_status {
    ELF_OK = 0,
    ELF_ERR_TRUNCATED,    // file shorter than its headers
    ELF_ERR_IDENT,        // not a 64-bit little-endian ELF file, version 1
    ELF_ERR_TYPE,         // neither ET_EXEC nor ET_DYN
    ELF_ERR_MACHINE,      // another architecture
    ELF_ERR_PHDRS,        // bad e_phentsize / e_phnum / e_phoff
    ELF_ERR_INTERP,       // a bad PT_INTERP (outside the file, not one NUL-terminated name)
    ELF_ERR_SEGMENT,      // a PT_LOAD fails the rules above
    ELF_ERR_TOO_MANY,     // more than ELF_MAX_SEGMENTS PT_LOADs
    ELF_ERR_NO_SEGMENTS,  // no PT_LOAD
    ELF_ERR_WX,           // a segment both writable and executable
    ELF_ERR_STACK,        // PT_GNU_STACK asks for an executable stack
    ELF_ERR_ENTRY,        // entry point outside every executable segment
    ELF_ERR_HEAD,         // elf_parse_head: the headers or PT_INTERP's name lie past `head`
};

struct elf_segment {
    uint64_t vaddr;  // p_vaddr
    uint64_t memsz;
    uint64_t offset;  // p_offset
    uint64_t filesz;
    uint32_t flags;  // ELF_PF_*
};

struct elf_info {
    uint16_t type;  // ELF_ET_EXEC or ELF_ET_DYN
    uint16_t machine;
    uint64_t entry;
    uint64_t stack_size;  // PT_GNU_STACK p_memsz, 0 if none given
    uint64_t lo, hi;      // page-rounded span of all segments: [lo, hi)
    uint64_t interp_offset;  // PT_INTERP: the file offset of the interpreter's name
    uint64_t interp_size;    // its length without the NUL; 0: no PT_INTERP (a static program)
    uint32_t nsegs;
    struct elf_segment segs[ELF_MAX_SEGMENTS];
};

// Parses the ELF file image[0..size) built for `machine` into *info.
int elf_parse(const void *image, size_t size, uint16_t machine, struct elf_info *info);

// The same checks for a file of `size` bytes of which only the first head_len are at hand
// (`head`): ELF_ERR_HEAD if the ELF header, the program headers or PT_INTERP's name lie
// past them (the caller then parses the whole file); otherwise what elf_parse would return.
int elf_parse_head(const void *head, size_t head_len, uint64_t size, uint16_t machine,
                   struct elf_info *info);

const char *elf_strerror(int status);
