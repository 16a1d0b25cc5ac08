"""The ``zbi`` command: build, list, extract and check ZBIs (switches of Fuchsia's zbi tool).

Shape: ``zbi [OPTIONS] INPUT...``.  Input-control switches apply to the inputs after them,
in command-line order, so the command line is read in order (see _normalize) before
argparse sees it.  Inputs become one list of items:

* a file starting with a valid container header is a ZBI: its items are spliced in;
* any other file is a BOOTFS manifest (``target=source`` lines), ``-e TARGET=SOURCE`` adds
  one manifest line;
* after ``-T TYPE`` files (and ``-e TEXT``) become raw items of TYPE instead (CMDLINE
  payloads get a NUL appended, storage items are compressed per ``-c``/``-u``), until
  ``-F`` switches back; ``-T container`` accepts only ZBI files;
* a directory is always added to BOOTFS whole (Fuchsia's tool refuses one after ``-T``;
  accepting it lets ``zbi -o x.zbi -T KERNEL_X64 k.bin -T CMDLINE -e ... dir/`` work).

All BOOTFS files from manifests, directories and entries go into ONE BOOTFS item, placed
where the first BOOTFS content appeared; if there are any, existing BOOTFS items (from input
ZBIs or ``-T bootfs``) are merged into it too (a name given twice is an error).  That item
is compressed as the last ``-c``/``-u`` on the command line says (LZ4 by default).

With ``-o`` the result is written atomically (temp file + rename, so ``zbi -o a.zbi a.zbi
...`` updates in place) after merging every CMDLINE item into one; with ``--complete=ARCH``
the kernel item is moved first and the result must be bootable for ARCH.  Without ``-o``:
``-t`` lists, ``-x``/``-X``/``-R`` extract, ``--json-output`` describes (also with ``-o``).
``--check`` checks each input ZBI on its own and prints ``FILE: ok``.

``-x`` with several BOOTFS items (input ZBIs spliced together) refuses a file name that two
items hold, naming the items, unless ``--duplicates=first`` or ``--duplicates=last`` says
which item's file wins.  Extraction creates every file anew (never writing through a file
or hard link already in the output directory) and hard-links entries that share data.

Errors print one line ``zbi: error: ...`` and exit 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import bootfs_tools
from bootfs_tools import BootfsError, printable_name
from zbi_tools import format as fmt
from zbi_tools.compression import Buffer, Compression
from zbi_tools.describe import bootfs_entries, bootfs_of, json_items, list_lines
from zbi_tools.errors import ZbiDuplicateError, ZbiError, ZbiUsageError
from zbi_tools.extract import extract_bootfs, extract_items, write_atomic
from zbi_tools.image import ZbiImage, ZbiItem

PROG = "zbi"
DEFAULT_COMPRESSION = Compression("lz4")
DUPLICATE_CHOICES = ("error", "first", "last")


def _type_arg(text: str) -> int:
    """argparse type for --type: a table name or a number (see format.parse_type)."""
    try:
        return fmt.parse_type(text)
    except ZbiUsageError as err:
        raise argparse.ArgumentTypeError(err.reason) from None


def _compression_arg(text: str) -> Compression:
    """argparse type for --compressed: empty (the bare switch) means the default, LZ4."""
    if not text:
        return DEFAULT_COMPRESSION
    try:
        return Compression.parse(text)
    except ZbiUsageError as err:
        raise argparse.ArgumentTypeError(err.reason) from None


def _separate_compression(word: str) -> bool:
    """Whether the word after a bare -c is its value: a compression spec that names no file."""
    try:
        Compression.parse(word)
    except ZbiUsageError:
        return False
    return not os.path.exists(word)


@dataclass(frozen=True)
class _Option:
    """One switch: its spellings, whether it takes a value, and its argparse settings."""

    flags: tuple[str, ...]
    help: str
    value: str | None = None
    """Metavar of a required value; None for a plain switch."""
    optional_value: bool = False
    """The value is optional: attached (-cHOW, --compressed=HOW), or the next word when
    separate_value accepts it."""
    separate_value: Callable[[str], bool] | None = None
    ordered: bool = False
    """Recorded in command-line order with the inputs (input-control switches)."""
    kwargs: dict[str, object] = field(default_factory=dict)

    @property
    def long(self) -> str:
        return next(flag for flag in self.flags if flag.startswith("--"))


_INPUT = "--input"
_OPTIONS = (
    _Option(("-o", "--output"), "write the resulting ZBI to FILE", "FILE"),
    _Option(("-D", "--output-dir"), "extract into DIR (default: .)", "DIR"),
    _Option(("-j", "--json-output"), "describe the items as JSON in FILE ('-': stdout)",
            "FILE"),
    _Option(("-t", "--list"), "list the items (not with --output)"),
    _Option(("-v", "--verbose"), "list BOOTFS file names and CMDLINE words too"),
    _Option(("-x", "--extract"), "extract the BOOTFS files"),
    _Option(("-X", "--extract-items"), "extract each item as a ZBI file NNN.<type>.zbi"),
    _Option(("-R", "--extract-raw"), "extract each item's uncompressed payload NNN.<type>.<ext>"),
    _Option(("--duplicates",), "with --extract, when BOOTFS items hold the same file name:"
            " error (the default: refuse, naming the items), first or last (that item's file"
            " wins)", "WHICH", kwargs={"choices": DUPLICATE_CHOICES, "default": "error"}),
    _Option(("--check",), "check each input ZBI (headers, CRCs, compressed sizes) and print"
            " FILE: ok"),
    _Option(("-B", "--complete", "--bootable"), "require a bootable image for ARCH (with -o:"
            " move the kernel item first)", "ARCH", kwargs={"choices": tuple(fmt.KERNEL_TYPES)}),
    _Option(("-T", "--type"), "following inputs are raw items of TYPE (a name such as CMDLINE,"
            " RAMDISK, BOOTFS, KERNEL_X64, any case, or a number)", "TYPE", ordered=True,
            kwargs={"type": _type_arg}),
    _Option(("-F", "--files"), "following inputs are ZBIs, manifests or directories (default)",
            ordered=True),
    _Option(("-e", "--entry"), "like an input file holding TEXT: a TARGET=SOURCE manifest line,"
            " or with --type the payload", "TEXT", ordered=True),
    _Option(("-c", "--compressed"), "compress following storage items: lz4 (default), zstd or"
            " none, optionally .LEVEL or .max (-c zstd, -czstd, --compressed=zstd; a separate"
            " HOW must not name a file)", "HOW", optional_value=True,
            separate_value=_separate_compression, ordered=True,
            kwargs={"type": _compression_arg}),
    _Option(("-u", "--uncompressed"), "do not compress following storage items", ordered=True),
)
_BY_FLAG = {flag: option for option in _OPTIONS for flag in option.flags}

_DESCRIPTION = """\
Build, list, extract or check Zircon Boot Images (ZBI); switches follow Fuchsia's zbi tool.
INPUT is a ZBI file (its items are copied), a directory (added to BOOTFS), a manifest file of
TARGET=SOURCE lines (added to BOOTFS), or after --type a file that becomes one raw item.
Input-control switches (-T, -F, -e, -c, -u) apply to the inputs that follow them."""

_EPILOG = """\
All BOOTFS files end up in one BOOTFS item and CMDLINE items are merged into one when writing.
Errors print one line and exit 1; usage errors exit 2.  Item types: """ + ", ".join(
    row.name for row in fmt.ITEM_TYPES)


class _Ordered(argparse.Action):
    """Record (option, value) in namespace.steps so input control keeps command-line order."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        namespace.steps.append((self.dest, values))


