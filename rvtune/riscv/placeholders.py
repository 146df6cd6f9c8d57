"""Turn spec-style placeholder operands (``add rd, rs1, rs2``) into assemblable operands.

Substitution is deterministic and context-aware: a register placeholder becomes an integer,
floating-point or vector register depending on what the mnemonic takes in that position
(``fcvt.w.s rd, rs1`` -> ``fcvt.w.s a0, fa1``), and an immediate becomes a small value that is
in range for that mnemonic (``c.addi16sp sp, imm`` -> ``16``). Each line is also re-spaced to
one canonical form, so a reference and a prediction that differ only in spacing come out
identical.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rvtune.riscv.isa import IMMEDIATES, operand_kinds

LABEL = ".Ltarget"
"""The local label that ``label`` / ``symbol`` / ``target`` placeholders become."""

_X = {"rd": "a0", "rs1": "a1", "rs2": "a2", "rs3": "a3"}
_F = {"rd": "fa0", "rs1": "fa1", "rs2": "fa2", "rs3": "fa3"}
_V = {"vd": "v8", "vs1": "v16", "vs2": "v24", "vs3": "v4", "rd": "v8", "rs1": "v16",
      "rs2": "v24", "rs3": "v4"}
# The spec's pseudo-instruction tables write ``mv rd, rs``, ``bgt rs, rt, offset`` and
# ``vneg.v vd, vs``: one unnumbered source is rs1's role (vs2's for vectors), rt is rs2's.
_ROLE = {"rs": "rs1", "rt": "rs2", "fs": "fs1", "ft": "fs2", "vs": "vs2"}
_FIXED = {"csr": "mscratch", "pred": "rw", "succ": "rw", "rm": "rne", "vm": "v0.t",
          "vtypei": "e32, m1, ta, ma", "vtype": "e32, m1, ta, ma", "zimm11": "e32, m1, ta, ma",
          "zimm10": "e32, m1, ta, ma", "aq": "", "rl": ""}
_IMM_NAMES = {"imm", "imm5", "imm6", "imm12", "imm20", "simm", "simm5", "simm6", "simm12",
              "nzimm", "uimm", "uimm5", "uimm6", "nzuimm", "offset", "shamt", "zimm", "zimm5",
              "nzuimm6", "uimm20", "value", "disp", "off", "immediate", "nzuimm10", "uimm7",
              "uimm8", "uimm9", "nzimm6", "nzimm10", "nzimm18", "shamtw", "zimm10", "zimm11"}
_LABEL_NAMES = {"label", "symbol"}
_REGISTER = re.compile(r"^(rd|rs[123]?|rt|fd|fs[123]?|ft|vd|vs[123]?)$")
_TOKEN = re.compile(r"(?<![\w.$%@])([A-Za-z_]\w*)'?(?![\w.$])")
_OPTIONAL_ORDERING = re.compile(r"[\[{(]\.?(?:aq|rl|aqrl|aq\.rl|aq\|rl|aq/rl)[\]})]")
_LABEL_DEF = re.compile(r"^\s*([A-Za-z_.$][\w.$]*)\s*:")
_STATEMENT = re.compile(r"^((?:[A-Za-z_.$0-9][\w.$]*:)*)\s*(\S*)\s*(.*)$")


def imm_value(kind: str, mnemonic: str = "") -> str:
    """A small value valid for immediate kind ``kind`` (8 when it is allowed)."""
    if mnemonic.lower() == "c.addi16sp" and kind not in IMMEDIATES:
        kind = "c16sp"
    lo, hi, step, nonzero = IMMEDIATES.get(kind, (-2048, 2047, 1, False))
    for value in (8, 16, 4, 2, 1, 0):
        if lo <= value <= hi and value % step == 0 and not (nonzero and value == 0):
            return str(value)
    return str(lo)


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    if '"' not in text:
        return text.split(sep, 1) if sep == "#" else text.split(sep)
    parts, current, quoted = [], [], False
    for i, ch in enumerate(text):
        if ch == '"' and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
            if sep == "#":
                parts.append(text[i + 1:])
                return parts
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"\s*([,()])\s*")
_STRING = re.compile(r'("(?:[^"\\]|\\.)*")')


def _respace_plain(chunk: str) -> str:
    return _PUNCT.sub(r"\1", _SPACES.sub(" ", chunk)).replace(",", ", ")


def _respace(code: str) -> str:
    # Spacing outside string literals only; "a  b" inside quotes is data.
    if '"' not in code:
        return _respace_plain(code).strip()
    chunks = _STRING.split(code)
    return "".join(c if i % 2 else _respace_plain(c) for i, c in enumerate(chunks)).strip()


def _replacement(name: str, mnemonic: str, kinds: dict[str, str], labels: set[str],
                 directive: bool, used: list[bool]) -> str | None:
    if name in labels:
        return None
    if directive and name == "string":
        return '"text"'
    if name in _LABEL_NAMES or (name == "offset" and mnemonic.lower() in ("call", "tail")):
        if directive:
            return None
        used[0] = True
        return LABEL
    if name in _FIXED:
        return _FIXED[name]
    if _REGISTER.match(name):
        name = _ROLE.get(name, name)
        kind = kinds.get(name, "") or _fallback_kind(name, mnemonic)
        if name.startswith("v") or kind == "v":
            return _V[name]
        if name.startswith("f") or kind in ("f", "fc"):
            return _F["r" + name[1:]] if name.startswith("f") else _F[name]
        return _X[name]
    if name in _IMM_NAMES or name in kinds:
        kind = kinds.get(name, "")
        if kind == "label":
            used[0] = True
            return LABEL
        if kind == "string":
            return '"text"'
        return imm_value(kind, mnemonic)
    return None


_FP_TO_X = re.compile(r"^f(eq|lt|le|gt|ge|class|mv\.x|cvt\.(w|wu|l|lu))\.")
_X_TO_FP = re.compile(r"^f(mv\.[hsdq]\.x|cvt\.[hsdq]\.(w|wu|l|lu))$")


def _fallback_kind(role: str, mnemonic: str) -> str:
    # For FP mnemonics the instruction table lacks (fgt.s, fge.d ...): compares, classify and
    # moves/converts to an integer write an x register, converts from integers read one.
    m = mnemonic.lower()
    if not re.match(r"^f[a-z]+(\.[a-z]+)*\.[hsdq](\.[a-z]+)?$", m) or m.startswith("fence"):
        return ""
    if role == "rd":
        return "x" if _FP_TO_X.match(m) else "f"
    return "x" if _X_TO_FP.match(m) else "f"


def _substitute_statement(stmt: str, labels: set[str], used: list[bool]) -> str:
    match = _STATEMENT.match(stmt.strip())
    prefix, mnemonic, operands = match.group(1), match.group(2), match.group(3)
    mnemonic = _OPTIONAL_ORDERING.sub("", mnemonic)
    if not mnemonic:
        return prefix
    if mnemonic.endswith(":"):  # a label followed by spaces: "loop :"
        return stmt.strip()
    kinds = operand_kinds(mnemonic)
    directive = mnemonic.startswith(".")

    def repl(m: re.Match) -> str:
        new = _replacement(m.group(1), mnemonic, kinds, labels, directive, used)
        return m.group(0) if new is None else new

    operands = _respace(operands)

    def outside_strings(operand: str) -> str:
        # "hello rd world" is data: substitute only between string literals
        chunks = _STRING.split(operand)
        return "".join(c if i % 2 else _TOKEN.sub(repl, c) for i, c in enumerate(chunks))

    if not directive or mnemonic in (".word", ".half", ".byte", ".dword", ".zero", ".align",
                                     ".p2align", ".balign", ".equ", ".set", ".string",
                                     ".asciz", ".ascii", ".space"):
        operands = ", ".join(p for p in (outside_strings(o) for o in
                                         _split_outside_quotes(operands, ",")) if p.strip()
                             ) if operands else ""
        operands = _respace(operands)
    head = f"{prefix} {mnemonic}" if prefix else mnemonic
    return f"{head} {operands}".strip()


@lru_cache(maxsize=65536)
def _substitute_cached(stmt: str, labels: tuple[str, ...]) -> tuple[str, bool]:
    # Datasets repeat statements ("ret", "addi sp, sp, -16") across thousands of snippets.
    used = [False]
    return _substitute_statement(stmt, set(labels), used), used[0]


def substitute_placeholders(text: str) -> str:
    """Replace placeholder operands in ``text`` by concrete ones and canonicalise spacing.

    ``rd``/``rs1``/``rs2``/``rs3`` become ``a0``..``a3`` (``fa0``..``fa3`` where the mnemonic
    takes FP registers), ``vd``/``vs1``/``vs2``/``vs3`` become ``v8``/``v16``/``v24``/``v4``,
    ``vm`` becomes ``v0.t``, immediates (``imm``, ``offset``, ``shamt``, ``uimm``, ``zimm``...)
    a small in-range value, ``csr`` ``mscratch``, ``pred``/``succ`` ``rw``, ``rm`` ``rne``,
    ``vtypei`` ``e32, m1, ta, ma``; ``label``/``symbol`` become ``.Ltarget``, defined on an
    extra last line. Optional ordering suffixes written ``[.aq]``/``{.rl}`` are dropped.
    Line count is kept (plus that one label line), so line numbers still match the input.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    labels = {m.group(1) for line in lines if (m := _LABEL_DEF.match(line))}
    used = [False]
    out = []
    for line in lines:
        parts = _split_outside_quotes(line, "#")
        code = parts[0]
        comment = ("#" + re.sub(r"\s+", " ", parts[1]).strip()) if len(parts) > 1 else ""
        stmts = []
        for stmt in _split_outside_quotes(code, ";"):
            new, uses_label = _substitute_cached(stmt, tuple(x for x in labels if x in stmt))
            stmts.append(new)
            used[0] = used[0] or uses_label
        code = "; ".join(s for s in stmts if s)
        out.append(f"{code} {comment}".strip())
    while len(out) > 1 and not out[-1]:
        out.pop()
    if used[0]:
        out.append(f"{LABEL}:")
    return "\n".join(out)
