"""`zhb` (also `python -m harness`): boot a guest, write a bootable image, or show the
accelerator choice.

    zhb boot  --arch ARCH [--machine VARIANT] [IMAGE] [--program NAME] [--append TEXT] [--timeout S]
              [--wall-factor F] [--deterministic] [--accel A] [--keep-artifacts]
              [--fuchsia-test] [--gdb[=PORT]]
    zhb image --arch ARCH -o FILE [--program NAME] [--append TEXT] [--gdb[=PORT]]
    zhb accel [--arch ARCH|all] [--fresh]
    zhb nightly [--arch A] [--machine M] [-o DIR] [--reruns N] [--quarantine FILE] ...

Every argument is checked before QEMU is started for anything (choosing `--accel=auto` may boot
QEMU to measure it, so it comes last, after the image is built). The kernel keeps at most
`harness.image.KERNEL_CMDLINE_MAX` bytes of command line; `boot` and `image` refuse a longer
one (the image's CMDLINE plus `--append`) instead of letting the guest cut it.

`boot` builds the guest if needed, boots IMAGE (default: a fresh image whose BOOTFS holds the
guest programs of the build, `out/<arch>/bin/*`, and whose command line makes userboot run
`bin/PROGRAM` (`--program`, default core-tests) and power off when it exits), streams the
serial console to stdout and exits 0 only when the guest powered the machine off cleanly with
no userboot error and no non-zero program return code; otherwise it prints one line (the
outcome and its reason) on stderr and exits 1.

With `--fuchsia-test` (implied for an IMAGE with a kernel item holding the success string
of Fuchsia's ZBI tests) IMAGE is judged as a Fuchsia ZBI test instead (harness.fuchsia): exit 0
only for the success string followed by a guest reset.

`image` writes the same default image to a file and prints, on stdout, a QEMU command line that boots it.
With `--gdb[=PORT]` the image's command line pins userboot (harness.gdb), the QEMU command
starts paused in its gdbstub on 127.0.0.1:PORT (default 1234) and a second line is the
gdb-multiarch command line for it.
What the file is depends on the architecture: for arm64 it is the boot shim with the ZBI
appended, the one file QEMU loads with -kernel; for x86_64 it is the ZBI itself, which QEMU
takes as -initrd while the shim (out/x86_64/shim.elf) is the -kernel, as the printed command
shows. `boot IMAGE` takes the same kind of file. `--append` puts TEXT in the image's CMDLINE
item for `image`, and on QEMU's -append (the boot loader's command line) for `boot`.

`accel` prints, per architecture, which accelerator `--accel=auto` picks and the measured
start-up times of the power-off image (`--fresh` measures again instead of using the cache).

`--timeout S` counts QEMU's CPU time as well as wall time (harness.machine.TimeLimit): it runs
out after S seconds of both, or after `--wall-factor` x S seconds of wall time, so a QEMU
starved by a loaded host is not taken for a hung guest. A timeout is reported as TIMEOUT with
the limit that ran out.

With `--gdb` QEMU waits in its gdbstub (on 127.0.0.1:PORT, by default a free port) and `boot` prints, on stderr, a ready `gdb-multiarch` command line loading the
kernel's, userboot's, the vDSO's and (if linked at a fixed address) the program's symbols
(harness.gdb); the guest runs once gdb continues. `--timeout` then defaults to a day.

`nightly` is the nightly runner (harness.nightly): the matrix, reruns, reports, history.

Exit status: 0 success, 1 failure (one line on stderr), 2 usage error, 130 interrupted
(SIGINT, SIGTERM or SIGHUP; QEMU is shut down either way). Whatever kills the tool (SIGKILL,
a crash), QEMU and the tool's temp dirs go with it (harness.leash).
"""

from __future__ import annotations

