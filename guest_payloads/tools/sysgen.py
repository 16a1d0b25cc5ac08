#!/usr/bin/env python3
"""sysgen: zhb's syscall ABI, generated from the one definition file.

Input: ``syscalls/zircon.syscalls`` (its header documents the format): per syscall a line
``syscall <name> <number> <return-type> [flag ...]`` followed by one indented line per
argument, ``<arg-name> <C type> [annotation ...]``. Everything is checked while parsing; a
problem raises :class:`DefinitionError`, printed as ``file:line: message``. The names allowed
in ``obj=`` and ``rights=`` are read from the sysroot's ``zircon/types.h`` and ``rights.h``.

``generate DEFS -o DIR`` writes (each file starts with a "GENERATED ... do not edit" line)::

    zircon/syscalls-numbers.h  ZX_SYS_<name> numbers and ZX_SYS_COUNT (#defines only: C and asm)
    zircon/syscalls-decls.h    user prototypes zx_<name> and _zx_<name> (<zircon/syscalls.h>)
    syscall-kernel.h           kernel handler prototypes sys_<name>, user_*_ptr_t, and the
                               SYS_<name>_<arg>_TYPE / _RIGHTS each handle argument needs
    syscall-table.inc          the dispatch table: number -> wrapper -> sys_<name>, with
                               weak "unimplemented" default handlers (one kernel file includes it)
    vdso-stubs-x86_64.S        the vDSO entry points, one stub macro per architecture:
    vdso-stubs-arm64.S         global _zx_<name>, weak alias zx_<name>, and the hidden label
                               CODE_SYSRET_zx_<name>_VIA_zx_<name> after the kernel entry
    syscall-fuzz-table.inc     bin/syscall-fuzz's table: every syscall (vdso-only ones too)
                               with its user entry point, flags and the kind of each argument
                               (handle, pointer in/out/inout, size, options, time, address,
                               scalar), so a new syscall is fuzzed without touching the fuzzer

vdso-only syscalls (number ``-``) get prototypes but no number, table entry or stub: the vDSO
implements them in C. ``sysret DEFS VDSO_ELF -o FILE`` reads the CODE_SYSRET_* symbols of the
linked vDSO (ELF64 little-endian, linked at 0) and writes ``[ZX_SYS_<name>] = <offset>,`` lines:
the approved return address of each syscall, which the kernel compares with the caller's PC.

Library use: :func:`parse_file` / :func:`parse_text` -> :class:`SyscallSpec`; the ``render_*``
functions return file texts; :func:`write_outputs`; :func:`read_elf_symbols`. Only
:func:`main` prints. Standard library only.
"""

from __future__ import annotations

import argparse
import re
import struct
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

GUEST_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SYSROOT = GUEST_ROOT / "sysroot" / "include"
GENERATOR = "tools/sysgen.py"

MAX_ARGS = 8  # registers the kernel-entry ABI passes arguments in, on both architectures
MAX_NUMBER = 4095  # fits arm64 `mov x16, #imm` and keeps the dispatch table small
LINE_LIMIT = 100

RETURN_TYPES = ("zx_status_t", "zx_time_t", "void")

# Base C types an argument may use -> whether it may be passed by value (False: only behind
# a pointer). Every one is declared by <zircon/types.h> unless TYPE_HEADERS says otherwise.
TYPES: dict[str, bool] = {
    "int32_t": True,
    "uint32_t": True,
    "int64_t": True,
    "uint64_t": True,
    "size_t": True,
    "uintptr_t": True,
    "zx_handle_t": True,
    "zx_time_t": True,
    "zx_duration_t": True,
    "zx_signals_t": True,
    "zx_rights_t": True,
    "zx_vm_option_t": True,
    "zx_vaddr_t": True,
    "zx_koid_t": True,
    "void": False,
    "char": False,
    "zx_wait_item_t": False,
    # Ports and timers
    "zx_clock_t": True,
    "zx_port_packet_t": False,
    "zx_system_powerctl_arg_t": False,
    # Sockets, futexes, channel_call
    "zx_futex_t": True,
    "zx_channel_call_args_t": False,
}
TYPE_HEADERS = {
    "zx_system_powerctl_arg_t": "zircon/syscalls/system.h",
    "zx_port_packet_t": "zircon/syscalls/port.h",
}
HANDLE_TYPE = "zx_handle_t"

DIRECTIONS = ("in", "out", "inout")
FLAGS = ("blocking", "noreturn", "vdso")

NAME_RE = re.compile(r"[a-z][a-z0-9_]*\Z")
NUMBER_RE = re.compile(r"[0-9]+\Z")
SYSRET_PREFIX = "CODE_SYSRET_"


# ---- Errors ------------------------------------------------------------------------------


class SysgenError(Exception):
    """Base of every error this module raises."""


class DefinitionError(SysgenError):
    """A problem in a definition file, at a 1-based line."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


class ElfError(SysgenError):
    """A problem in the vDSO ELF given to ``sysret`` (offset: where in the file, if known)."""

    def __init__(self, path: str, message: str, offset: int | None = None) -> None:
        where = f"{path}: offset {offset:#x}" if offset is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.offset = offset
        self.message = message


# ---- Model -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CType:
    base: str
    const: bool = False
    pointer: bool = False

    def __str__(self) -> str:
        return f"{'const ' if self.const else ''}{self.base}{' *' if self.pointer else ''}"

    def declare(self, name: str) -> str:
        """``const char *name``: a declarator in the project's pointer style."""
        return f"{self}{'' if self.pointer else ' '}{name}"


