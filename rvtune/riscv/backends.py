"""The real assemblers the validator drives: finding one, running it, reading its diagnostics.

Three kinds, tried in this order when none is named: LLVM's ``llvm-mc`` (also ``llvm-mc-NN``
and Homebrew's), GNU ``riscv64-*-as``, and the clang inside the ``ziglang`` pip package. Each
``Backend`` assembles one source text to an ELF object for RV32 or RV64 with every extension
the validator checks (I M A F D C V Zicsr Zifencei Zba Zbb Zbc Zbs Zfh) and returns the object
bytes plus its diagnostics as ``(line, column, severity, message)``.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re

try:
    import resource
except ImportError:   # Windows: only the timeout limits the assembler
    resource = None
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rvtune.core.errors import MissingDependencyError, RvtuneError

ENV_VAR = "RVTUNE_ASM_BACKEND"
KINDS = ("llvm-mc", "gnu-as", "zig")
EXTENSIONS = ("m", "a", "f", "d", "c", "v", "zicsr", "zifencei", "zba", "zbb", "zbc", "zbs",
              "zfh")
HOMEBREW_LLVM_MC = ("/opt/homebrew/opt/llvm/bin/llvm-mc", "/usr/local/opt/llvm/bin/llvm-mc")
GNU_AS_NAMES = ("riscv64-linux-gnu-as", "riscv64-unknown-elf-as", "riscv64-unknown-linux-gnu-as",
                "riscv64-elf-as", "riscv64-linux-as")
LIMITS = {"cpu_s": 60, "memory_bytes": 4 << 30, "output_bytes": 256 << 20, "timeout_s": 120}
"""Per assembler process: CPU seconds, address space, largest file it may write, wall clock."""
INSTALL_HINT = ("install one: Debian/Ubuntu `apt-get install llvm`, macOS `brew install llvm`, "
                "or `pip install ziglang`; or set RVTUNE_ASM_BACKEND to an assembler's path")


@dataclass(frozen=True)
class Diagnostic:
    """One assembler message; ``line`` is 1-based in the assembled text, None if unplaced."""

    line: int | None
    column: int | None
    severity: str  # "error" | "warning" | "note"
    message: str


class Backend:
    """One assembler executable and how to drive it."""

    kind = ""

    def __init__(self, path: str):
        self.path = path
        self.version = self._version()

    @property
    def name(self) -> str:
        """``kind version``, e.g. ``llvm-mc 14.0.6``."""
        return f"{self.kind} {self.version}".strip()

    def command(self, source: Path, obj: Path, xlen: int) -> tuple[list[str], bytes | None]:
        """The argv assembling ``source`` (or stdin, returned as the second item) into ``obj``."""
        raise NotImplementedError

    def diagnostics(self, stderr: str, source: Path) -> list[Diagnostic]:
        """Parse the assembler's stderr; unplaced errors get ``line=None``."""
        raise NotImplementedError

    def assemble(self, text: str, workdir: Path, stem: str, xlen: int
                 ) -> tuple[bytes | None, list[Diagnostic]]:
        """Assemble ``text``; return the object bytes (None on failure) and the diagnostics."""
        source, obj = workdir / f"{stem}.s", workdir / f"{stem}.o"
        argv, stdin = self.command(source, obj, xlen)
        if stdin is None:
            source.write_text(text)
        try:
            proc = subprocess.run(argv, input=text.encode() if stdin is not None else None,
                                  capture_output=True, timeout=LIMITS["timeout_s"], env=_env(),
                                  preexec_fn=_limit_resources if resource else None)
        except subprocess.TimeoutExpired:
            for path in (source, obj):
                path.unlink(missing_ok=True)
            return None, [Diagnostic(None, None, "error", f"assembler stopped after its "
                                     f"{LIMITS['timeout_s']} s time limit")]
        except OSError as exc:
            return None, [Diagnostic(None, None, "error", f"could not run {argv[0]}: {exc}")]
        stderr = proc.stderr.decode(errors="replace")
        diags = self.diagnostics(stderr, source)
        data = obj.read_bytes() if proc.returncode == 0 and obj.exists() else None
        if data is None and not any(d.severity == "error" for d in diags):
            if proc.returncode < 0:
                msg = (f"assembler killed by signal {-proc.returncode} (over its time, memory "
                       "or output limit?)")
            else:
                msg = unquote(stderr.strip().splitlines()[0]) if stderr.strip() else ""
                msg = msg or f"exit status {proc.returncode}"
            diags.append(Diagnostic(None, None, "error", msg))
        for path in (source, obj):
            path.unlink(missing_ok=True)
        return data, diags

    def _version(self) -> str:
        return ""


