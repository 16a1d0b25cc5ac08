// Just enough ACPI to power a PC off: find the RSDP, walk the XSDT (or RSDT) to the FADT,
// take the PM1 control and PM timer ports from it, and the S5 sleep types from the DSDT.
//
//   RSDP --> XSDT/RSDT --> "FACP" (FADT) --+--> PM1a/PM1b_CNT_BLK, PM_TMR_BLK (I/O ports)
//                                         +--> DSDT: AML  08 "_S5_" 12 <pkglen> <n> <typa> <typb>
//
//   RSDP --> XSDT/RSDT --> "APIC" (MADT) --> processor local APIC / x2APIC entries (CPU ids)
//
// Every table is checksummed before use. Tables are read in place, through pc_phys_ptr.
#include <platform/pc.h>

#include <stddef.h>

#include <lib/string.h>

struct acpi_rsdp {
    char signature[8];  // "RSD PTR "
    uint8_t checksum;   // over the first 20 bytes
    char oem_id[6];
    uint8_t revision;  // 0: ACPI 1.0 (RSDT only); >= 2: the fields below exist
    uint32_t rsdt_address;
    uint32_t length;
    uint64_t xsdt_address;
    uint8_t extended_checksum;  // over `length` bytes
    uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP is 36 bytes");
#define ACPI_RSDP_V1_LENGTH 20

struct acpi_sdt_header {
    char signature[4];
    uint32_t length;  // whole table, header included
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    uint32_t creator_id;
    uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_sdt_header) == 36, "SDT header is 36 bytes");

// Generic Address Structure (extended FADT fields).
struct acpi_gas {
    uint8_t space_id;  // ACPI_GAS_SYSTEM_IO for port I/O
    uint8_t bit_width;
    uint8_t bit_offset;
    uint8_t access_size;
    uint64_t address;
} __attribute__((packed));
#define ACPI_GAS_SYSTEM_IO 1

// The FADT fields used here, at their ACPI-spec offsets.
struct acpi_fadt {
    struct acpi_sdt_header hdr;
    uint32_t firmware_ctrl;
    uint32_t dsdt;
    uint8_t unused0[20];
    uint32_t pm1a_cnt_blk;
    uint32_t pm1b_cnt_blk;
    uint32_t pm2_cnt_blk;
    uint32_t pm_tmr_blk;
    uint8_t unused1[32];
    uint32_t flags;
    uint8_t unused2[24];
    uint64_t x_dsdt;
    uint8_t unused3[24];
    struct acpi_gas x_pm1a_cnt_blk;
    struct acpi_gas x_pm1b_cnt_blk;
    uint8_t unused4[12];
    struct acpi_gas x_pm_tmr_blk;
} __attribute__((packed));
_Static_assert(offsetof(struct acpi_fadt, dsdt) == 40, "FADT.DSDT at 40");
_Static_assert(offsetof(struct acpi_fadt, pm1a_cnt_blk) == 64, "FADT.PM1a_CNT_BLK at 64");
_Static_assert(offsetof(struct acpi_fadt, pm_tmr_blk) == 76, "FADT.PM_TMR_BLK at 76");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT.Flags at 112");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT.X_DSDT at 140");
_Static_assert(offsetof(struct acpi_fadt, x_pm1a_cnt_blk) == 172, "FADT.X_PM1a_CNT_BLK at 172");
_Static_assert(offsetof(struct acpi_fadt, x_pm_tmr_blk) == 208, "FADT.X_PM_TMR_BLK at 208");
#define ACPI_FADT_TMR_VAL_EXT (1u << 8)

// AML opcodes met on the way to the \_S5_ package.
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_PACKAGE_OP 0x12
#define AML_ROOT_CHAR 0x5c

static bool acpi_checksum_ok(const void *p, size_t len) {
    const uint8_t *b = p;
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++) {
        sum += b[i];
    }
    return sum == 0;
}

// Identity, as in the boot programs (phys/x86_64), which run on a 1:1 map; the kernel
// overrides it with its physmap (platform/pc/platform.c).
__attribute__((weak)) const void *pc_phys_ptr(uint64_t paddr) {
    return (const void *)(uintptr_t)paddr;
}

static bool acpi_rsdp_valid(const struct acpi_rsdp *r) {
    if (memcmp(r->signature, "RSD PTR ", sizeof(r->signature)) != 0 ||
        !acpi_checksum_ok(r, ACPI_RSDP_V1_LENGTH)) {
        return false;
    }
    return r->revision < 2 || (r->length >= sizeof(*r) && acpi_checksum_ok(r, sizeof(*r)));
}

// Scans [start, end) on 16-byte boundaries for a valid RSDP; returns its address or 0.
static uint64_t acpi_scan_rsdp(uintptr_t start, uintptr_t end) {
    for (uintptr_t p = start; p + sizeof(struct acpi_rsdp) <= end; p += 16) {
        if (acpi_rsdp_valid(pc_phys_ptr(p))) {
            return p;
        }
    }
    return 0;
}