@dataclass(frozen=True)
class Arg:
    name: str
    ctype: CType
    line: int
    direction: str | None = None  # in | out | inout, pointers only
    obj: str | None = None  # ZX_OBJ_TYPE_<obj> required of a scalar handle
    rights: tuple[str, ...] = ()  # ZX_RIGHT_<r> required of the handle(s)
    release: bool = False
    acquire: bool = False

    @property
    def is_handle(self) -> bool:
        return self.ctype.base == HANDLE_TYPE

    @property
    def checked_handle(self) -> bool:
        """A handle the syscall looks up (not one it creates): it gets _TYPE/_RIGHTS macros."""
        return self.is_handle and not self.acquire

    @property
    def kernel_type(self) -> str:
        """What the kernel handler receives: the C type, or a user_*_ptr_t for a pointer."""
        return f"user_{self.direction}_ptr_t" if self.ctype.pointer else self.ctype.base


@dataclass(frozen=True)
class Syscall:
    name: str
    number: int | None  # None: vdso-only
    returns: str
    args: tuple[Arg, ...]
    line: int
    blocking: bool = False
    noreturn: bool = False

    @property
    def vdso_only(self) -> bool:
        return self.number is None

    @property
    def sysret_symbol(self) -> str:
        return f"{SYSRET_PREFIX}zx_{self.name}_VIA_zx_{self.name}"

    @property
    def kernel_return(self) -> str:
        return "void" if self.noreturn else self.returns


@dataclass(frozen=True)
class SyscallSpec:
    source: str  # shown in the GENERATED banner
    syscalls: tuple[Syscall, ...]

    @property
    def kernel_syscalls(self) -> tuple[Syscall, ...]:
        """The syscalls that enter the kernel, by number."""
        entered = (s for s in self.syscalls if s.number is not None)
        return tuple(sorted(entered, key=lambda s: s.number or 0))

    @property
    def count(self) -> int:
        """ZX_SYS_COUNT: one past the highest syscall number."""
        return max((s.number or 0 for s in self.kernel_syscalls), default=-1) + 1


@dataclass(frozen=True)
class Vocabulary:
    """Names allowed after obj= and rights=, as defined by the sysroot headers."""

    obj_types: frozenset[str]
    rights: frozenset[str]


def load_vocabulary(include_dir: Path) -> Vocabulary:
    """Read the ZX_OBJ_TYPE_* and ZX_RIGHT_* names from ``include_dir``/zircon/*.h."""

    def names(header: str, prefix: str, exclude: set[str]) -> frozenset[str]:
        path = include_dir / "zircon" / header
        found = set(re.findall(rf"^#define {prefix}(\w+)\s", path.read_text(), re.MULTILINE))
        if not found:
            raise SysgenError(f"{path}: no {prefix}* definitions")
        return frozenset(found - exclude)

    return Vocabulary(
        obj_types=names("types.h", "ZX_OBJ_TYPE_", {"NONE", "UPPER_BOUND"}),
        rights=names("rights.h", "ZX_RIGHT_", {"NONE", "SAME_RIGHTS"}),
    )


# ---- Parser ------------------------------------------------------------------------------


@dataclass
class _Pending:
    """A syscall whose argument lines are still being read."""

    name: str
    number: int | None
    returns: str
    flags: set[str]
    line: int
    args: list[Arg]

    def finish(self) -> Syscall:
        return Syscall(
            name=self.name,
            number=self.number,
            returns=self.returns,
            args=tuple(self.args),
            line=self.line,
            blocking="blocking" in self.flags,
            noreturn="noreturn" in self.flags,
        )


