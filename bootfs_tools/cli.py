"""The ``bootfs`` command: create, list, extract and check BOOTFS images.

    bootfs create -o OUT [--replace] (DIR | --manifest FILE)...
    bootfs list IMAGE [--json]
    bootfs extract IMAGE -o DIR [NAME...]
    bootfs check IMAGE

``main`` is the only place that turns an error into output: one ``bootfs: error: ...`` line on
stderr and exit status 1 (argparse's usage errors exit 2). Every subcommand is parsed with
``parse_intermixed_args``, so options and positional arguments may come in any order.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from .errors import BootfsError
from .image import BootfsImage, build, printable_name
from .sources import extract, merge_files, read_directory, read_manifest

PROG = "bootfs"


class _CommandError(Exception):
    """A fully worded error for ``main`` to print."""


@contextlib.contextmanager
def _about(image: str) -> Iterator[None]:
    """Prefix the message of any BootfsError raised inside with the image's path."""
    try:
        yield
    except BootfsError as err:
        raise _CommandError(f"{image}: {err}") from err


def _load(path: str) -> BootfsImage:
    """Read and parse the image at ``path``."""
    with open(path, "rb") as file:
        return BootfsImage.parse(file.read())


def _write_atomically(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one rename; on failure leave ``path`` untouched.

    An OSError names ``path`` itself, not the temporary file beside it.
    """
    try:
        fd, temp = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)}.", dir=os.path.dirname(path) or "."
        )
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temp, 0o666 & ~umask)
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
    except OSError as err:
        raise OSError(err.errno, err.strerror, path) from err


def _create(args: argparse.Namespace) -> None:
    """Read every input, merge them (directories first) and write the image."""
    inputs = [(d, read_directory(d)) for d in args.dirs]
    inputs += [(m, read_manifest(m, replace=args.replace)) for m in args.manifests]
    _write_atomically(args.output, build(merge_files(inputs, replace=args.replace)))


def _list(args: argparse.Namespace) -> None:
    """Print the directory as a table, or as zbi-style JSON contents."""
    with _about(args.image):
        image = _load(args.image)
    if args.json:
        contents = [
            {
                "name": entry.name,
                "offset": entry.data_off,
                "length": entry.data_len,
                "size": entry.data_end - entry.data_off,
            }
            for entry in image
        ]
        print(json.dumps(contents, indent=2))
        return
    print(f"{'OFFSET':>10}  {'SIZE':>10}  NAME")
    for entry in image:
        print(f"{entry.data_off:#010x}  {entry.data_len:>10}  {printable_name(entry.name)}")


def _extract(args: argparse.Namespace) -> None:
    """Write the named files (default: all) below the output directory."""
    with _about(args.image):
        image = _load(args.image)
        extract(image, args.output, args.names or None)


def _check(args: argparse.Namespace) -> None:
    """Validate the image fully and print a one-line summary."""
    with _about(args.image):
        image = _load(args.image)
        image.check()
    print(f"{args.image}: ok ({len(image)} files, {image.size} bytes)")


def _subparser(name: str, description: str) -> argparse.ArgumentParser:
    """A parser for one command, named ``bootfs NAME`` in usage and errors."""
    return argparse.ArgumentParser(prog=f"{PROG} {name}", description=description)


def _create_parser() -> argparse.ArgumentParser:
    parser = _subparser(
        "create",
        "Build a BOOTFS image from directory trees and manifests. The output is deterministic: "
        "the same inputs always give the same bytes. Directories are merged first, then "
        "manifests, each in the order given.",
    )
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="image to write")
    parser.add_argument(
        "dirs", nargs="*", metavar="DIR", help="add every file below DIR, named relative to DIR"
    )
    parser.add_argument(
        "-m",
        "--manifest",
        dest="manifests",
        action="append",
        default=[],
        metavar="FILE",
        help="add the files FILE lists as 'destination=source' lines "
        "(sources relative to FILE's directory; '#' starts a comment line)",
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="let a later input replace a file of the same name (default: error)",
    )
    return parser


def _list_parser() -> argparse.ArgumentParser:
    parser = _subparser(
        "list", "List the files in a BOOTFS image: data offset, size in bytes, name."
    )
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list of {name, offset, length, size (page-rounded)} objects",
    )
    return parser


def _extract_parser() -> argparse.ArgumentParser:
    parser = _subparser(
        "extract",
        "Write files from a BOOTFS image below a directory, creating it as needed. Names "
        "that would land outside the directory are refused before anything is written. Each "
        "file is created anew (an existing file, hard link or symlink of that name is "
        "replaced, never written through); entries that share data become hard links.",
    )
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="where to write")
    parser.add_argument("names", nargs="*", metavar="NAME", help="files to extract (default: all)")
    return parser


def _check_parser() -> argparse.ArgumentParser:
    parser = _subparser(
        "check",
        "Validate every BOOTFS rule, including zero reserved fields and padding. Prints "
        "'IMAGE: ok (N files, M bytes)', M being the image size; otherwise exits 1 naming the "
        "first problem.",
    )
    parser.add_argument("image", metavar="IMAGE")
    return parser


@dataclass(frozen=True)
class _Command:
    """One subcommand: how to parse its arguments, what to run, and its one-line summary."""

    make_parser: Callable[[], argparse.ArgumentParser]
    run: Callable[[argparse.Namespace], None]
    summary: str


COMMANDS = {
    "create": _Command(_create_parser, _create, "build an image from directories and manifests"),
    "list": _Command(_list_parser, _list, "list the files in an image"),
    "extract": _Command(_extract_parser, _extract, "write files from an image to a directory"),
    "check": _Command(_check_parser, _check, "validate an image"),
}


def _top_parser() -> argparse.ArgumentParser:
    commands = "\n".join(f"  {name:<9} {command.summary}" for name, command in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Create, list, extract and check BOOTFS images (the file system Zircon "
        "boots from, stored in a ZBI).",
        epilog=f"commands:\n{commands}\n\nRun '{PROG} COMMAND --help' for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "command", choices=COMMANDS, metavar="COMMAND", help="one of the commands below"
    )
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="ARG", help="its arguments")
    return parser


def _describe(err: OSError) -> str:
    """One line for an OSError: the file it names and the reason."""
    if err.filename is None:
        return str(err)
    return f"{err.filename}: {err.strerror}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``bootfs`` command line; return the exit status."""
    top = _top_parser().parse_args(argv)
    command = COMMANDS[top.command]
    parser = command.make_parser()
    args = parser.parse_intermixed_args(top.args)
    if top.command == "create" and not (args.dirs or args.manifests):
        parser.error("give at least one DIR or --manifest FILE")
    try:
        command.run(args)
    except (_CommandError, BootfsError) as err:
        message = str(err)
    except OSError as err:
        message = _describe(err)
    else:
        return 0
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 1
