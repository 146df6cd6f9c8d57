"""The shape of a RISC-V snippet: its mnemonics, the kind of each operand, its extension.

Behind the diagnostic metrics ``mnemonic_first``, ``mnemonic_all`` and ``operand_form``
(docs/metrics.md) and the per-extension tables of ``rvtune eval``: they say *what* went wrong
when a prediction fails (right instruction, wrong operands; right shape, wrong mnemonic), and
work on any text, assembled or not.
"""

from __future__ import annotations

import re

_ABI_X = set(
    "zero ra sp gp tp fp t0 t1 t2 t3 t4 t5 t6 s0 s1 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 "
    "a0 a1 a2 a3 a4 a5 a6 a7".split()
)
_X_REG = re.compile(r"^x([0-9]|[12][0-9]|3[01])$")
_F_REG = re.compile(r"^(f([0-9]|[12][0-9]|3[01])|ft([0-9]|1[01])|fs([0-9]|1[01])|fa[0-7])$")
_V_REG = re.compile(r"^v([0-9]|[12][0-9]|3[01])$")
_NUMBER = re.compile(r"^[-+~]?(0x[0-9a-f]+|0b[01]+|0o?[0-7]+|\d+|'.'|'\\.')$")
_LOCAL_REF = re.compile(r"^\d+[bf]$")
_MEMORY = re.compile(r"^(.*)\(([^()]+)\)$")
_ROUNDING = {"rne", "rtz", "rdn", "rup", "rmm", "dyn"}
_VTYPE = re.compile(r"^(e(8|16|32|64)|mf?[1248]|t[au]|m[au])$")
_FENCE_SET = re.compile(r"^[iorw]+$")
_RELOC_FN = re.compile(r"^%\w+\(.*\)$")
_IDENT = re.compile(r"^[a-z_.$][\w.$]*$")
# Placeholder names the datasets write (spec style) and the kind they stand for when the
# instruction table does not say.
_PLACEHOLDER_REGS = re.compile(r"^(rd|rs[123]?|rt)$")
_PLACEHOLDER_FREGS = re.compile(r"^(fd|fs[123]?|ft)$")
_PLACEHOLDER_VREGS = re.compile(r"^(vd|vs[123]?)$")
_PLACEHOLDER_IMMS = {
    "imm", "imm5", "imm6", "imm12", "imm20", "simm", "simm5", "simm6", "simm12", "nzimm",
    "uimm", "uimm5", "uimm6", "nzuimm", "offset", "shamt", "zimm", "zimm5", "nzuimm6",
    "uimm20", "value", "disp", "off", "immediate", "shamtw",
}
_PLACEHOLDER_LABELS = {"label", "symbol", "target"}
# isa.py operand kinds -> the classes operand_form compares.
_KIND_CLASS = {"x": "x", "xnz": "x", "xnz2": "x", "xc": "x", "sp": "x", "f": "f", "fc": "f",
               "v": "v", "vm": "vm", "label": "label", "symbol": "label", "csr": "csr",
               "rm": "rm", "pred": "fence", "succ": "fence", "vtypei": "vtype",
               "string": "string", "name": "label", "value": "imm"}