class _Parser:
    def __init__(self, path: str, vocab: Vocabulary) -> None:
        self.path = path
        self.vocab = vocab

    def error(self, line: int, message: str) -> DefinitionError:
        return DefinitionError(self.path, line, message)

    def parse(self, text: str) -> tuple[Syscall, ...]:
        done: list[Syscall] = []
        pending: _Pending | None = None
        for lineno, raw in enumerate(text.splitlines(), start=1):
            content = raw.split("#", 1)[0].rstrip()
            if not content.strip():
                continue
            if not content[0].isspace():
                if pending is not None:
                    done.append(pending.finish())
                pending = self.header(lineno, content.split())
            elif pending is None:
                raise self.error(lineno, "argument line outside a syscall (indent only arguments)")
            else:
                self.add_arg(pending, self.argument(lineno, content.split()))
        if pending is not None:
            done.append(pending.finish())
        if not done:
            raise self.error(1, "no syscalls defined")
        self.check_unique(done)
        return tuple(done)

    def header(self, line: int, tokens: list[str]) -> _Pending:
        if tokens[0] != "syscall" or len(tokens) < 4:
            raise self.error(line, "expected 'syscall <name> <number> <return-type> [flag ...]'")
        name, number_text, returns, *flag_list = tokens[1:]
        if not NAME_RE.match(name):
            raise self.error(line, f"bad syscall name '{name}' (lower-case C identifier)")
        if returns not in RETURN_TYPES:
            raise self.error(
                line, f"unknown type '{returns}' (return types: {_alts(RETURN_TYPES)})"
            )
        flags: set[str] = set()
        for flag in flag_list:
            if flag not in FLAGS:
                raise self.error(line, f"unknown flag '{flag}' (flags: {_alts(FLAGS)})")
            if flag in flags:
                raise self.error(line, f"flag '{flag}' given twice")
            flags.add(flag)
        number: int | None = None
        if "vdso" in flags:
            if number_text != "-":
                raise self.error(line, f"vdso-only syscall '{name}' takes '-' for its number")
        elif number_text == "-":
            raise self.error(line, f"syscall '{name}' needs a number ('-' only with 'vdso')")
        elif not NUMBER_RE.match(number_text) or int(number_text) > MAX_NUMBER:
            raise self.error(line, f"bad syscall number '{number_text}' (0..{MAX_NUMBER})")
        else:
            number = int(number_text)
        if "noreturn" in flags and returns != "void":
            raise self.error(line, f"noreturn syscall '{name}' must return void")
        return _Pending(name, number, returns, flags, line, [])

    def add_arg(self, pending: _Pending, arg: Arg) -> None:
        if len(pending.args) == MAX_ARGS:
            raise self.error(
                arg.line, f"syscall '{pending.name}' has more than {MAX_ARGS} arguments"
            )
        if any(a.name == arg.name for a in pending.args):
            raise self.error(arg.line, f"duplicate argument '{arg.name}' in '{pending.name}'")
        pending.args.append(arg)

    def argument(self, line: int, tokens: list[str]) -> Arg:
        usage = "expected '<arg-name> <C type> [annotation ...]'"
        if len(tokens) < 2:
            raise self.error(line, usage)
        name = tokens[0]
        if not NAME_RE.match(name):
            raise self.error(line, f"bad argument name '{name}' (lower-case C identifier)")
        ctype, rest = self.ctype(line, tokens[1:], usage)
        arg = Arg(name=name, ctype=ctype, line=line)
        for token in rest:
            arg = self.annotate(arg, token)
        return self.check_arg(arg)

    def ctype(self, line: int, tokens: list[str], usage: str) -> tuple[CType, list[str]]:
        const = tokens[0] == "const"
        if const:
            tokens = tokens[1:]
            if not tokens:
                raise self.error(line, usage)
        base, rest = tokens[0], tokens[1:]
        pointer = base.endswith("*")
        if pointer:
            base = base[:-1]
        elif rest and rest[0] == "*":
            pointer, rest = True, rest[1:]
        if base.endswith("*") or (rest and rest[0].startswith("*")):
            raise self.error(line, "only one level of pointer is allowed")
        if base not in TYPES:
            raise self.error(line, f"unknown type '{base}'")
        if const and not pointer:
            raise self.error(line, f"'const {base}': const is allowed only on pointers")
        if not pointer and not TYPES[base]:
            raise self.error(line, f"type '{base}' can only be used behind a pointer")
        return CType(base, const, pointer), rest

    def annotate(self, arg: Arg, token: str) -> Arg:
        """Apply one annotation token to ``arg`` (cross-checks come in check_arg)."""
        bad = f"bad annotation '{token}' on '{arg.name}'"
        key, _, value = token.partition("=")
        if token in DIRECTIONS:
            if arg.direction is not None:
                raise self.error(arg.line, f"{bad}: direction already '{arg.direction}'")
            return replace(arg, direction=token)
        if token == "release" or token == "acquire":
            if getattr(arg, token):
                raise self.error(arg.line, f"{bad}: given twice")
            return replace(arg, release=True) if token == "release" else replace(arg, acquire=True)
        if key == "obj" and value:
            if arg.obj is not None:
                raise self.error(arg.line, f"{bad}: given twice")
            if value not in self.vocab.obj_types:
                raise self.error(arg.line, f"{bad}: no ZX_OBJ_TYPE_{value}")
            return replace(arg, obj=value)
        if key == "rights" and value:
            if arg.rights:
                raise self.error(arg.line, f"{bad}: given twice")
            rights = value.split("|")
            for right in rights:
                if right not in self.vocab.rights:
                    raise self.error(arg.line, f"{bad}: no ZX_RIGHT_{right}")
            if len(set(rights)) != len(rights):
                raise self.error(arg.line, f"{bad}: a right is repeated")
            return replace(arg, rights=tuple(rights))
        raise self.error(
            arg.line, f"{bad} (annotations: {_alts(DIRECTIONS)}, obj=, rights=, release, acquire)"
        )

    def check_arg(self, arg: Arg) -> Arg:
        def fail(message: str) -> DefinitionError:
            return self.error(arg.line, f"bad annotation on '{arg.name}': {message}")

        pointer = arg.ctype.pointer
        if pointer and arg.direction is None:
            raise fail(f"a pointer needs one of {_alts(DIRECTIONS)}")
        if not pointer and arg.direction is not None:
            raise fail(f"'{arg.direction}' is only for pointers")
        if arg.direction == "in" and not arg.ctype.const:
            raise fail("an 'in' pointer must be const")
        if arg.direction in ("out", "inout") and arg.ctype.const:
            raise fail(f"an '{arg.direction}' pointer must not be const")
        if not arg.is_handle:
            if arg.obj or arg.rights or arg.release or arg.acquire:
                raise fail("obj=, rights=, release and acquire are only for zx_handle_t")
            return arg
        if arg.acquire and (arg.direction != "out" or arg.rights or arg.obj or arg.release):
            raise fail("'acquire' is for an 'out' handle pointer, without obj=/rights=/release")
        if pointer and arg.direction != "in" and not arg.acquire:
            raise fail("a handle pointer is either 'in' (an array) or 'out acquire'")
        if pointer and arg.obj:
            raise fail("obj= is only for a single handle")
        return arg

    def check_unique(self, syscalls: Iterable[Syscall]) -> None:
        names: dict[str, int] = {}
        numbers: dict[int, Syscall] = {}
        for syscall in syscalls:
            if syscall.name in names:
                raise self.error(
                    syscall.line,
                    f"duplicate syscall name '{syscall.name}' "
                    f"(first defined at line {names[syscall.name]})",
                )
            names[syscall.name] = syscall.line
            if syscall.number is None:
                continue
            if syscall.number in numbers:
                first = numbers[syscall.number]
                raise self.error(
                    syscall.line,
                    f"duplicate syscall number {syscall.number} "
                    f"(also '{first.name}' at line {first.line})",
                )
            numbers[syscall.number] = syscall