def _parser() -> argparse.ArgumentParser:
    """The argparse parser, built from _OPTIONS; inputs arrive as hidden --input switches."""
    parser = argparse.ArgumentParser(
        prog=PROG, usage=f"{PROG} [OPTIONS] INPUT...", description=_DESCRIPTION,
        epilog=_EPILOG, allow_abbrev=False)
    for option in _OPTIONS:
        kwargs: dict[str, object] = dict(option.kwargs)
        if option.value is not None:
            kwargs["metavar"] = option.value
        if option.optional_value:
            kwargs["nargs"] = "?"
        if option.ordered:
            kwargs["action"] = _Ordered
            if option.value is None:
                kwargs["nargs"] = 0
        elif option.value is None:
            kwargs["action"] = "store_true"
        parser.add_argument(*option.flags, help=option.help, **kwargs)  # type: ignore[arg-type]
    parser.add_argument(_INPUT, action=_Ordered, help=argparse.SUPPRESS)
    parser.set_defaults(steps=[])
    return parser


def _normalize(argv: Sequence[str]) -> list[str]:
    """Rewrite argv so argparse keeps the order of inputs and switches.

    Every known switch becomes ``--long`` or ``--long=VALUE`` (short clusters split; a
    required value is taken from the next word when not attached; an optional value when
    attached, as getopt does, or when the option's separate_value accepts the next word) and
    every input becomes ``--input=PATH``; after ``--`` every word is an input.  Unknown
    switches pass through for argparse to reject.
    """
    out: list[str] = []
    pos = 0
    while pos < len(argv):
        word = argv[pos]
        pos += 1
        if word == "--":
            out += (f"{_INPUT}={rest}" for rest in argv[pos:])
            break
        if word == "-" or not word.startswith("-"):
            out.append(f"{_INPUT}={word}")
            continue
        if word.startswith("--"):
            name, eq, _ = word.partition("=")
            option = _BY_FLAG.get(name)
            if option is None or eq or option.value is None:
                out.append(word)
                continue
            attached = None
        else:
            split, attached = _split_cluster(word, out)
            if split is None:
                continue
            option = _BY_FLAG[split]
        flag = option.long
        if (option.optional_value and not attached and option.separate_value is not None
                and pos < len(argv) and option.separate_value(argv[pos])):
            attached = argv[pos]
            pos += 1
        if option.optional_value:
            out.append(f"{flag}={attached or ''}")
        elif attached:
            out.append(f"{flag}={attached}")
        elif pos < len(argv):
            out.append(f"{flag}={argv[pos]}")
            pos += 1
        else:
            out.append(flag)  # argparse reports the missing value
    return out