def _env() -> dict[str, str]:
    # A crashing llvm-mc (``.bss sym, n`` aborts LLVM 14) spends 0.1 s symbolizing its backtrace.
    return {**os.environ, "LLVM_DISABLE_SYMBOLIZATION": "1"}


def _limit_resources() -> None:
    # Runs in the child between fork and exec: only setrlimit calls, no imports or allocation.
    for which, value in ((resource.RLIMIT_CPU, LIMITS["cpu_s"]),
                         (resource.RLIMIT_AS, LIMITS["memory_bytes"]),
                         (resource.RLIMIT_FSIZE, LIMITS["output_bytes"]),
                         (resource.RLIMIT_CORE, 0)):
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):   # macOS refuses RLIMIT_AS; the timeout still applies
            pass


def unquote(message: str) -> str:
    """``message`` with quoted text replaced by ``'...'``.

    For messages the assembler did not tie to a line of the snippet: their quotes may hold
    text from anywhere (a file name, a line of some other file), never echoed into reports.
    """
    return re.sub(r"'[^'\n]*'|\"[^\"\n]*\"|`[^`'\n]*'", "'...'", message)


_CLANG_DIAG = r"^{}:(\d+):(\d+): (error|warning|note): (.*)$"


def _clang_style(stderr: str, name: str) -> list[Diagnostic]:
    pattern = re.compile(_CLANG_DIAG.format(re.escape(name)))
    diags = []
    for line in stderr.splitlines():
        m = pattern.match(line)
        if m:
            diags.append(Diagnostic(int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)))
        elif re.match(r"^(LLVM ERROR|error|fatal error):", line):
            message = unquote(line.split(":", 1)[1].strip())
            diags.append(Diagnostic(None, None, "error", message))
    return diags


class LlvmMc(Backend):
    """LLVM's ``llvm-mc``, fed on stdin, writing ``-filetype=obj``."""

    kind = "llvm-mc"

    def _version(self) -> str:
        out = _run_quiet([self.path, "--version"])
        m = re.search(r"LLVM version (\d+[.\d]*)", out)
        return m.group(1) if m else "unknown"

    @property
    def mattr(self) -> str:
        """The ``-mattr`` value: each extension under the name this LLVM knows it by."""
        known = _llvm_features(self.path)
        attrs = []
        for ext in EXTENSIONS:
            for name in (ext, "experimental-" + ext):
                if name in known:
                    attrs.append("+" + name)
                    break
        return ",".join(attrs)

    def command(self, source, obj, xlen):
        return [self.path, f"-triple=riscv{xlen}", f"-mattr={self.mattr}", "-filetype=obj",
                "-o", str(obj), "-"], b""

    def diagnostics(self, stderr, source):
        return _clang_style(stderr, "<stdin>")


class GnuAs(Backend):
    """GNU ``as`` for RISC-V, with the ISA given as ``-march``."""

    kind = "gnu-as"
    # Older binutils reject zicsr/zifencei in -march (they were part of I); try with, then without.
    MARCH = ("rv{x}imafdcv_zicsr_zifencei_zba_zbb_zbc_zbs_zfh", "rv{x}imafdcv_zba_zbb_zbc_zbs_zfh")
    march_index = 0

    def _version(self) -> str:
        out = _run_quiet([self.path, "--version"])
        m = re.search(r"GNU assembler.*?(\d+\.\d+[.\d]*)", out)
        return m.group(1) if m else "unknown"

    def command(self, source, obj, xlen):
        march = self.MARCH[self.march_index].format(x=xlen)
        abi = "lp64d" if xlen == 64 else "ilp32d"
        return [self.path, f"-march={march}", f"-mabi={abi}", "-o", str(obj), str(source)], None

    def diagnostics(self, stderr, source):
        pattern = re.compile(rf"^{re.escape(str(source))}:(\d+): (Error|Warning|Info): (.*)$")
        diags = []
        for line in stderr.splitlines():
            m = pattern.match(line)
            if m:
                diags.append(Diagnostic(int(m.group(1)), None, m.group(2).lower(), m.group(3)))
            elif "Error:" in line or "Fatal error:" in line:
                diags.append(Diagnostic(None, None, "error",
                                        unquote(line.split("rror:", 1)[1].strip())))
        return diags