def _alts(names: Iterable[str]) -> str:
    return ", ".join(names)


def display_path(path: Path) -> str:
    """``path`` relative to guest_payloads/ when inside it (as the banner names sources)."""
    try:
        return path.resolve().relative_to(GUEST_ROOT).as_posix()
    except ValueError:
        return str(path)


def parse_text(text: str, source: str, vocab: Vocabulary) -> SyscallSpec:
    """Parse definition text; ``source`` names it in errors and in the GENERATED banner."""
    return SyscallSpec(source, _Parser(source, vocab).parse(text))


def parse_file(path: Path, include_dir: Path = DEFAULT_SYSROOT) -> SyscallSpec:
    return parse_text(path.read_text(), display_path(path), load_vocabulary(include_dir))


# ---- Rendering ---------------------------------------------------------------------------


def banner(spec: SyscallSpec) -> str:
    return f"// GENERATED by {GENERATOR} from {spec.source} — do not edit."


def _signature(returns: str, name: str, params: list[str], *, wrap: bool = True) -> str:
    """A C function head; with ``wrap``, one parameter per line past the line limit."""
    head = f"{returns} {name}("
    flat = f"{head}{', '.join(params) or 'void'})"
    if not wrap or len(flat) <= LINE_LIMIT:
        return flat
    return head + ",".join(f"\n    {p}" for p in params) + ")"


def _user_params(syscall: Syscall) -> list[str]:
    return [a.ctype.declare(a.name) for a in syscall.args]


def user_prototype(syscall: Syscall, prefix: str = "zx_") -> str:
    """The user entry point's C declaration on one line, without attributes."""
    return _signature(syscall.returns, prefix + syscall.name, _user_params(syscall), wrap=False)


def _kernel_params(syscall: Syscall) -> list[str]:
    return [f"{a.kernel_type} {a.name}" for a in syscall.args]


def render_numbers(spec: SyscallSpec) -> str:
    lines = [
        banner(spec),
        "//",
        "// Syscall numbers: the private ABI between the vDSO stubs and the kernel's dispatch",
        "// table (user code calls zx_* functions, never numbers). #defines only, so assembly",
        "// includes it too. ZX_SYS_COUNT is one past the highest number.",
        "#pragma once",
        "",
    ]
    lines += [f"#define ZX_SYS_{s.name} {s.number}" for s in spec.kernel_syscalls]
    lines += ["", f"#define ZX_SYS_COUNT {spec.count}", ""]
    return "\n".join(lines)


def render_decls(spec: SyscallSpec) -> str:
    headers = {"zircon/types.h"}
    for syscall in spec.syscalls:
        headers.update(TYPE_HEADERS.get(a.ctype.base, "zircon/types.h") for a in syscall.args)
    lines = [
        banner(spec),
        "//",
        "// The Zircon system calls, as exported by the vDSO: zx_<name> and its alias _zx_<name>.",
        "// Include <zircon/syscalls.h> rather than this file.",
        "#pragma once",
        "",
        *(f"#include <{h}>" for h in sorted(headers)),
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
    ]
    for syscall in spec.syscalls:
        attr = "__attribute__((__noreturn__)) " if syscall.noreturn else ""
        for prefix in ("zx_", "_zx_"):
            params = _user_params(syscall)
            lines.append(_signature(attr + syscall.returns, prefix + syscall.name, params) + ";")
        lines.append("")
    lines += ["#ifdef __cplusplus", "}", "#endif", ""]
    return "\n".join(lines)


def _rights_expr(arg: Arg) -> str:
    return " | ".join(f"ZX_RIGHT_{r}" for r in arg.rights) or "ZX_RIGHT_NONE"