def _split_cluster(word: str, out: list[str]) -> tuple[str | None, str | None]:
    """Expand a short-switch cluster such as ``-tv`` or ``-Tcmdline`` into out.

    Plain switches are appended in long form.  Returns (long flag, attached text) for the
    first switch that takes a value, or (None, None) when the cluster has none.
    """
    for index in range(1, len(word)):
        option = _BY_FLAG.get(f"-{word[index]}")
        if option is None:
            out.append(f"-{word[index:]}")  # argparse reports it
            return None, None
        if option.value is not None:
            return option.long, word[index + 1:]
        out.append(option.long)
    return None, None


@dataclass
class _Inputs:
    """The items gathered from the inputs, in order, while the command line is read."""

    items: list[ZbiItem] = field(default_factory=list)
    files: list[tuple[str, Mapping[str, bytes]]] = field(default_factory=list)
    """BOOTFS files from manifests, directories and entries, labelled by where they came from."""
    bootfs_at: int | None = None
    """Where the merged BOOTFS item goes: the position of the first BOOTFS content."""
    item_type: int | None = None
    """The current -T type; None in files mode."""
    compression: Compression = DEFAULT_COMPRESSION

    def add_item(self, item: ZbiItem) -> None:
        if item.type == fmt.TYPE_STORAGE_BOOTFS and self.bootfs_at is None:
            self.bootfs_at = len(self.items)
        self.items.append(item)

    def add_files(self, label: str, files: Mapping[str, bytes]) -> None:
        if self.bootfs_at is None:
            self.bootfs_at = len(self.items)
        self.files.append((label, files))

    def add_path(self, path: str) -> None:
        """Add the input file or directory at path as the current mode says."""
        if os.path.isdir(path):
            self.add_files(path, bootfs_tools.read_directory(path))
            return
        data = _read_input(path)
        if self.item_type is None or self.item_type == fmt.TYPE_CONTAINER:
            if ZbiImage.is_zbi(data):
                try:
                    image = ZbiImage.parse(data)
                except ZbiError as err:
                    raise _InputError(path, err) from err
                for item in image.items:
                    self.add_item(item)
            elif self.item_type == fmt.TYPE_CONTAINER:
                raise _InputError(path, "not a Zircon Boot Image file")
            else:
                self.add_files(path, bootfs_tools.read_manifest(path))
            return
        self.add_raw(data)

    def add_raw(self, data: Buffer) -> None:
        """Add data as a raw item of the current -T type."""
        assert self.item_type is not None
        if self.item_type == fmt.TYPE_CMDLINE:
            data = bytes(data) + b"\0"
        if fmt.is_storage(self.item_type):
            self.add_item(ZbiItem.storage(self.item_type, data, self.compression))
        else:
            self.add_item(ZbiItem(self.item_type, data))

    def add_entry(self, text: str) -> None:
        """Add an -e TEXT: a raw item's payload with -T, else one TARGET=SOURCE line."""
        if self.item_type == fmt.TYPE_CONTAINER:
            raise ZbiUsageError("--entry cannot be used with --type=CONTAINER", field="entry")
        if self.item_type is not None:
            self.add_raw(text.encode())
            return
        target, eq, source = text.partition("=")
        if not eq or not target or not source:
            raise ZbiUsageError(f"--entry {text!r} is not TARGET=SOURCE", field="entry",
                                actual=text)
        label = f"--entry {text}"
        if os.path.isdir(source):
            tree = bootfs_tools.read_directory(source)
            self.add_files(label, {f"{target}/{name}": data for name, data in tree.items()})
        else:
            self.add_files(label, {target: Path(source).read_bytes()})

    def image(self) -> ZbiImage:
        """The items as an image, with the BOOTFS files (and BOOTFS items) merged in."""
        if not self.files:
            return ZbiImage(list(self.items))
        bootfs_items = [(f"BOOTFS item {index}", dict(bootfs_of(item).files()))
                        for index, item in enumerate(self.items, start=1)
                        if item.type == fmt.TYPE_STORAGE_BOOTFS]
        files = bootfs_tools.merge_files([*bootfs_items, *self.files])
        bootfs = ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, bootfs_tools.build(files),
                                 self.compression)
        kept = [item for item in self.items if item.type != fmt.TYPE_STORAGE_BOOTFS]
        place = sum(1 for item in self.items[: self.bootfs_at]
                    if item.type != fmt.TYPE_STORAGE_BOOTFS)
        return ZbiImage([*kept[:place], bootfs, *kept[place:]])