def statements(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """``(mnemonic, operands)`` for each instruction or directive, labels and comments left out.

    The text goes through ``rvtune.riscv.metrics.normalize`` first (case, spacing, comments,
    ``;`` and ``label: insn`` split), so two spellings of one statement give the same tuple.
    """
    from rvtune.riscv.metrics import _split_unquoted, normalize

    result = []
    for line in normalize(text).split("\n"):
        if not line or line.endswith(":"):
            continue
        mnemonic, _, rest = line.partition(" ")
        operands = tuple(op.strip() for op in _split_unquoted(rest, ",")) if rest else ()
        result.append((mnemonic, operands))
    return result


def canonical_mnemonic(mnemonic: str) -> str:
    """``mnemonic`` lower-cased, without the ``c.`` of an explicitly compressed form.

    The assembler compresses ``add a0, a0, a1`` into ``c.add`` whenever it can, so writing the
    ``c.`` is a spelling, not another instruction.
    """
    mnemonic = mnemonic.lower()
    return mnemonic[2:] if mnemonic.startswith("c.") and len(mnemonic) > 2 else mnemonic


def mnemonics(text: str) -> list[str]:
    """The canonical mnemonic of every statement of ``text``, in order."""
    return [canonical_mnemonic(m) for m, _ in statements(text)]


def _placeholder_kind(name: str, mnemonic: str) -> str | None:
    from rvtune.riscv.isa import operand_kinds

    known = operand_kinds(mnemonic)
    if name in known:
        return _KIND_CLASS.get(known[name], "imm")
    if _PLACEHOLDER_FREGS.match(name):
        return "f"
    if _PLACEHOLDER_VREGS.match(name):
        return "v"
    if _PLACEHOLDER_REGS.match(name):
        # FP mnemonics the table lacks (fgt.s, fcvt.h.w ...): compares, classify and moves or
        # converts to an integer write an x register; converts from an integer read one.
        if not re.match(r"^f[a-z]+(\.[a-z]+)*\.[hsdq](\.[a-z]+)?$", mnemonic) or \
                mnemonic.startswith("fence"):
            return "x"
        if name == "rd":
            return "x" if re.match(r"^f(eq|lt|le|gt|ge|class|mv\.x|cvt\.(w|wu|l|lu))\.",
                                   mnemonic) else "f"
        return "x" if re.match(r"^f(mv\.[hsdq]\.x|cvt\.[hsdq]\.(w|wu|l|lu))$", mnemonic) \
            else "f"
    if name in _PLACEHOLDER_IMMS:
        return "imm"
    if name in _PLACEHOLDER_LABELS:
        return "label"
    if name in ("rm",):
        return "rm"
    if name in ("pred", "succ"):
        return "fence"
    if name in ("vtypei", "vtype"):
        return "vtype"
    if name == "vm":
        return "vm"
    if name == "csr":
        return "csr"
    return None


def operand_kind(operand: str, mnemonic: str = "") -> str:
    """The kind of one (normalised) operand: ``x``, ``f``, ``v``, ``vm``, ``imm``, ``label``,
    ``mem(x)``, ``rm``, ``fence``, ``vtype``, ``csr``, ``string`` or ``expr``.

    Placeholder names count as the kind they stand for in ``mnemonic`` (``rd`` of ``fadd.s``
    is ``f``), so a spec-style reference has the same form as a concrete prediction.
    """
    op = operand.strip().lower()
    mnemonic = mnemonic.lower()
    if op.startswith('"'):
        return "string"
    if op in _ABI_X or _X_REG.match(op):
        return "x"
    if _F_REG.match(op):
        return "f"
    if _V_REG.match(op):
        return "v"
    if op == "v0.t":
        return "vm"
    placeholder = _placeholder_kind(op, mnemonic)
    if placeholder is not None:
        return placeholder
    memory = _MEMORY.match(op)
    if memory and not re.match(r"^%\w+$", memory.group(1)):
        return f"mem({operand_kind(memory.group(2), mnemonic)})"
    if _NUMBER.match(op) or _RELOC_FN.match(op):
        return "imm"
    if op in _ROUNDING:
        return "rm"
    if _VTYPE.match(op) and mnemonic.startswith("vset"):
        return "vtype"
    if _FENCE_SET.match(op) and mnemonic.startswith("fence"):
        return "fence"
    if mnemonic.startswith("csr") and _IDENT.match(op):
        return "csr"
    if _LOCAL_REF.match(op) or _IDENT.match(op):
        return "label"
    return "expr"


def operand_form(text: str) -> list[tuple[str, ...]]:
    """Per statement, the kinds of its operands (mnemonics left out)."""
    return [tuple(operand_kind(op, m) for op in ops) for m, ops in statements(text)]


def extension(text: str) -> str:
    """The extension (dataset category) of the first instruction of ``text``.

    From the instruction table (``rvtune.riscv.isa``) where the mnemonic is there; otherwise
    from its spelling (``v...`` is V, ``c.`` is C, ``fadd.s`` is F ...). ``directive`` for a
    snippet of directives only, ``unknown`` for no statement at all.
    """
    from rvtune.riscv.isa import by_mnemonic

    found = statements(text)
    instructions = [m for m, _ in found if not m.startswith(".")]
    if not instructions:
        return "directive" if found else "unknown"
    mnemonic = instructions[0].lower()
    entry = by_mnemonic().get(mnemonic)
    if entry is not None:
        return entry.ext
    return _extension_from_spelling(mnemonic)


def _extension_from_spelling(mnemonic: str) -> str:
    if mnemonic.startswith("c."):
        return "C"
    if mnemonic.startswith("v"):
        return "V"
    if re.match(r"^(amo|lr\.|sc\.)", mnemonic):
        return "A"
    if mnemonic.startswith("csr") or mnemonic.startswith("rd"):
        return "Zicsr"
    if re.match(r"^(mul|div|rem)", mnemonic):
        return "M"
    if mnemonic.startswith("f") and not mnemonic.startswith("fence"):
        suffix = mnemonic.rsplit(".", 1)[-1]
        return {"s": "F", "d": "D", "h": "Zfh", "q": "Q"}.get(suffix, "F")
    if re.match(r"^(sh[123]add|andn|orn|xnor|clz|ctz|cpop|rol|ror|rev8|sext\.[bh]|zext|"
                r"bclr|bext|binv|bset|min|max|clmul)", mnemonic):
        return "B"
    return "other"