def render_kernel_header(spec: SyscallSpec) -> str:
    lines = [
        banner(spec),
        "//",
        "// Kernel side of the syscall ABI. Syscall <name> is handled by sys_<name>, declared",
        "// here with its argument types: a pointer argument arrives as a user_*_ptr_t, a user",
        "// address the handler only hands to the checked user-copy helpers. Each handle it looks",
        "// up has SYS_<name>_<arg>_TYPE (ZX_OBJ_TYPE_NONE: any type) and SYS_<name>_<arg>_RIGHTS",
        "// (for an 'in' array: of every handle in it); rights that depend on other arguments are",
        "// left to the handler (see the comments in the definition file).",
        "#pragma once",
        "",
        "#include <stdint.h>",
        "#include <zircon/syscalls-numbers.h>",
        "#include <zircon/syscalls/system.h>",
        "#include <zircon/types.h>",
        "",
        "typedef struct user_in_ptr {",
        "    uintptr_t addr;",
        "} user_in_ptr_t;  // the syscall reads through it",
        "typedef struct user_out_ptr {",
        "    uintptr_t addr;",
        "} user_out_ptr_t;  // the syscall writes through it",
        "typedef struct user_inout_ptr {",
        "    uintptr_t addr;",
        "} user_inout_ptr_t;  // both",
        "",
        "// struct syscall_entry.flags (syscall-table.inc)",
        "#define SYSCALL_FLAG_BLOCKING 0x1u  // may block in the kernel",
        "#define SYSCALL_FLAG_NORETURN 0x2u  // never returns to its caller",
    ]
    for syscall in spec.kernel_syscalls:
        lines += ["", f"// zx_{syscall.name}"]
        lines.append(
            _signature(syscall.kernel_return, f"sys_{syscall.name}", _kernel_params(syscall)) + ";"
        )
        for arg in syscall.args:
            if arg.checked_handle:
                prefix = f"SYS_{syscall.name}_{arg.name}"
                lines.append(f"#define {prefix}_TYPE ZX_OBJ_TYPE_{arg.obj or 'NONE'}")
                lines.append(f"#define {prefix}_RIGHTS ({_rights_expr(arg)})")
    lines.append("")
    return "\n".join(lines)


def _flags_expr(syscall: Syscall) -> str:
    flags = [f"SYSCALL_FLAG_{f.upper()}" for f in ("blocking", "noreturn") if getattr(syscall, f)]
    return " | ".join(flags) or "0"


def _weak_default(syscall: Syscall) -> list[str]:
    head = _signature(syscall.kernel_return, f"sys_{syscall.name}", _kernel_params(syscall))
    body = [f"    (void){a.name};" for a in syscall.args]
    if syscall.kernel_return == "zx_status_t":
        body.append("    return ZX_ERR_NOT_SUPPORTED;")
    elif syscall.kernel_return != "void":
        body.append("    return 0;")
    return ["__attribute__((weak))", head + " {", *body, "}", ""]


def _wrapper(syscall: Syscall) -> list[str]:
    values = []
    for index, arg in enumerate(syscall.args):
        if arg.ctype.pointer:
            values.append(f"({arg.kernel_type}){{(uintptr_t)arg[{index}]}}")
        else:
            values.append(f"({arg.kernel_type})arg[{index}]")
    call = f"sys_{syscall.name}({', '.join(values)})"
    if len(call) + 11 > LINE_LIMIT:
        call = f"sys_{syscall.name}(" + ",".join(f"\n        {v}" for v in values) + ")"
    body = [] if syscall.args else ["    (void)arg;"]
    if syscall.noreturn:
        body += [f"    {call};", "    return ZX_ERR_NOT_SUPPORTED;  // only if unimplemented"]
    elif syscall.kernel_return == "void":
        body += [f"    {call};", "    return 0;"]
    else:
        body.append(f"    return {call};")
    return [f"static int64_t syscall_wrap_{syscall.name}(const uint64_t *arg) {{", *body, "}", ""]


def render_table(spec: SyscallSpec) -> str:
    lines = [
        banner(spec),
        "//",
        "// The kernel's syscall dispatch table; include it in exactly one file, the dispatcher:",
        "//   syscall_lookup(num)  the entry for a syscall number, or NULL if there is none",
        "//                        (then the caller gets sys_invalid_syscall's treatment)",
        "//   entry->fn(arg)       runs sys_<name> on arg[0..nargs-1], the caller's argument",
        "//                        registers; returns the value for its result register",
        "// Every sys_<name> has a weak default below that returns ZX_ERR_NOT_SUPPORTED (0 for",
        "// zx_time_t, nothing for void), so the kernel links before all handlers exist; a real",
        "// sys_<name> anywhere in the kernel replaces it. A noreturn handler that returns makes",
        "// the call return ZX_ERR_NOT_SUPPORTED, and the vDSO stub then traps.",
        "",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "#include <syscall-kernel.h>",
        "",
        "struct syscall_entry {",
        "    int64_t (*fn)(const uint64_t *arg);",
        "    uint8_t nargs;",
        "    uint8_t flags;  // SYSCALL_FLAG_*",
        "    const char *name;",
        "};",
        "",
        "// ---- Unimplemented defaults ----",
        "",
    ]
    for syscall in spec.kernel_syscalls:
        lines += _weak_default(syscall)
    lines += ["// ---- Wrappers: argument registers -> typed handler arguments ----", ""]
    for syscall in spec.kernel_syscalls:
        lines += _wrapper(syscall)
    lines.append("static const struct syscall_entry syscall_table[ZX_SYS_COUNT] = {")
    for syscall in spec.kernel_syscalls:
        index = f"    [ZX_SYS_{syscall.name}] ="
        value = (
            f"{{syscall_wrap_{syscall.name}, {len(syscall.args)}, {_flags_expr(syscall)}, "
            f'"{syscall.name}"}},'
        )
        one_line = f"{index} {value}"
        lines.append(one_line if len(one_line) <= LINE_LIMIT else f"{index}\n        {value}")
    lines += [
        "};",
        "",
        "static inline const struct syscall_entry *syscall_lookup(uint64_t num) {",
        "    if (num >= ZX_SYS_COUNT || syscall_table[num].fn == NULL) {",
        "        return NULL;",
        "    }",
        "    return &syscall_table[num];",
        "}",
        "",
    ]
    return "\n".join(lines)


