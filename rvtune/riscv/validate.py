"""Check RISC-V assembly snippets with a real assembler, thousands per assembler process.

    from rvtune.riscv.validate import Validator
    v = Validator()                        # llvm-mc, GNU as or zig; RVTUNE_ASM_BACKEND overrides
    [r.valid for r in v.check_many(["add rd, rs1, rs2", "add a0, a1"])]   # [True, False]

Each snippet is assembled for RV64 with I M A F D C V Zicsr Zifencei Zba Zbb Zbc Zbs Zfh, and
again for RV32 if that fails (``c.jal``, ``c.flw`` exist only there). Snippets are batched
into one source text, each fenced by its own section, ``.option push``/``.option norvc``/
``.option norelax`` ... ``.option pop``, with the labels it defines renamed apart; diagnostics
are mapped back to the snippet's own line numbers. Snippets whose directives could leak state
past the fence (macros, conditionals, ``.option push`` ...) are assembled alone. Batching gives
the same verdicts, messages and encodings as one-by-one; tests/riscv/test_validate.py checks it.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rvtune.core.errors import MissingDependencyError, RvtuneError
from rvtune.riscv import backends
from rvtune.riscv.elf import ElfObject
from rvtune.riscv.guard import refusal
from rvtune.riscv.placeholders import substitute_placeholders

__all__ = ["Validator", "ValidationResult", "substitute_placeholders"]


@dataclass(frozen=True)
class ValidationResult:
    """The verdict on one snippet.

    ``message`` is the assembler's error text with the snippet's own line numbers
    (``'3:5: error: ...'`` followed by the offending line and a caret), '' when valid.
    ``encoding`` is the machine code the snippet put in its code section (b'' if invalid);
    ``relocations`` are ``(offset, type, symbol, addend)`` tuples relative to the snippet start,
    e.g. ``(0, 'R_RISCV_CALL', 'foo', 0)``. ``snippet`` is the text assembled (after placeholder
    substitution); ``xlen`` is 64, or 32 when only the RV32 retry accepted it.
    """

    valid: bool
    message: str
    encoding: bytes
    relocations: tuple
    backend: str
    snippet: str
    xlen: int = 64


# Directives that only emit data or change per-snippet state that the fence resets.
_SAFE_DIRECTIVES = {
    ".text", ".data", ".bss", ".section", ".globl", ".global", ".local", ".weak", ".hidden",
    ".type", ".size", ".word", ".half", ".short", ".byte", ".2byte", ".4byte", ".8byte",
    ".dword", ".quad", ".long", ".int", ".string", ".asciz", ".ascii", ".zero", ".space",
    ".skip", ".align", ".p2align", ".balign", ".equ", ".set", ".option", ".insn", ".float",
    ".double", ".file", ".ident",
}
_SAFE_OPTIONS = {"rvc", "norvc", "relax", "norelax", "pic", "nopic"}
_SUFFIX = "__rvtune"
_SECTION = ".text.rvtune."
_SELF_TEST = ("add a0, a0, a1\nfadd.s fa0, fa1, fa2\nfadd.d fa0, fa1, fa2\nc.add a0, a1\n"
              "vsetvli t0, a0, e32, m1, ta, ma\nvadd.vv v8, v16, v24")
_SELF_TEST_SIZE = 22
_ADD_A0_A0_A1 = bytes.fromhex("3305b500")
_LABELS = re.compile(r"^\s*((?:[A-Za-z_.$][\w.$]*|\d+)\s*:\s*)+")
_ONE_LABEL = re.compile(r"([A-Za-z_.$][\w.$]*|\d+)\s*:")
_NUMERIC_REF = re.compile(r"(?<![\w.$])(\d+)([bf])(?![\w.$])")
_TEMP_SYMBOL = re.compile(r"^\.L(pcrel_hi|tmp)\d+$")
_REGISTERS = ({f"x{i}" for i in range(32)} | {f"f{i}" for i in range(32)}
              | {f"v{i}" for i in range(32)}
              | set("zero ra sp gp tp fp".split()) | {f"t{i}" for i in range(7)}
              | {f"s{i}" for i in range(12)} | {f"a{i}" for i in range(8)}
              | {f"ft{i}" for i in range(12)} | {f"fs{i}" for i in range(12)}
              | {f"fa{i}" for i in range(8)})


def _code_and_comment(line: str) -> tuple[str, str]:
    if '"' not in line:
        i = line.find("#")
        return (line, "") if i < 0 else (line[:i], line[i:])
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"' and (i == 0 or line[i - 1] != "\\"):
            quoted = not quoted
        elif ch == "#" and not quoted:
            return line[:i], line[i:]
    return line, ""


def _statements(code: str) -> list[str]:
    if '"' not in code:
        return code.split(";")
    out, start, quoted = [], 0, False
    for i, ch in enumerate(code):
        if ch == '"' and (i == 0 or code[i - 1] != "\\"):
            quoted = not quoted
        elif ch == ";" and not quoted:
            out.append(code[start:i])
            start = i + 1
    out.append(code[start:])
    return out


@dataclass
class _Prep:
    """A snippet analysed for batching: what it defines, and whether it may share a process."""

    text: str
    lines: list[str]
    batchable: bool = True
    defined: list[str] = field(default_factory=list)
    rvc_lines: set[int] = field(default_factory=set)
    text_lines: set[int] = field(default_factory=set)
    directives: set[str] = field(default_factory=set)   # outside the allowlist


def _prepare(text: str) -> _Prep:
    prep = _Prep(text, text.split("\n"))
    if "/*" in text or "*/" in text or "\\" in text or "rvtune" in text:
        prep.batchable = False
    rvc_on = False
    numeric_defs: list[tuple[int, int, str]] = []   # (line, pos, number)
    numeric_refs: list[tuple[int, int, str, str]] = []
    heads: set[str] = set()
    defined: dict[str, None] = {}
    for n, line in enumerate(prep.lines):
        code, _ = _code_and_comment(line)
        for m in _NUMERIC_REF.finditer(code):
            numeric_refs.append((n, m.start(), m.group(1), m.group(2)))
        for stmt in _statements(code):
            labels = _LABELS.match(stmt)
            rest = stmt[labels.end():] if labels else stmt
            if labels:
                for name in _ONE_LABEL.findall(labels.group(0)):
                    if name.isdigit():
                        numeric_defs.append((n, code.find(name + ":"), name))
                    else:
                        defined[name] = None
            words = rest.split(None, 1)
            if not words:
                continue
            head, args = words[0].lower(), (words[1] if len(words) > 1 else "")
            heads.add(head)
            if head.startswith("."):
                arg = args.strip().lower()
                if head == ".option" and arg not in _SAFE_OPTIONS:
                    prep.batchable = False
                elif head not in _SAFE_DIRECTIVES:
                    prep.directives.add(head)
                if head == ".option":
                    rvc_on = {"rvc": True, "norvc": False}.get(arg, rvc_on)
                if head in (".equ", ".set"):
                    defined[args.split(",")[0].strip()] = None
                if head == ".text" and not arg:
                    prep.text_lines.add(n)
                if head in (".text", ".data", ".bss") and arg:
                    prep.batchable = False   # LLVM 14 aborts on ".bss sym, n": no line to map
            elif re.match(r"^[A-Za-z_.$][\w.$]*\s*=", rest.strip()):
                defined[rest.split("=")[0].strip()] = None
            elif head.startswith("c.") and not rvc_on:
                prep.rvc_lines.add(n)
    for n, pos, num, direction in numeric_refs:
        if direction == "b":
            ok = any((dn, dp) < (n, pos) for dn, dp, dnum in numeric_defs if dnum == num)
        else:
            ok = any((dn, dp) > (n, pos) for dn, dp, dnum in numeric_defs if dnum == num)
        if not ok:
            prep.batchable = False  # would bind to a neighbour's label in a batch
    names = list(defined)
    if any(name in _REGISTERS or name.lower() in heads or not re.fullmatch(r"[A-Za-z_.$][\w.$]*",
                                                                           name)
           for name in names):
        prep.batchable = False
        names = []
    prep.defined = names
    return prep


@dataclass
class _Rendered:
    lines: list[str]
    shifts: list[list[tuple[int, int]]]   # per line: (position in new line, chars added before)


def _render(prep: _Prep, k: int) -> _Rendered:
    rename = {name: f"{name}{_SUFFIX}{k}" for name in prep.defined}
    pattern = (re.compile(r"(?<![\w.$])(" + "|".join(map(re.escape, rename)) + r")(?![\w.$])")
               if rename else None)
    lines, shifts = [], []
    for n, line in enumerate(prep.lines):
        shift: list[tuple[int, int]] = []
        if n in prep.text_lines:
            code, comment = _code_and_comment(line)
            new = f'.section {_SECTION}{k},"ax",@progbits {comment}'.rstrip()
            lines.append(new)
            shifts.append([(0, len(new) - len(line))])
            continue
        code, comment = _code_and_comment(line)
        if pattern is not None:
            quoted = [m.span() for m in re.finditer(r'"(?:[^"\\]|\\.)*"', code)]
            added = 0

            def sub(m: re.Match) -> str:
                nonlocal added
                if any(a <= m.start() < b for a, b in quoted):
                    return m.group(0)
                new_name = rename[m.group(1)]
                added += len(new_name) - len(m.group(1))
                shift.append((m.end() + added, added))
                return new_name

            code = pattern.sub(sub, code)
        if n in prep.rvc_lines:
            prefix = ".option rvc; "
            code = prefix + code + "; .option norvc "
            shift = [(0, len(prefix))] + [(p + len(prefix), a + len(prefix)) for p, a in shift]
        lines.append(code + comment)
        shifts.append(shift)
    return _Rendered(lines, shifts)


def _original_column(shift: list[tuple[int, int]], col: int) -> int:
    added = 0
    for pos, total in shift:
        if col - 1 >= pos:
            added = total
    return max(1, col - added)


@dataclass
class _Outcome:
    valid: bool
    message: str = ""
    encoding: bytes = b""
    relocations: tuple = ()


class Validator:
    """Assembles snippets with a real RISC-V assembler and reports what it said.

    ``backend``: None picks the first that passes the self-test among ``llvm-mc`` (and
    ``llvm-mc-NN``, Homebrew's), GNU ``riscv64-*-as`` and the ``ziglang`` package, unless the
    ``RVTUNE_ASM_BACKEND`` environment variable names one; a kind (``llvm-mc``, ``gnu-as``,
    ``zig``) or an executable path selects it explicitly. ``batch_size`` caps snippets per
    assembler process; ``jobs`` is how many processes run at once (default: CPU count).
    """

    def __init__(self, backend: str | None = None, *, batch_size: int = 2000,
                 jobs: int | None = None):
        self.batch_size = max(1, batch_size)
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self._counter = 0
        self._lock = threading.Lock()
        self._backend = self._choose(backend or os.environ.get(backends.ENV_VAR) or None)

    @property
    def backend_name(self) -> str:
        """The assembler kind: ``llvm-mc``, ``gnu-as`` or ``zig``."""
        return self._backend.kind

    @property
    def backend_version(self) -> str:
        """The assembler's version, e.g. ``14.0.6``."""
        return self._backend.version

    @property
    def backend_path(self) -> str:
        """The executable that runs (``ziglang`` for the pip package)."""
        return self._backend.path

    def check(self, snippet: str, substitute: bool = True) -> ValidationResult:
        """Validate one snippet; see ``check_many``."""
        return self.check_many([snippet], substitute=substitute)[0]

    def check_many(self, snippets: list[str], substitute: bool = True) -> list[ValidationResult]:
        """Validate every snippet, batched; results are in input order.

        With ``substitute`` (the default), placeholder operands are first replaced by
        ``substitute_placeholders``, so spec-style text like ``lw rd, imm(rs1)`` assembles.
        Snippets that would read files or emit unbounded output (``.include``, ``.incbin``,
        ``.space 1<<40`` ...; see ``rvtune.riscv.guard``) are invalid without being assembled,
        with a message starting ``refused:``.
        """
        texts = [substitute_placeholders(s) if substitute else s for s in snippets]
        unique = list(dict.fromkeys(texts))
        outcomes: dict[str, tuple[_Outcome, int]] = {}
        for text in unique:
            why = refusal(text)
            if why:
                outcomes[text] = (_Outcome(False, f"refused: {why}"), 64)
        with tempfile.TemporaryDirectory(prefix="rvtune-asm-") as tmp:
            outcomes.update(self._check_unique([t for t in unique if t not in outcomes],
                                               Path(tmp)))
        results = []
        for text in texts:
            outcome, xlen = outcomes[text]
            results.append(ValidationResult(outcome.valid, outcome.message, outcome.encoding,
                                            outcome.relocations, self._backend.name, text, xlen))
        return results

    # -- internals --------------------------------------------------------------------------

    def _check_unique(self, texts: list[str], workdir: Path) -> dict[str, tuple[_Outcome, int]]:
        preps = [_prepare(t) for t in texts]
        unknown = self._unknown_directives({d for p in preps if p.batchable
                                            for d in p.directives}, workdir)
        for prep in preps:
            # A directive the assembler does not know is an error on its line and changes
            # nothing, so it may share a process; any other unlisted one is assembled alone.
            prep.batchable = prep.batchable and prep.directives <= unknown
        result: dict[str, tuple[_Outcome, int]] = {}
        for prep, outcome in zip(preps, self._run_all(preps, 64, workdir)):
            result[prep.text] = (outcome, 64)
        retry = [p for p in preps if not result[p.text][0].valid]
        for prep, outcome in zip(retry, self._run_all(retry, 32, workdir)):
            if outcome.valid:
                result[prep.text] = (outcome, 32)
        return result

    def _run_all(self, preps: list[_Prep], xlen: int, workdir: Path) -> list[_Outcome]:
        if not preps:
            return []
        batch = [i for i, p in enumerate(preps) if p.batchable]
        alone = [[i] for i, p in enumerate(preps) if not p.batchable]
        size = max(1, min(self.batch_size, -(-len(batch) // self.jobs)))
        groups = [batch[i:i + size] for i in range(0, len(batch), size)] + alone
        out: list[_Outcome | None] = [None] * len(preps)
        with ThreadPoolExecutor(max_workers=min(self.jobs, len(groups))) as pool:
            futures = [(g, pool.submit(self._run, [preps[i] for i in g], xlen, workdir))
                       for g in groups]
            for group, future in futures:
                for i, outcome in zip(group, future.result()):
                    out[i] = outcome
        return out  # type: ignore[return-value]

    def _run(self, preps: list[_Prep], xlen: int, workdir: Path,
             backend: backends.Backend | None = None) -> list[_Outcome]:
        """Assemble ``preps`` together; the verdicts equal assembling each alone.

        A failed run writes no object, so snippets whose errors llvm-mc tied to a line are
        settled as invalid and the rest run again as one batch, until a run succeeds (layout
        errors, such as an out-of-range branch, only appear once parsing does). When a run
        fails with no error tied to a line (a crash, a limit), the batch is halved until the
        culprit is alone.
        """
        out: list[_Outcome | None] = [None] * len(preps)
        pending = list(range(len(preps)))
        while pending:
            data, errors, unplaced = self._run_once([preps[i] for i in pending], xlen,
                                                    workdir, backend)
            if data is not None:
                for i, outcome in zip(pending, data):
                    out[i] = outcome
                break
            if errors:
                for k, messages in errors.items():
                    out[pending[k]] = _Outcome(False, "\n".join(messages))
                pending = [i for k, i in enumerate(pending) if k not in errors]
                continue
            if len(pending) == 1:
                out[pending[0]] = _Outcome(False, "\n".join(unplaced) or "assembler failed")
                break
            half = len(pending) // 2
            for part in (pending[:half], pending[half:]):
                for i, outcome in zip(part, self._run([preps[i] for i in part], xlen, workdir,
                                                      backend)):
                    out[i] = outcome
            break
        return out  # type: ignore[return-value]

    def _run_once(self, preps: list[_Prep], xlen: int, workdir: Path,
                  backend: backends.Backend | None
                  ) -> tuple[list[_Outcome] | None, dict[int, list[str]], list[str]]:
        """One assembler process: (outcomes if it succeeded, errors per snippet, unplaced)."""
        backend = backend or self._backend
        rendered = [_render(p, k) for k, p in enumerate(preps)]
        lines, owner = [], []   # owner[i] = (snippet index, snippet line 1-based or 0 = fence)
        for k, r in enumerate(rendered):
            fence = [f'.section {_SECTION}{k},"ax",@progbits', ".option push",
                     ".option norvc", ".option norelax"]
            lines += fence
            owner += [(k, 0)] * len(fence)
            lines += r.lines
            owner += [(k, n + 1) for n in range(len(r.lines))]
            lines.append(".option pop")
            owner.append((k, 0))
        with self._lock:
            self._counter += 1
            stem = f"b{self._counter}"
        data, diags = backend.assemble("\n".join(lines) + "\n", workdir, stem, xlen)
        if data is not None:
            return self._split_object(data, preps), {}, []
        errors: dict[int, list[str]] = {}
        unplaced = []
        for d in diags:
            if d.severity != "error":
                continue
            if d.line is None or not 1 <= d.line <= len(owner):
                unplaced.append(d.message)
                continue
            k, n = owner[d.line - 1]
            errors.setdefault(k, []).append(self._format(d, preps[k], rendered[k], n, k))
        return None, errors, unplaced

    def _unknown_directives(self, heads: set[str], workdir: Path) -> set[str]:
        """Which of ``heads`` this assembler rejects as unknown directives (cached)."""
        cache = _UNKNOWN.setdefault(self._backend.path, {})
        ask = sorted(h for h in heads - cache.keys() if re.fullmatch(r"\.[A-Za-z_][\w.]*", h))
        if ask:
            _, diags = self._backend.assemble("\n".join(ask) + "\n", workdir, "probe", 64)
            said = {ask[d.line - 1] for d in diags if d.line and 1 <= d.line <= len(ask)
                    and re.search(r"unknown (directive|pseudo-op)", d.message)}
            cache.update((h, h in said) for h in ask)
        return {h for h in heads if cache.get(h)}

    @staticmethod
    def _format(d, prep: _Prep, rendered: _Rendered, n: int, k: int) -> str:
        message = d.message
        for name in prep.defined:
            message = message.replace(f"{name}{_SUFFIX}{k}", name)
        if n == 0:
            return f"end of snippet: error: {message}"
        source = prep.lines[n - 1]
        if d.column is None:
            return f"{n}: error: {message}\n{source}"
        col = _original_column(rendered.shifts[n - 1], d.column)
        return f"{n}:{col}: error: {message}\n{source}\n{' ' * (col - 1)}^"

    @staticmethod
    def _split_object(data: bytes, preps: list[_Prep]) -> list[_Outcome]:
        elf = ElfObject(data)
        index = {s.name: i for i, s in enumerate(elf.sections)}
        out = []
        for k, prep in enumerate(preps):
            i = index.get(f"{_SECTION}{k}")
            if i is None:
                out.append(_Outcome(True))
                continue
            back = {f"{name}{_SUFFIX}{k}": name for name in prep.defined}
            temps: dict[str, str] = {}
            counts: dict[str, int] = {}
            relocs = []
            for offset, typ, sym, addend in elf.relocations(i):
                if sym.startswith(_SECTION):
                    sym = ".text"
                sym = back.get(sym, sym)
                m = _TEMP_SYMBOL.match(sym)
                if m and sym not in temps:
                    # assembler temporaries are numbered per file: renumber them per snippet
                    temps[sym] = f".L{m.group(1)}{counts.get(m.group(1), 0)}"
                    counts[m.group(1)] = counts.get(m.group(1), 0) + 1
                sym = temps.get(sym, sym)
                relocs.append((offset, typ, sym, addend))
            out.append(_Outcome(True, "", elf.sections[i].data, tuple(relocs)))
        return out

    def _choose(self, spec: str | None) -> backends.Backend:
        if spec:
            backend = backends.from_spec(spec)
            problem = self._self_test(backend)
            if problem:
                raise RvtuneError(f"assembler {backend.path} ({backend.name}) failed the RISC-V "
                                  f"self-test: {problem}; use a newer one or another backend "
                                  f"(RVTUNE_ASM_BACKEND=llvm-mc|gnu-as|zig)")
            return backend
        found = backends.candidates()
        problems = []
        for backend in found:
            problem = self._self_test(backend)
            if not problem:
                return backend
            problems.append(f"{backend.path} ({backend.name}): {problem}")
        if not found:
            raise MissingDependencyError("no RISC-V assembler found (looked for llvm-mc, "
                                         "llvm-mc-NN, riscv64-*-as and the ziglang package); "
                                         + backends.INSTALL_HINT)
        raise MissingDependencyError("no RISC-V assembler passed the self-test ("
                                     + "; ".join(problems) + "); " + backends.INSTALL_HINT)

    def _self_test(self, backend: backends.Backend) -> str:
        """'' when ``backend`` accepts base, F/D, C and V and keeps ``add`` uncompressed."""
        cached = _SELF_TESTS.get((backend.kind, backend.path))
        if cached is not None:
            return cached
        problem = ""
        for attempt in range(len(getattr(backend, "MARCH", ("",)))):
            if hasattr(backend, "MARCH"):
                backend.march_index = attempt
            problem = self._self_test_once(backend)
            if not problem:
                break
        _SELF_TESTS[(backend.kind, backend.path)] = problem
        return problem

    def _self_test_once(self, backend: backends.Backend) -> str:
        with tempfile.TemporaryDirectory(prefix="rvtune-asm-") as tmp:
            preps = [_prepare(_SELF_TEST), _prepare("add a0, a1")]
            good, bad = self._run(preps, 64, Path(tmp), backend=backend)
            rv32, = self._run([_prepare("c.jal .Lx\n.Lx:")], 32, Path(tmp), backend=backend)
        if not good.valid:
            return "it rejected base/F/D/C/V instructions: " + good.message.splitlines()[0]
        if len(good.encoding) != _SELF_TEST_SIZE or good.encoding[:4] != _ADD_A0_A0_A1:
            return (f"unexpected encoding {good.encoding.hex()} (wanted {_SELF_TEST_SIZE} bytes "
                    "starting 3305b500: is .option norvc ignored?)")
        if bad.valid:
            return "it accepted the invalid 'add a0, a1'"
        if not rv32.valid:
            return "it rejected RV32 'c.jal': " + rv32.message.splitlines()[0]
        return ""


_SELF_TESTS: dict[tuple[str, str], str] = {}
_UNKNOWN: dict[str, dict[str, bool]] = {}   # assembler path -> directive -> is it unknown