#define BDA_EBDA_SEGMENT 0x40e  // BIOS data area: real-mode segment of the EBDA
#define EBDA_SCAN_BYTES 1024
#define BIOS_AREA_START 0xe0000
#define BIOS_AREA_END 0x100000

uint64_t pc_acpi_find_rsdp(uint64_t hint) {
    if (hint != 0 && acpi_rsdp_valid(pc_phys_ptr(hint))) {
        return hint;
    }
    uintptr_t ebda = (uintptr_t)*(const volatile uint16_t *)pc_phys_ptr(BDA_EBDA_SEGMENT) << 4;
    uint64_t found = ebda != 0 ? acpi_scan_rsdp(ebda, ebda + EBDA_SCAN_BYTES) : 0;
    return found != 0 ? found : acpi_scan_rsdp(BIOS_AREA_START, BIOS_AREA_END);
}

// Returns the table at `paddr` if it has a plausible length and a good checksum, else NULL.
static const struct acpi_sdt_header *acpi_table(uint64_t paddr) {
    const struct acpi_sdt_header *t = pc_phys_ptr(paddr);
    if (paddr == 0 || t->length < sizeof(*t) || !acpi_checksum_ok(t, t->length)) {
        return NULL;
    }
    return t;
}

// Finds the table with `signature` listed in the XSDT (revision >= 2) or the RSDT.
static const struct acpi_sdt_header *acpi_find_table(const struct acpi_rsdp *rsdp,
                                                     const char signature[4]) {
    bool xsdt = rsdp->revision >= 2 && rsdp->xsdt_address != 0;
    const struct acpi_sdt_header *root = acpi_table(xsdt ? rsdp->xsdt_address : rsdp->rsdt_address);
    if (root == NULL || memcmp(root->signature, xsdt ? "XSDT" : "RSDT", 4) != 0) {
        return NULL;
    }
    size_t entry_size = xsdt ? sizeof(uint64_t) : sizeof(uint32_t);
    size_t count = (root->length - sizeof(*root)) / entry_size;
    const uint8_t *entries = (const uint8_t *)(root + 1);
    for (size_t i = 0; i < count; i++) {
        uint64_t paddr = 0;
        memcpy(&paddr, entries + i * entry_size, entry_size);
        const struct acpi_sdt_header *t = acpi_table(paddr);
        if (t != NULL && memcmp(t->signature, signature, 4) == 0) {
            return t;
        }
    }
    return NULL;
}

// Decodes one AML integer (ZeroOp, OneOp, Byte/Word/DWordPrefix) at *p, advancing *p.
// Returns -1 if the bytes at *p (before `end`) are not one of those.
static int64_t aml_integer(const uint8_t **p, const uint8_t *end) {
    const uint8_t *b = *p;
    if (b >= end) {
        return -1;
    }
    size_t size;
    switch (b[0]) {
    case AML_ZERO_OP:
        *p = b + 1;
        return 0;
    case AML_ONE_OP:
        *p = b + 1;
        return 1;
    case AML_BYTE_PREFIX:
        size = 1;
        break;
    case AML_WORD_PREFIX:
        size = 2;
        break;
    case AML_DWORD_PREFIX:
        size = 4;
        break;
    default:
        return -1;
    }
    if ((size_t)(end - b) < 1 + size) {
        return -1;
    }
    uint32_t value = 0;
    memcpy(&value, b + 1, size);
    *p = b + 1 + size;
    return value;
}

// Finds `Name(_S5_, Package() {typa, typb, ...})` in the DSDT's AML and returns the two
// sleep types. Returns -1 if there is no such package.
static int acpi_s5_sleep_types(const struct acpi_sdt_header *dsdt, uint16_t *typa, uint16_t *typb) {
    const uint8_t *aml = (const uint8_t *)(dsdt + 1);
    const uint8_t *end = (const uint8_t *)dsdt + dsdt->length;
    for (const uint8_t *p = aml + 1; p + 4 < end; p++) {
        if (memcmp(p, "_S5_", 4) != 0) {
            continue;
        }
        bool named = p[-1] == AML_NAME_OP ||
                     (p[-1] == AML_ROOT_CHAR && p - 2 >= aml && p[-2] == AML_NAME_OP);
        const uint8_t *q = p + 4;
        if (!named || *q++ != AML_PACKAGE_OP || q >= end) {
            continue;
        }
        q += 1 + (*q >> 6);  // PkgLength: bits 7-6 of its lead byte count the bytes after it
        q += 1;              // NumElements
        int64_t a = aml_integer(&q, end);
        int64_t b = aml_integer(&q, end);
        if (a < 0 || b < 0) {
            return -1;
        }
        *typa = (uint16_t)a;
        *typb = (uint16_t)b;
        return 0;
    }
    return -1;
}