import argparse
import math
import shlex
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from bootfs_tools import BootfsError
from bootfs_tools import build as build_bootfs
from harness import console, fuchsia, gdb, nightly
from harness.accel import CHOICES, AccelDecision, choose_accel, default_cache_dir
from harness.errors import HarnessError, ImageError
from harness.image import (
    BootImage,
    build_guest,
    build_image,
    check_cmdline,
    image_from_file,
    pack_image,
)
from harness.leash import LEASH
from harness.machine import (
    DEFAULT_TIMEOUT_S,
    MAX_CPUS,
    WALL_FACTOR,
    Machine,
    MachineOptions,
    boot,
    qemu_args,
)
from harness.outcome import Outcome, Status
from harness.profiles import PROFILES, Accel, Profile, get_profile, select_profiles

DEFAULT_PROGRAM = "core-tests"
GDB_TIMEOUT_S = 24 * 3600.0
"""`boot --gdb`'s default timeout: a debugging session is not a hang."""
ARCH_HELP = f"guest architecture: {', '.join(PROFILES)} (aliases x64, aarch64)"


def _add_program_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--program", default=DEFAULT_PROGRAM, metavar="NAME",
        help=f"guest program userboot runs from the default image (default {DEFAULT_PROGRAM}; "
             "ignored when IMAGE is given)",
    )


def _default_image_parts(arch: str, program: str, append: str) -> tuple[str, bytes]:
    """The command line and BOOTFS of the default image: every program of the guest build
    in the BOOTFS, userboot told to run bin/`program` and power off when it exits."""
    bin_dir = build_guest(arch).kernel.parent / "bin"
    programs = sorted(path.name for path in bin_dir.glob("*") if path.is_file())
    if program not in programs:
        known = ", ".join(programs) or "none"
        raise ImageError(arch, f"no guest program {program!r} in {bin_dir} (built: {known})")
    try:
        bootfs = build_bootfs({f"bin/{name}": (bin_dir / name).read_bytes() for name in programs})
    except BootfsError as exc:
        raise ImageError(arch, f"BOOTFS of {bin_dir}: {exc}") from exc
    cmdline = " ".join(filter(None, (f"userboot.next=bin/{program} userboot.shutdown", append)))
    return cmdline, bootfs


def _guest_verdict(transcript: bytes) -> str | None:
    """Why a run that powered off cleanly still failed (userboot error, non-zero return
    code), or None."""
    report = console.parse_console(transcript)
    if report.userboot_error is not None:
        return f"userboot: error: {report.userboot_error}"
    exit_line = console.USERBOOT_EXIT.search(transcript)
    if exit_line is not None and int(exit_line.group(2)) != 0:
        return console.line_at(transcript, exit_line)
    return None


def _positive_seconds(text: str) -> float:
    """argparse type for --timeout: a positive (finite) number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}")
    return value


def _vcpu_count(text: str) -> int:
    """argparse type for --smp: a vCPU count from 1 to MAX_CPUS."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_CPUS:
        raise argparse.ArgumentTypeError(f"not a vCPU count from 1 to {MAX_CPUS}: {text!r}")
    return value


