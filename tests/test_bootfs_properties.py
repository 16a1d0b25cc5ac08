"""Hypothesis properties: BOOTFS round trips, determinism, and robustness to corruption."""

from __future__ import annotations

import random
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bootfs_tools import BootfsEntry, BootfsError, BootfsImage, build
from bootfs_tools.format import MAX_NAME_LEN, PAGE_SIZE
from bootfs_tools.image import name_order_key

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters on both sides of '/' (0x2f) so component order and byte order differ, plus
# multi-byte UTF-8.
components = st.text(alphabet="ab-.~ é日", min_size=1, max_size=6).filter(
    lambda c: c not in (".", "..")
)
names = (
    st.lists(components, min_size=1, max_size=4)
    .map("/".join)
    .filter(lambda n: len(n.encode()) < MAX_NAME_LEN)
)
# A small shared pool makes identical contents (and empty files) common.
contents = st.one_of(
    st.sampled_from([b"", b"x", b"y", b"\0" * 5000]), st.binary(max_size=2 * PAGE_SIZE + 3)
)


def without_conflicts(files: dict[str, bytes]) -> dict[str, bytes]:
    """Drop any name that another name uses as a directory."""
    dirs = {"/".join(name.split("/")[:i]) for name in files for i in range(1, name.count("/") + 1)}
    return {name: data for name, data in files.items() if name not in dirs}


file_maps = st.dictionaries(names, contents, max_size=12).map(without_conflicts)


@FAST
@given(file_maps)
def test_build_then_parse_gives_back_the_files(files: dict[str, bytes]) -> None:
    image = BootfsImage.parse(build(files))
    image.check()
    assert {name: bytes(data) for name, data in image.files()} == files
    assert [entry.name for entry in image] == sorted(files, key=name_order_key)
    assert image.size % PAGE_SIZE == 0


@FAST
@given(file_maps, st.randoms(use_true_random=False))
def test_build_is_deterministic_and_rebuilds_identically(
    files: dict[str, bytes], rng: random.Random
) -> None:
    items = list(files.items())
    rng.shuffle(items)
    blob = build(files)
    assert build(dict(items)) == blob
    image = BootfsImage.parse(blob)
    assert build({name: image.read(name) for name in files}) == blob


@FAST
@given(file_maps)
def test_identical_contents_share_data_and_distinct_ones_do_not(files: dict[str, bytes]) -> None:
    image = BootfsImage.parse(build(files))
    stored = {entry.data_off: image.read(entry) for entry in image if entry.data_len}
    assert len(stored) == len({data for data in files.values() if data})


entries = st.builds(
    BootfsEntry,
    name=names,
    data_off=st.integers(0, 2**32 - 1),
    data_len=st.integers(0, 2**32 - 1),
)


@FAST
@given(entries, st.binary(max_size=8), st.binary(max_size=8))
def test_entry_pack_and_unpack_are_inverse(entry: BootfsEntry, before: bytes, after: bytes) -> None:
    packed = entry.pack()
    assert len(packed) == entry.size
    assert len(packed) % 4 == 0
    unpacked = BootfsEntry.unpack(before + packed + after, len(before))
    assert unpacked == entry
    assert unpacked.pack() == packed


@FAST
@given(file_maps.filter(bool), st.data())
def test_any_corruption_parses_or_raises_a_bootfs_error(
    files: dict[str, bytes], data: st.DataObject
) -> None:
    blob = bytearray(build(files))
    dir_end = 16 + struct.unpack_from("<I", blob, 4)[0]
    # Aim at the header and directory, where every byte matters, and sometimes truncate.
    position = data.draw(st.integers(0, dir_end - 1), label="position")
    blob[position] = data.draw(st.integers(0, 255), label="value")
    cut = data.draw(st.integers(0, len(blob)), label="cut")
    try:
        image = BootfsImage.parse(blob[:cut])
    except BootfsError as err:
        error: BootfsError | None = err
    else:
        error = None
        for entry in image:
            assert len(image.view(entry)) == entry.data_len
    if error is not None:
        assert error.offset is not None
        assert "\n" not in str(error)
