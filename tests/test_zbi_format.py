"""zbi_tools.format: constants, the header record and the one item-type table.

Values are checked against Fuchsia's zbi.h as quoted in docs/zircon-reference.md, written out
here as literals so that a typo in the library cannot agree with itself.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zbi_tools import ZbiUsageError
from zbi_tools import format as fmt

U32 = st.integers(min_value=0, max_value=0xFFFFFFFF)


def test_header_layout_is_eight_little_endian_u32() -> None:
    assert fmt.HEADER_SIZE == 32
    assert fmt.HEADER.format == "<8I"
    assert fmt.KERNEL_HEADER.size == 16


def test_magic_and_flag_values_match_zbi_h() -> None:
    assert fmt.CONTAINER_MAGIC == 0x868CF7E6
    assert fmt.ITEM_MAGIC == 0xB5781729
    assert fmt.ITEM_NO_CRC32 == 0x4A87E8D6
    assert fmt.FLAGS_VERSION == 0x00010000
    assert fmt.FLAGS_CRC32 == 0x00020000
    assert fmt.FLAGS_STORAGE_COMPRESSED == 0x00000001
    assert fmt.LZ4_FRAME_MAGIC == 0x184D2204
    assert fmt.ZSTD_FRAME_MAGIC == 0xFD2FB528


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONTAINER", 0x544F4F42), ("KERNEL_X64", 0x4C4E524B), ("KERNEL_ARM64", 0x384E524B),
        ("KERNEL_RISCV64", 0x564E524B), ("DISCARD", 0x50494B53), ("RAMDISK", 0x4B534452),
        ("BOOTFS", 0x42534642), ("KERNEL", 0x5254534B), ("BOOTFS_FACTORY", 0x46534642),
        ("CMDLINE", 0x4C444D43), ("CRASHLOG", 0x4D4F4F42), ("NVRAM", 0x4C4C564E),
        ("PLATFORM_ID", 0x44494C50), ("DRV_BOARD_INFO", 0x4953426D), ("CPU_CONFIG", 0x43555043),
        ("CPU_TOPOLOGY", 0x544F504F), ("MEM_CONFIG", 0x434D454D), ("KERNEL_DRIVER", 0x5652444B),
        ("ACPI_RSDP", 0x50445352), ("SMBIOS", 0x49424D53), ("EFI_SYSTEM_TABLE", 0x53494645),
        ("EFI_MEMORY_ATTRIBUTES_TABLE", 0x54414D45), ("FRAMEBUFFER", 0x42465753),
        ("IMAGE_ARGS", 0x47524149), ("BOOT_VERSION", 0x53525642),
        ("DRV_MAC_ADDRESS", 0x43414D6D), ("DRV_PARTITION_MAP", 0x5452506D),
        ("DRV_BOARD_PRIVATE", 0x524F426D), ("HW_REBOOT_REASON", 0x42525748),
        ("SERIAL_NUMBER", 0x4E4C5253), ("BOOTLOADER_FILE", 0x4C465442),
        ("DEVICETREE", 0xD00DFEED), ("ENTROPY", 0x444E4152), ("DEBUGDATA", 0x44474244),
    ],
)
def test_type_table_values_match_zbi_h(name: str, value: int) -> None:
    assert fmt.parse_type(name) == value
    assert fmt.type_name(value) == name


def test_type_table_fourcc_is_the_little_endian_value() -> None:
    for row in fmt.ITEM_TYPES:
        raw = struct.pack("<I", row.value)
        if row.fourcc is None:
            assert not raw.isascii(), row.name
        else:
            assert raw.decode("ascii") == row.fourcc, row.name


def test_type_table_names_and_values_are_unique() -> None:
    names = [row.name for row in fmt.ITEM_TYPES] + [row.alias for row in fmt.ITEM_TYPES
                                                    if row.alias]
    assert len(set(names)) == len(names)
    assert len({row.value for row in fmt.ITEM_TYPES}) == len(fmt.ITEM_TYPES)


def test_storage_types_are_ramdisk_bootfs_and_kernel_only() -> None:
    storage = {row.value for row in fmt.ITEM_TYPES if row.storage}
    assert storage == {fmt.TYPE_STORAGE_RAMDISK, fmt.TYPE_STORAGE_BOOTFS,
                       fmt.TYPE_STORAGE_KERNEL}
    # zbitl does not treat the factory BOOTFS as storage despite its name.
    assert not fmt.is_storage(fmt.TYPE_STORAGE_BOOTFS_FACTORY)
    assert not fmt.is_storage(0x12345678)


def test_text_types_extract_as_txt() -> None:
    text = {row.name for row in fmt.ITEM_TYPES if row.extension == ".txt"}
    assert text == {"CMDLINE", "IMAGE_ARGS", "SERIAL_NUMBER"}
    devicetree = fmt.lookup_type(fmt.TYPE_DEVICETREE)
    assert devicetree is not None and devicetree.extension == ".dtb"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("cmdline", fmt.TYPE_CMDLINE), ("Kernel_X64", fmt.TYPE_KERNEL_X64),
        ("storage_bootfs", fmt.TYPE_STORAGE_BOOTFS), ("SECURE_ENTROPY", fmt.TYPE_SECURE_ENTROPY),
        ("0x4c444d43", fmt.TYPE_CMDLINE), ("1279544643", fmt.TYPE_CMDLINE),
        ("d00dfeed", fmt.TYPE_DEVICETREE), ("0xffffffff", 0xFFFFFFFF),
    ],
)
def test_parse_type_accepts_names_aliases_and_numbers(text: str, value: int) -> None:
    assert fmt.parse_type(text) == value


@pytest.mark.parametrize("text", ["", "bogus", "0x100000000", "-1", "KERNEL_"])
def test_parse_type_rejects_everything_else(text: str) -> None:
    with pytest.raises(ZbiUsageError) as info:
        fmt.parse_type(text)
    assert info.value.field == "type"
    assert info.value.actual == text


def test_unknown_type_name_is_eight_hex_digits() -> None:
    assert fmt.type_name(0x1234) == "00001234"
    assert fmt.lookup_type(0x1234) is None


def test_kernel_types_match_prefix_and_mask() -> None:
    for arch, value in fmt.KERNEL_TYPES.items():
        assert fmt.kernel_type(arch) == value
        assert fmt.is_kernel(value)
    assert fmt.is_kernel(0xFF4E524B)  # any fourth byte: the mask ignores it
    assert not fmt.is_kernel(fmt.TYPE_STORAGE_KERNEL)
    assert not fmt.is_kernel(fmt.TYPE_CONTAINER)


def test_kernel_type_rejects_unknown_arch() -> None:
    with pytest.raises(ZbiUsageError) as info:
        fmt.kernel_type("mips")
    assert info.value.field == "arch"
    assert info.value.actual == "mips"


@given(st.integers(min_value=0, max_value=1 << 33))
def test_align_rounds_up_to_eight(n: int) -> None:
    aligned = fmt.align(n)
    assert aligned % 8 == 0
    assert n <= aligned < n + 8


@given(st.tuples(U32, U32, U32, U32, U32, U32, U32, U32))
def test_header_unpack_and_pack_are_inverses(fields: tuple[int, ...]) -> None:
    raw = struct.pack("<8I", *fields)
    header = fmt.ZbiHeader.unpack(b"\xaa" * 8 + raw, 8)
    assert (header.type, header.length, header.extra, header.flags, header.reserved0,
            header.reserved1, header.magic, header.crc32) == fields
    assert header.pack() == raw


def test_canonical_container_header_bytes() -> None:
    assert fmt.container_header(0x40).pack() == struct.pack(
        "<8I", 0x544F4F42, 0x40, 0x868CF7E6, 0x00010000, 0, 0, 0xB5781729, 0x4A87E8D6)