class _InputError(Exception):
    """A problem with one input file: printed as ``PATH: problem``."""

    def __init__(self, path: str, problem: object) -> None:
        super().__init__(f"{path}: {problem}")


def _read_inputs(steps: list[tuple[str, object]]) -> _Inputs:
    """Apply the ordered steps (switches and inputs) in command-line order."""
    inputs = _Inputs()
    for dest, value in steps:
        if dest == "type":
            assert isinstance(value, int)
            inputs.item_type = value
        elif dest == "files":
            inputs.item_type = None
        elif dest == "compressed":
            inputs.compression = value if isinstance(value, Compression) else DEFAULT_COMPRESSION
        elif dest == "uncompressed":
            inputs.compression = Compression("none")
        elif dest == "entry":
            inputs.add_entry(str(value))
        else:
            inputs.add_path(str(value))
    return inputs


def _read_input(path: str) -> Buffer:
    """A file's contents, mapped read-only when possible (no copy), else read."""
    with open(path, "rb") as file:
        try:
            return memoryview(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ))
        except (ValueError, OSError):  # an empty file, or one that cannot be mapped
            return file.read()


def _extract(image: ZbiImage, args: argparse.Namespace) -> None:
    """-x: BOOTFS files under --output-dir; -X: each item as a ZBI; -R: raw payloads."""
    root = Path(args.output_dir or ".")
    if args.extract_items or args.extract_raw:
        extract_items(image, root, raw=args.extract_raw)
        return
    bootfs = [(index, item) for index, _, item in image.enumerate_items()
              if item.type == fmt.TYPE_STORAGE_BOOTFS]
    if len(bootfs) == 1:
        extract_bootfs(bootfs[0][1], root)
        return
    # Several BOOTFS items: read every directory first (cheap: no file data), so that a name
    # two items hold is refused, or given to the item --duplicates names, before any write.
    holders: dict[str, list[int]] = {}
    for index, item in bootfs:
        for entry in bootfs_entries(item):
            holders.setdefault(entry.name, []).append(index)
    clashes = {name: indexes for name, indexes in holders.items() if len(indexes) > 1}
    if clashes and args.duplicates == "error":
        name, indexes = next(iter(clashes.items()))
        items = ", ".join(map(str, indexes[:-1])) + f" and {indexes[-1]}"
        more = f" (and {len(clashes) - 1} more names)" if len(clashes) > 1 else ""
        raise ZbiDuplicateError(
            f"BOOTFS items {items} both hold {printable_name(name)}{more}; use"
            " --duplicates=first or --duplicates=last to say which item's file wins",
            item_index=indexes[1], field="name", actual=name)
    pick = 0 if args.duplicates == "first" else -1
    for index, item in bootfs:
        extract_bootfs(item, root, {name for name, indexes in holders.items()
                                    if indexes[pick] == index})