STUB_MACRO_X86_64 = r"""
.macro zx_syscall_stub name, num, nargs, noreturn
    .p2align 4
    .globl _zx_\name
    .type _zx_\name, %function
_zx_\name:
    .cfi_startproc
.if \nargs >= 7
    push %r12
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r12, 0
.endif
.if \nargs == 8
    push %r13
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r13, 0
    mov 0x18(%rsp), %r12
    mov 0x20(%rsp), %r13
.elseif \nargs == 7
    mov 0x10(%rsp), %r12
.endif
.if \nargs >= 4
    mov %rcx, %r10
.endif
    mov $\num, %eax
    syscall
    .globl CODE_SYSRET_zx_\name\()_VIA_zx_\name
    .hidden CODE_SYSRET_zx_\name\()_VIA_zx_\name
CODE_SYSRET_zx_\name\()_VIA_zx_\name:
    nop
.if \noreturn
    ud2
.else
.if \nargs == 8
    pop %r13
    .cfi_adjust_cfa_offset -8
    .cfi_same_value %r13
.endif
.if \nargs >= 7
    pop %r12
    .cfi_adjust_cfa_offset -8
    .cfi_same_value %r12
.endif
    ret
.endif
    .cfi_endproc
    .size _zx_\name, . - _zx_\name
    .weak zx_\name
    .type zx_\name, %function
    .set zx_\name, _zx_\name
    .size zx_\name, . - _zx_\name
.endm
"""

STUB_MACRO_ARM64 = r"""
.macro zx_syscall_stub name, num, nargs, noreturn
    .p2align 4
    .globl _zx_\name
    .type _zx_\name, %function
_zx_\name:
    .cfi_startproc
    mov x16, #\num
    svc #0
    .globl CODE_SYSRET_zx_\name\()_VIA_zx_\name
    .hidden CODE_SYSRET_zx_\name\()_VIA_zx_\name
CODE_SYSRET_zx_\name\()_VIA_zx_\name:
    dsb nsh
    isb
    brk #0
.if \noreturn
    brk #1
.else
    ret
.endif
    .cfi_endproc
    .size _zx_\name, . - _zx_\name
    .weak zx_\name
    .type zx_\name, %function
    .set zx_\name, _zx_\name
    .size zx_\name, . - _zx_\name
.endm
"""

STUB_ABI_X86_64 = """\
// x86-64 kernel entry (reference section 4.2): number in %eax, arguments in %rdi, %rsi,
// %rdx, %r10 (moved from %rcx), %r8, %r9, %r12, %r13 (the 7th and 8th loaded from the
// caller's stack; %r12/%r13 are callee-saved, so the stub saves them), result in %rax.
// CODE_SYSRET_zx_<name>_VIA_zx_<name> is the return address of the `syscall`: the only PC
// the kernel accepts syscall <name> from. The `nop` after it leaves room to patch the 2-byte
// `syscall` into a 3-byte `vmcall`. A noreturn syscall that returns hits `ud2`."""

STUB_ABI_ARM64 = """\
// arm64 kernel entry (reference section 4.2): number in x16, arguments in x0-x7, result in
// x0. CODE_SYSRET_zx_<name>_VIA_zx_<name> is the return address of the `svc`: the only PC the
// kernel accepts syscall <name> from. The 12 bytes there (dsb nsh; isb; brk #0) stop
// speculation past the `svc`; the kernel returns to that address + 12, so hitting the `brk #0`
// means a kernel/vDSO mismatch. A noreturn syscall that returns hits `brk #1`."""


def _render_stubs(spec: SyscallSpec, abi: str, macro: str) -> str:
    lines = [
        banner(spec),
        "//",
        "// vDSO entry points: global _zx_<name> and its weak alias zx_<name> for every syscall",
        "// that enters the kernel (vdso-only syscalls are written in C in the vDSO itself).",
        "//",
        abi,
        "",
        "#include <zircon/syscalls-numbers.h>",
        macro,
        "    .text",
        "",
    ]
    for syscall in spec.kernel_syscalls:
        lines.append(
            f"zx_syscall_stub {syscall.name}, ZX_SYS_{syscall.name}, {len(syscall.args)}, "
            f"{int(syscall.noreturn)}"
        )
    lines += ["", '    .section .note.GNU-stack, "", %progbits', ""]
    return "\n".join(lines)


def render_stubs_x86_64(spec: SyscallSpec) -> str:
    return _render_stubs(spec, STUB_ABI_X86_64, STUB_MACRO_X86_64)


def render_stubs_arm64(spec: SyscallSpec) -> str:
    return _render_stubs(spec, STUB_ABI_ARM64, STUB_MACRO_ARM64)


# ---- The fuzzer's table -------------------------------------------------------------------

FUZZ_OPTION_NAMES = frozenset({"options", "topic", "property", "cmd", "rights"})
FUZZ_OPTION_TYPES = frozenset({"zx_vm_option_t", "zx_rights_t", "zx_signals_t"})
FUZZ_TIME_TYPES = frozenset({"zx_time_t", "zx_duration_t"})
FUZZ_ADDR_TYPES = frozenset({"zx_vaddr_t", "uintptr_t"})
FUZZ_SIZE_RE = re.compile(r"(^|_)(size|len|count)$|^num_")