class Zig(Backend):
    """The clang bundled with the ``ziglang`` pip package (``python -m ziglang cc -c x.s``)."""

    kind = "zig"
    FEATURES = "+m+a+f+d+c+v+zicsr+zifencei+zba+zbb+zbc+zbs+zfh"

    def _exe(self) -> list[str]:
        return [sys.executable, "-m", "ziglang"] if self.path == "ziglang" else [self.path]

    def _version(self) -> str:
        return _run_quiet(self._exe() + ["version"]).strip() or "unknown"

    def command(self, source, obj, xlen):
        return self._exe() + ["cc", "-target", f"riscv{xlen}-linux-musl",
                f"-mcpu=generic_rv{xlen}{self.FEATURES}", "-c", str(source), "-o", str(obj)], None

    def diagnostics(self, stderr, source):
        return _clang_style(stderr, str(source))


def _run_quiet(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (proc.stdout + proc.stderr).decode(errors="replace")


@lru_cache(maxsize=None)
def _llvm_features(path: str) -> frozenset[str]:
    out = _run_quiet([path, "-triple=riscv64", "-mattr=help"])
    return frozenset(m.group(1) for m in re.finditer(r"^\s+([a-z0-9][\w.-]*)\s+- ", out, re.M))


def _on_path(pattern: str) -> list[str]:
    found = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        found.extend(p for p in glob.glob(os.path.join(folder, pattern)) if os.access(p, os.X_OK))
    return found


def candidates() -> list[Backend]:
    """Every assembler found on this machine, in preference order (not yet self-tested)."""
    found: list[Backend] = []
    seen: set[str] = set()

    def add(cls, path):
        if path and path not in seen:
            seen.add(path)
            found.append(cls(path))

    add(LlvmMc, shutil.which("llvm-mc"))
    versioned = [p for p in _on_path("llvm-mc-*") if re.search(r"llvm-mc-\d+$", p)]
    for path in sorted(versioned, key=lambda p: -int(p.rsplit("-", 1)[1])):
        add(LlvmMc, path)
    if sys.platform == "darwin":
        for path in HOMEBREW_LLVM_MC:
            if os.access(path, os.X_OK):
                add(LlvmMc, path)
    for name in GNU_AS_NAMES:
        add(GnuAs, shutil.which(name))
    for path in sorted(_on_path("riscv64-*-as")):
        add(GnuAs, path)
    if importlib.util.find_spec("ziglang") is not None:
        add(Zig, "ziglang")
    return found


def from_spec(spec: str) -> Backend:
    """The backend a user named: a kind (``llvm-mc``, ``gnu-as``, ``zig``) or a path."""
    if spec in KINDS:
        for backend in candidates():
            if backend.kind == spec:
                return backend
        raise MissingDependencyError(f"assembler backend {spec!r} was asked for "
                                     f"(option or {ENV_VAR}) but is not installed; {INSTALL_HINT}")
    path = shutil.which(spec) or (spec if os.access(spec, os.X_OK) else None)
    if path is None:
        raise RvtuneError(f"assembler backend {spec!r} (option or {ENV_VAR}) is neither one of "
                          f"{', '.join(KINDS)} nor an executable path; fix the name or path")
    base = os.path.basename(path)
    if "llvm-mc" in base:
        return LlvmMc(path)
    if "zig" in base:
        return Zig(path)
    if base.endswith("as"):
        return GnuAs(path)
    raise RvtuneError(f"assembler backend {spec!r}: cannot tell what kind of assembler "
                      f"{base!r} is (expected llvm-mc*, *-as or zig); pass one of "
                      f"{', '.join(KINDS)} or a path to such an executable")