def _check(paths: list[str], arch: str | None) -> int:
    """--check: parse and check each file, printing FILE: ok; the first problem raises."""
    for path in paths:
        try:
            ZbiImage.parse(_read_input(path)).check(bootable=arch)
        except ZbiError as err:
            raise _InputError(path, err.detail()) from err
        print(f"{path}: ok")
    return 0


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Validate the mode switches, gather the inputs, then write, describe or extract."""
    extracting = args.extract or args.extract_items or args.extract_raw
    paths = [str(value) for dest, value in args.steps if dest == "input"]
    if not any(dest in ("input", "entry") for dest, _ in args.steps):
        parser.error("no inputs")
    if args.check:
        if (args.output or args.list or extracting or args.json_output
                or any(dest != "input" for dest, _ in args.steps)):
            parser.error("--check takes only ZBI files (no --output, --list, --extract,"
                         " --json-output, --type, --entry)")
        return _check(paths, args.complete)
    if args.output and args.list:
        parser.error("--output and --list cannot be used together")
    if args.duplicates != "error" and not args.extract:
        parser.error("--duplicates applies to --extract only")
    if not (args.output or args.list or args.verbose or extracting or args.json_output):
        parser.error("no output: use --output, --list, --extract, --json-output or --check")
    image = _read_inputs(args.steps).image()
    if args.output:
        image = image.with_merged_cmdlines()
        if args.complete:
            image = image.with_kernel_first()
            image.check_bootable(args.complete)
        write_atomic(args.output, [image.pack()])
    if args.json_output:
        text = json.dumps(json_items(image), indent=2) + "\n"
        if args.json_output == "-":
            sys.stdout.write(text)
        else:
            write_atomic(args.json_output, [text.encode()])
    if not args.output:
        if args.list or args.verbose:
            for line in list_lines(image, verbose=args.verbose, arch=args.complete):
                print(line)
        if extracting:
            _extract(image, args)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the zbi command; returns the exit status (0 ok, 1 error, 2 usage error)."""
    parser = _parser()
    args = parser.parse_args(_normalize(sys.argv[1:] if argv is None else argv))
    try:
        return _run(parser, args)
    except ZbiUsageError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        print(f"{PROG}: error: {where}{err.strerror or err}", file=sys.stderr)
        return 1
    except (ZbiError, BootfsError, _InputError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