def fuzz_kind(arg: Arg) -> str:
    """The fuzzer's kind of an argument: FUZZ_<kind> in syscall-fuzz-table.inc.

    HANDLE (a scalar handle), IN / OUT / INOUT (pointers, by direction), SIZE (size_t, or a
    count or length by its name), OPTIONS (options, topics, properties, commands, rights,
    signals, masks), TIME (deadlines, durations), ADDR (addresses), SCALAR (anything else).
    """
    if arg.ctype.pointer:
        return (arg.direction or "in").upper()
    base = arg.ctype.base
    if base == HANDLE_TYPE:
        return "HANDLE"
    if base in FUZZ_TIME_TYPES:
        return "TIME"
    if base in FUZZ_ADDR_TYPES:
        return "ADDR"
    if base in FUZZ_OPTION_TYPES or arg.name in FUZZ_OPTION_NAMES or arg.name.endswith("_mask"):
        return "OPTIONS"
    if base == "size_t" or FUZZ_SIZE_RE.search(arg.name):
        return "SIZE"
    return "SCALAR"


def _fuzz_arg(arg: Arg) -> str:
    flags = []
    if arg.release:
        flags.append("FUZZ_F_RELEASE")
    if arg.acquire:
        flags.append("FUZZ_F_ACQUIRE")
    if arg.is_handle and arg.ctype.pointer:
        flags.append("FUZZ_F_HANDLES")
    elem = "1" if arg.ctype.base in ("void", "char") else f"sizeof({arg.ctype.base})"
    if not arg.ctype.pointer:
        elem = "0"
    obj = f"ZX_OBJ_TYPE_{arg.obj}" if arg.obj else "ZX_OBJ_TYPE_NONE"
    return f"{{FUZZ_{fuzz_kind(arg)}, {' | '.join(flags) or '0'}, {obj}, {elem}}},"


def render_fuzz_table(spec: SyscallSpec) -> str:
    lines = [
        banner(spec),
        "//",
        "// bin/syscall-fuzz's table of every syscall, vdso-only ones included. The including",
        "// file defines struct fuzz_syscall / struct fuzz_arg and the FUZZ_* names (see",
        "// programs/syscall-fuzz/fuzz.h); each entry is",
        "//   {name, entry point, flags, return kind, argument count, {kind, flags, obj, elem}...}",
        "// where elem is the size of what a pointer points to (1 for void and char).",
        "",
        f"#define FUZZ_SYSCALL_COUNT {len(spec.syscalls)}",
        "",
        "static const struct fuzz_syscall fuzz_syscalls[FUZZ_SYSCALL_COUNT] = {",
    ]
    for syscall in spec.syscalls:
        flags = [f"FUZZ_S_{f.upper()}" for f in ("blocking", "noreturn") if getattr(syscall, f)]
        if syscall.vdso_only:
            flags.append("FUZZ_S_VDSO")
        returns = {"zx_status_t": "FUZZ_RET_STATUS", "void": "FUZZ_RET_VOID"}.get(
            syscall.returns, "FUZZ_RET_VALUE")
        lines += [
            f'    {{"{syscall.name}", (void (*)(void))zx_{syscall.name},',
            f"     {' | '.join(flags) or '0'}, {returns}, {len(syscall.args)},",
        ]
        if not syscall.args:
            lines.append("     {{0}}},  // no arguments")
            continue
        lines.append("     {")
        for arg in syscall.args:
            lines += [f"         // {arg.ctype.declare(arg.name)}", f"         {_fuzz_arg(arg)}"]
        lines.append("     }},")
    lines += ["};", ""]
    return "\n".join(lines)


# Output path (relative to the output directory) -> renderer.
OUTPUTS: dict[str, Callable[[SyscallSpec], str]] = {
    "zircon/syscalls-numbers.h": render_numbers,
    "zircon/syscalls-decls.h": render_decls,
    "syscall-kernel.h": render_kernel_header,
    "syscall-table.inc": render_table,
    "vdso-stubs-x86_64.S": render_stubs_x86_64,
    "vdso-stubs-arm64.S": render_stubs_arm64,
    "syscall-fuzz-table.inc": render_fuzz_table,
}


def write_outputs(spec: SyscallSpec, outdir: Path) -> list[Path]:
    """Write every generated file under ``outdir``; return their paths."""
    written = []
    for relpath, render in OUTPUTS.items():
        path = outdir / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(spec))
        written.append(path)
    return written


# ---- sysret: approved return addresses from the linked vDSO -------------------------------


class _ElfHeader(NamedTuple):  # Elf64_Ehdr
    ident: bytes
    type: int
    machine: int
    version: int
    entry: int
    phoff: int
    shoff: int
    flags: int
    ehsize: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int
    shstrndx: int


class _Section(NamedTuple):  # Elf64_Shdr
    name: int
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int


class _Symbol(NamedTuple):  # Elf64_Sym
    name: int
    info: int
    other: int
    shndx: int
    value: int
    size: int


ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
SECTION = struct.Struct("<IIQQQQIIQQ")
SYMBOL = struct.Struct("<IBBHQQ")
E_SHENTSIZE_OFFSET = 0x3A
SHT_SYMTAB = 2
SHN_UNDEF = 0