// Returns the I/O port of a FADT register: the legacy 32-bit field `legacy` if set, else the
// extended field at offset `x_offset` when the table has it and it is in I/O space, else 0.
static uint16_t acpi_fadt_port(const struct acpi_fadt *f, uint32_t legacy, size_t x_offset) {
    if (legacy != 0) {
        return (uint16_t)legacy;
    }
    struct acpi_gas gas;
    if (x_offset + sizeof(gas) > f->hdr.length) {
        return 0;
    }
    memcpy(&gas, (const uint8_t *)f + x_offset, sizeof(gas));
    return gas.space_id == ACPI_GAS_SYSTEM_IO ? (uint16_t)gas.address : 0;
}

int pc_acpi_power_info(uint64_t rsdp_paddr, struct pc_acpi_power *out, const char **why) {
    memset(out, 0, sizeof(*out));
    rsdp_paddr = pc_acpi_find_rsdp(rsdp_paddr);
    if (rsdp_paddr == 0) {
        *why = "no ACPI RSDP";
        return -1;
    }
    const struct acpi_rsdp *rsdp = pc_phys_ptr(rsdp_paddr);
    const struct acpi_fadt *fadt = (const struct acpi_fadt *)acpi_find_table(rsdp, "FACP");
    if (fadt == NULL || fadt->hdr.length < offsetof(struct acpi_fadt, unused1)) {
        *why = "no usable FADT";
        return -1;
    }
    out->pm1a_cnt =
        acpi_fadt_port(fadt, fadt->pm1a_cnt_blk, offsetof(struct acpi_fadt, x_pm1a_cnt_blk));
    out->pm1b_cnt =
        acpi_fadt_port(fadt, fadt->pm1b_cnt_blk, offsetof(struct acpi_fadt, x_pm1b_cnt_blk));
    out->pm_tmr = acpi_fadt_port(fadt, fadt->pm_tmr_blk, offsetof(struct acpi_fadt, x_pm_tmr_blk));
    out->pm_tmr_32bit = fadt->hdr.length >= offsetof(struct acpi_fadt, unused2) &&
                        (fadt->flags & ACPI_FADT_TMR_VAL_EXT);
    if (out->pm1a_cnt == 0) {
        *why = "FADT has no PM1a control block";
        return -1;
    }
    bool x_dsdt = fadt->hdr.length >= offsetof(struct acpi_fadt, x_dsdt) + sizeof(uint64_t) &&
                  fadt->x_dsdt != 0;
    const struct acpi_sdt_header *dsdt = acpi_table(x_dsdt ? fadt->x_dsdt : fadt->dsdt);
    if (dsdt == NULL || memcmp(dsdt->signature, "DSDT", 4) != 0) {
        *why = "no usable DSDT";
        return -1;
    }
    if (acpi_s5_sleep_types(dsdt, &out->slp_typa, &out->slp_typb) != 0) {
        *why = "DSDT has no \\_S5_ package";
        return -1;
    }
    return 0;
}

// MADT interrupt-controller structures: type, length, then the type's fields.
#define MADT_HEADER_SIZE 44  // the SDT header, local APIC address, flags
#define MADT_LOCAL_APIC 0
#define MADT_LOCAL_X2APIC 9
#define MADT_CPU_ENABLED (1u << 0)
#define MADT_CPU_ONLINE_CAPABLE (1u << 1)

uint32_t pc_acpi_cpu_apic_ids(uint64_t rsdp_paddr, uint32_t ids[], uint32_t max) {
    rsdp_paddr = pc_acpi_find_rsdp(rsdp_paddr);
    if (rsdp_paddr == 0) {
        return 0;
    }
    const struct acpi_sdt_header *madt = acpi_find_table(pc_phys_ptr(rsdp_paddr), "APIC");
    if (madt == NULL || madt->length < MADT_HEADER_SIZE) {
        return 0;
    }
    const uint8_t *p = (const uint8_t *)madt + MADT_HEADER_SIZE;
    const uint8_t *end = (const uint8_t *)madt + madt->length;
    uint32_t n = 0;
    while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end && n < max) {
        uint32_t id = 0, flags = 0;
        bool cpu = false;
        if (p[0] == MADT_LOCAL_APIC && p[1] >= 8) {
            id = p[3];
            memcpy(&flags, p + 4, sizeof(flags));
            cpu = true;
        } else if (p[0] == MADT_LOCAL_X2APIC && p[1] >= 16) {
            memcpy(&id, p + 4, sizeof(id));
            memcpy(&flags, p + 8, sizeof(flags));
            cpu = true;
        }
        if (cpu && (flags & (MADT_CPU_ENABLED | MADT_CPU_ONLINE_CAPABLE)) != 0) {
            ids[n++] = id;
        }
        p += p[1];
    }
    return n;
}