def _wall_factor(text: str) -> float:
    """argparse type for --wall-factor: a finite number, at least 1."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 1 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"not a number of at least 1: {text!r}")
    return value


def _gdb_port(text: str) -> str:
    """argparse type for --gdb=PORT: a TCP port number."""
    try:
        gdb.GdbEndpoint.parse(text)
    except HarnessError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _parser(prog: str = "zhb") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Boot zhb guests in QEMU and build their boot images.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "boot", help="boot a guest; exit 0 only on a clean guest power-off",
        description="Boot IMAGE (default: a fresh image of the guest build running "
                    "bin/PROGRAM) in QEMU, stream its serial console to stdout and exit 0 only "
                    "when the guest powers the machine off by itself, with no userboot error "
                    "and no non-zero program return code.",
    )
    run.add_argument("--arch", required=True, help=ARCH_HELP)
    run.add_argument("--machine", default="default", metavar="VARIANT",
                     help="emulated-hardware variant of the architecture (default: default; "
                          "see harness.profiles, e.g. pc, cpu-haswell, gicv2, el2, smp4)")
    run.add_argument(
        "image", nargs="?", type=Path, metavar="IMAGE",
        help="file written by `image` (arm64: shim + ZBI; x86_64: the ZBI, booted with "
             "out/x86_64/shim.elf)",
    )
    _add_program_option(run)
    run.add_argument("--append", default="", metavar="TEXT",
                     help="QEMU -append text (the boot loader's command line)")
    run.add_argument("--timeout", type=_positive_seconds, default=None, metavar="S",
                     help=f"seconds to wait for the power-off (default {DEFAULT_TIMEOUT_S:g}; "
                          "with --gdb a day)")
    run.add_argument("--wall-factor", type=_wall_factor, default=WALL_FACTOR, metavar="F",
                     help="the timeout counts QEMU's CPU time: it runs out after S seconds of "
                          "CPU (and of wall time), or after F x S seconds of wall time "
                          f"(default {WALL_FACTOR:g})")
    run.add_argument("--deterministic", action="store_true",
                     help="-icount and a virtual-clock RTC (TCG only; --accel auto means tcg)")
    run.add_argument("--accel", choices=CHOICES, default="auto",
                     help="accelerator (default auto: KVM only when usable and faster)")
    run.add_argument("--smp", type=_vcpu_count, default=None, metavar="N",
                     help=f"vCPUs, 1 to {MAX_CPUS} (default: the --machine variant's, 1 unless it "
                          "names more; more than 1 runs multi-threaded TCG)")
    run.add_argument("--keep-artifacts", action="store_true",
                     help="keep the image and the logs and print the directory holding them")
    run.add_argument("--fuchsia-test", action="store_true",
                     help="IMAGE is a Fuchsia ZBI test: pass on its success string followed by "
                          "a guest reset (default: detected from IMAGE)")
    run.add_argument("--gdb", nargs="?", const="auto", default=None, metavar="PORT",
                     type=_gdb_port,
                     help="start QEMU paused in its gdbstub on 127.0.0.1:PORT (default: a free "
                          "port) "
                          "and print a gdb-multiarch command line with the kernel's, userboot's "
                          "and the vDSO's symbols; the guest runs when gdb continues")

    image = commands.add_parser(
        "image", help="write a bootable image and print a QEMU command line for it",
        description="Write the bootable image of the guest build to FILE and print a QEMU "
                    "command line that boots it. arm64: FILE is the shim with the ZBI "
                    "appended (QEMU -kernel). x86_64: FILE is the ZBI (QEMU -initrd); the "
                    "shim out/x86_64/shim.elf is the -kernel.",
    )
    image.add_argument("--arch", required=True, help=ARCH_HELP)
    image.add_argument("-o", "--output", required=True, type=Path, metavar="FILE",
                       help="where to write the image")
    _add_program_option(image)
    image.add_argument("--append", default="", metavar="TEXT",
                       help="more command line to put in the image's CMDLINE item")
    image.add_argument("--gdb", nargs="?", const=str(gdb.DEFAULT_PORT), default=None,
                       metavar="PORT", type=_gdb_port,
                       help="the printed QEMU command starts paused in its gdbstub on "
                            f"127.0.0.1:PORT (default {gdb.DEFAULT_PORT}), and a second line "
                            "is the gdb-multiarch command line that attaches to it")

    accel = commands.add_parser(
        "accel", help="show which accelerator --accel=auto picks, and why",
        description="Decide the accelerator as `--accel=auto` does (KVM only when usable "
                    "and faster to start than TCG) and print the decision with the measured "
                    "start-up times of the power-off image.",
    )
    accel.add_argument("--arch", default="all", help=f"{ARCH_HELP}, or all (default)")
    accel.add_argument("--fresh", action="store_true",
                       help="measure again instead of using the cached decision")

    night = commands.add_parser(
        "nightly", help="run the whole matrix with reruns; JUnit, HTML report, history",
        description="Run the tests over the emulated-hardware matrix with the long stress and "
                    "fuzz settings, rerun failures to tell FLAKY from FAILED, and write "
                    "results.xml, report.html and history.sqlite to the output directory. "
                    "Exit 0 only when no case FAILED.",
    )
    nightly.add_arguments(night)
    return parser


def _boot(args: argparse.Namespace) -> int:
    # Every argument is checked (and the image built) before the accelerator is chosen,
    # because choosing `auto` may boot QEMU to measure it.
    profile = get_profile(args.arch).with_variant(args.machine.strip().lower())
    variant = profile.get_variant(profile.variant)
    if variant.skip is not None:
        raise HarnessError(f"{profile.label} cannot work: {variant.skip}")
    if variant.kvm and args.accel == "tcg" or args.deterministic and variant.kvm:
        raise HarnessError(f"{profile.label} runs under KVM only")
    if args.image is not None and not args.image.is_file():
        raise ImageError(profile.name, f"{args.image}: no such file")
    fuchsia_test = args.fuchsia_test or (
        args.image is not None and fuchsia.is_fuchsia_test_file(args.image))
    if fuchsia_test and args.image is None:
        raise ImageError(profile.name, "--fuchsia-test needs an IMAGE")
    if args.image is None:
        cmdline, bootfs = _default_image_parts(profile.name, args.program, "")
        check_cmdline(profile.name, cmdline, args.append)
    else:
        check_cmdline(profile.name, args.append)
    if args.deterministic and args.accel == "kvm":
        raise HarnessError("--deterministic needs TCG (-icount), not --accel=kvm")
    if args.gdb is not None and fuchsia_test:
        raise HarnessError("--gdb boots zhb images, not Fuchsia ZBI tests")
    append = args.append
    if args.gdb is not None:
        append = " ".join(filter(None, (append, gdb.FIXED_WORD)))
    timeout = args.timeout or (GDB_TIMEOUT_S if args.gdb is not None else DEFAULT_TIMEOUT_S)
    scratch = Path(tempfile.mkdtemp(prefix="zhb-boot-"))
    leashed = LEASH.hold([] if args.keep_artifacts else [scratch])
    try:
        if args.image is not None:
            image = image_from_file(profile.name, args.image.resolve())
        else:
            image = build_image(profile.name, scratch, cmdline, bootfs)
        wanted = "kvm" if variant.kvm else "tcg" if args.deterministic else args.accel
        accel = choose_accel(profile, wanted, default_cache_dir()).accel
        options: MachineOptions = {
            "accel": accel, "append": append, "timeout": timeout, "log_dir": scratch,
            "echo": sys.stdout.buffer, "cpus": args.smp, "wall_factor": args.wall_factor,
            "deterministic": args.deterministic,
        }
        if args.gdb is not None:
            program = None if args.image is not None else args.program
            outcome = _boot_gdb(profile, image, program, args.gdb, options)
        else:
            outcome = (fuchsia.boot_fuchsia_test if fuchsia_test else boot)(
                profile, image, **options)
    finally:
        if not args.keep_artifacts:
            shutil.rmtree(scratch, ignore_errors=True)
        LEASH.drop(leashed)
    kept = f" (image and logs kept in {scratch})" if args.keep_artifacts else ""
    if outcome.status is not Status.PASS:
        print(f"boot: {outcome.status.name}: {outcome.reason}{kept}", file=sys.stderr)
        return 1
    failure = None if fuchsia_test else _guest_verdict(outcome.transcript)
    if failure is not None:
        print(f"boot: FAIL: {failure}{kept}", file=sys.stderr)
        return 1
    if kept:
        print(f"boot: PASS{kept}", file=sys.stderr)
    return 0


def _boot_gdb(profile: Profile, image: BootImage, program: str | None, where: str,
              options: MachineOptions) -> Outcome:
    """Boot `image` paused in QEMU's gdbstub at `where` (--gdb's value), print the gdb
    command line, and wait for QEMU to exit."""
    endpoint = gdb.GdbEndpoint.parse(where)
    out_dir = build_guest(profile.name).kernel.parent
    command = gdb.gdb_command(gdb.symbol_files(profile, out_dir, program), endpoint)
    options["gdb"] = endpoint.qemu_spec
    with Machine(profile, image, **options) as machine:
        print(f"boot: QEMU is paused in its gdbstub ({endpoint.gdb_target}); debug it with:",
              file=sys.stderr)
        print(shlex.join(command), file=sys.stderr, flush=True)
        outcome = machine.wait_exit()
    loaded = gdb.USERBOOT_LOADED.search(outcome.transcript)
    files = gdb.symbol_files(profile, out_dir, None)
    if loaded is not None and (int(loaded.group(1), 16), int(loaded.group(2), 16)) != (
            files.userboot_base, files.vdso_base):
        print(f"boot: warning: the kernel put userboot and the vDSO at {loaded.group(1).decode()}"
              f" and {loaded.group(2).decode()}, not where the gdb command line says",
              file=sys.stderr)
    return outcome


def _image(args: argparse.Namespace) -> int:
    profile = get_profile(args.arch)
    if not args.output.parent.is_dir():
        raise ImageError(profile.name, f"{args.output.parent}: no such directory")
    append = args.append
    if args.gdb is not None:
        append = " ".join(filter(None, (append, gdb.FIXED_WORD)))
    cmdline, bootfs = _default_image_parts(profile.name, args.program, append)
    data = pack_image(profile.name, cmdline=cmdline, bootfs=bootfs)
    args.output.write_bytes(data)
    image = image_from_file(profile.name, args.output.resolve())
    qemu = [*qemu_args(profile, image, Accel.TCG), "-serial", "stdio"]
    if args.gdb is None:
        print(shlex.join(qemu))
        return 0
    endpoint = gdb.GdbEndpoint.parse(args.gdb)
    files = gdb.symbol_files(profile, build_guest(profile.name).kernel.parent, args.program)
    print(shlex.join([*qemu, "-S", "-gdb", endpoint.qemu_spec]))
    print(shlex.join(gdb.gdb_command(files, endpoint)))
    return 0


def _describe(name: str, decision: AccelDecision) -> str:
    times = [
        f"{label} {seconds * 1000:.0f} ms"
        for label, seconds in (("tcg", decision.tcg_s), ("kvm", decision.kvm_s))
        if seconds is not None
    ]
    measured = f" [{', '.join(times)}]" if times else ""
    return f"{name}: {decision.accel.value} ({decision.reason}){measured}"


def _accel(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="zhb-accel-") as fresh:
        cache = Path(fresh) if args.fresh else default_cache_dir()
        for profile in select_profiles(args.arch):
            print(_describe(profile.name, choose_accel(profile, "auto", cache)))
    return 0


_COMMANDS = {"boot": _boot, "image": _image, "accel": _accel, "nightly": nightly.nightly}


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into KeyboardInterrupt for the body, so that QEMU (in a session
    of its own, out of reach of signals sent to ours) is still shut down when a tool is
    terminated or its terminal goes away. (What no handler can catch, SIGKILL or a crash, is
    the leash's job: harness.leash.)"""
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGTERM,
                                                                       signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None, prog: str = "zhb") -> int:
    """Run the command line `argv` (default: sys.argv[1:]); return the exit status."""
    args = _parser(prog).parse_args(argv)
    try:
        with sigterm_interrupts():
            return _COMMANDS[args.command](args)
    except HarnessError as exc:
        print(f"{args.command}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{args.command}: interrupted", file=sys.stderr)
        return 130