def _check_bounds(data: bytes, offset: int, size: int, path: str, what: str) -> None:
    if offset < 0 or offset + size > len(data):
        raise ElfError(path, f"{what} runs past the end of the file", offset)


def read_elf_symbols(data: bytes, path: str) -> dict[str, int]:
    """Defined symbols of a little-endian ELF64 file's .symtab: name -> st_value."""
    _check_bounds(data, 0, ELF_HEADER.size, path, "ELF header")
    header = _ElfHeader._make(ELF_HEADER.unpack_from(data, 0))
    if header.ident[:4] != b"\x7fELF" or header.ident[4] != 2 or header.ident[5] != 1:
        raise ElfError(path, "not a little-endian ELF64 file", 0)
    if header.shentsize != SECTION.size:
        raise ElfError(
            path,
            f"section header size {header.shentsize}, expected {SECTION.size}",
            E_SHENTSIZE_OFFSET,
        )
    sections = []
    for index in range(header.shnum):
        offset = header.shoff + index * SECTION.size
        _check_bounds(data, offset, SECTION.size, path, f"section header {index}")
        sections.append(_Section._make(SECTION.unpack_from(data, offset)))
    symtab = next((s for s in sections if s.type == SHT_SYMTAB), None)
    if symtab is None:
        raise ElfError(path, "no .symtab (was the vDSO stripped?)")
    if symtab.link >= len(sections):
        raise ElfError(path, f".symtab links to section {symtab.link} of {len(sections)}")
    strtab = sections[symtab.link]
    _check_bounds(data, strtab.offset, strtab.size, path, "symbol string table")
    _check_bounds(data, symtab.offset, symtab.size, path, ".symtab")
    symbols = {}
    for offset in range(symtab.offset, symtab.offset + symtab.size - SYMBOL.size + 1, SYMBOL.size):
        symbol = _Symbol._make(SYMBOL.unpack_from(data, offset))
        if symbol.shndx == SHN_UNDEF or symbol.name == 0:
            continue
        start = strtab.offset + symbol.name
        end = data.find(b"\0", start, strtab.offset + strtab.size)
        if symbol.name >= strtab.size or end < 0:
            raise ElfError(path, "symbol name outside its string table", offset)
        symbols[data[start:end].decode("ascii", "replace")] = symbol.value
    return symbols


def render_sysret(spec: SyscallSpec, symbols: dict[str, int], elf_path: str) -> str:
    """The vdso_sysret_offset[] initializer; every kernel syscall must have its symbol."""
    expected = {s.sysret_symbol: s for s in spec.kernel_syscalls}
    unknown = sorted(n for n in symbols if n.startswith(SYSRET_PREFIX) and n not in expected)
    if unknown:
        raise ElfError(elf_path, f"{unknown[0]} names no syscall of {spec.source}")
    lines = [
        banner(spec),
        "//",
        "// Offset from the vDSO's load address of each syscall's approved return address, read",
        f"// from the CODE_SYSRET_* symbols of {Path(elf_path).name}; an initializer body for",
        "//   const uintptr_t vdso_sysret_offset[ZX_SYS_COUNT] = {",
        "//   #include <vdso-sysret.inc>",
        "//   };",
        "// The kernel accepts syscall N only from user PC == vDSO base + vdso_sysret_offset[N].",
        "",
    ]
    for symbol, syscall in expected.items():
        if symbol not in symbols:
            raise ElfError(elf_path, f"no symbol {symbol} (vDSO built from other definitions?)")
        lines.append(f"[ZX_SYS_{syscall.name}] = {symbols[symbol]:#x},")
    lines.append("")
    return "\n".join(lines)


# ---- CLI ---------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sysgen.py",
        description="Generate zhb's syscall numbers, prototypes, kernel dispatch table and vDSO "
        "stubs from the syscall definition file (guest_payloads/syscalls/zircon.syscalls).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    generate = sub.add_parser(
        "generate",
        help="write every generated source into a directory",
        description="Write " + ", ".join(OUTPUTS) + " under OUTPUT_DIR.",
    )
    generate.add_argument("definitions", type=Path, help="the syscall definition file")
    generate.add_argument("-o", "--output-dir", type=Path, required=True)
    sysret = sub.add_parser(
        "sysret",
        help="write the kernel's table of approved syscall return addresses",
        description="Read the CODE_SYSRET_* symbols of a linked vDSO (ELF64) and write the "
        "[ZX_SYS_<name>] = <offset> initializer the kernel checks the caller's PC against.",
    )
    sysret.add_argument("definitions", type=Path, help="the syscall definition file")
    sysret.add_argument("vdso", type=Path, help="the linked vDSO, with its .symtab")
    sysret.add_argument("-o", "--output", type=Path, required=True)
    for sub_parser in (generate, sysret):
        sub_parser.add_argument(
            "--sysroot",
            type=Path,
            default=DEFAULT_SYSROOT,
            help="include directory whose zircon/types.h and zircon/rights.h define the "
            "object types and rights annotations may name (default: %(default)s)",
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        spec = parse_file(args.definitions, args.sysroot)
        if args.command == "generate":
            write_outputs(spec, args.output_dir)
        else:
            symbols = read_elf_symbols(args.vdso.read_bytes(), str(args.vdso))
            text = render_sysret(spec, symbols, str(args.vdso))
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(text)
    except SysgenError as exc:
        print(exc, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"sysgen: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
