"""The built-in RISC-V dataset: natural-language descriptions paired with assembly.

``generate_rows(size, seed)`` yields rows laid out like the Hugging Face dataset
``davidpirkl/riscv-instruction-specification`` (``description`` -> ``instructions``), plus
``category`` (extension, ``pseudo``, ``directive`` or ``snippet``), ``style`` (operand style:
``spec`` placeholders, ``concrete`` registers, ``snippet`` programs), ``phrasing`` (``manual``,
``terse``, ``question``, ``task``) and ``group`` (``mnemonic|template``: which phrasing template
wrote the row, so a split can hold whole phrasings out).

Single instructions are drawn from a shuffled deck holding every table entry a few times
(weights by category), so every mnemonic appears within the first deck, about 2,300 rows.
Every row assembles (spec rows after ``substitute_placeholders``); tests/riscv checks it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

from rvtune.riscv.generate_phrases import COMPRESSED, STYLES, TEMPLATES
from rvtune.riscv.isa import IMMEDIATES, Instruction, by_category

# Copies of each table entry in one deck, by category: base and M are weighted up, the
# 88 ordering variants of A and the 140-odd V entries down.
DECK_COPIES = {"base": 8, "M": 8, "A": 2, "F": 6, "D": 5, "Zicsr": 12, "Zifencei": 6,
               "C": 4, "V": 2, "pseudo": 5, "directive": 4}
SNIPPET_SHARE = 0.15
SPEC_SHARE = 0.3
PHRASING_WEIGHTS = {"manual": 3, "terse": 2, "question": 2, "task": 3}
RM_SHARE = 0.3  # FP rows that name a static rounding mode when the instruction takes one
NAMED_SHARE = 0.12  # rows that name the mnemonic, as the ISA manual's prose does ("ADDI adds")

_ABI_X = ([f"a{i}" for i in range(8)] + [f"t{i}" for i in range(7)]
          + [f"s{i}" for i in range(12)])
_ABI_XC = ["s0", "s1"] + [f"a{i}" for i in range(6)]
_ABI_F = ([f"fa{i}" for i in range(8)] + [f"ft{i}" for i in range(12)]
          + [f"fs{i}" for i in range(12)])
_ABI_FC = ["fs0", "fs1"] + [f"fa{i}" for i in range(6)]
_LABELS = ["loop", "done", "skip", "exit", "next", "end", "again", "fail", "retry", "found"]
_SYMBOLS = ["counter", "buffer", "msg", "table", "result", "data_start", "printf", "memcpy",
            "main", "helper", "compute", "values", "array", "handler"]
_CSRS = ["mstatus", "mepc", "mcause", "mtvec", "mscratch", "mie", "mip", "sstatus", "sepc",
         "scause", "stvec", "sscratch", "satp", "fcsr", "frm", "fflags", "mtval", "stval"]
_ROUNDING = {"rne": "round to nearest, ties to even", "rtz": "round towards zero",
             "rdn": "round down (towards -infinity)", "rup": "round up (towards +infinity)",
             "rmm": "round to nearest, ties to max magnitude", "dyn": "the dynamic rounding mode"}
_FENCE_SETS = ["rw", "r", "w", "iorw", "io", "ow", "ir"]
_FENCE_WORDS = {"r": "reads", "w": "writes", "i": "device input", "o": "device output"}

# Integer operations: op -> (do, does, what, expr) over {a} and {b}.
_INT = {
    "add": ("add {a} and {b}", "adds {a} and {b}", "the sum of {a} and {b}", "{a} + {b}"),
    "sub": ("subtract {b} from {a}", "subtracts {b} from {a}", "{a} minus {b}", "{a} - {b}"),
    "and": ("AND {a} with {b}", "computes the bitwise AND of {a} and {b}",
            "the bitwise AND of {a} and {b}", "{a} & {b}"),
    "or": ("OR {a} with {b}", "computes the bitwise OR of {a} and {b}",
           "the bitwise OR of {a} and {b}", "{a} | {b}"),
    "xor": ("XOR {a} with {b}", "computes the bitwise exclusive OR of {a} and {b}",
            "the bitwise XOR of {a} and {b}", "{a} ^ {b}"),
    "sll": ("shift {a} left by {b}", "shifts {a} left logically by {b}, shifting in zeros",
            "{a} shifted left by {b}", "{a} << {b}"),
    "srl": ("shift {a} right logically by {b}",
            "shifts {a} right logically by {b}, filling the upper bits with zeros",
            "{a} shifted right logically (zero-fill) by {b}", "{a} >>u {b}"),
    "sra": ("shift {a} right arithmetically by {b}",
            "shifts {a} right arithmetically by {b}, copying the sign bit into the upper bits",
            "{a} shifted right arithmetically (sign-fill) by {b}", "{a} >>s {b}"),
    "slt": ("set a flag if {a} is less than {b} as signed integers",
            "compares {a} and {b} as signed integers, producing 1 if {a} < {b} and 0 otherwise",
            "1 if {a} < {b} (signed comparison), else 0", "({a} <s {b}) ? 1 : 0"),
    "sltu": ("set a flag if {a} is less than {b} as unsigned integers",
             "compares {a} and {b} as unsigned integers, producing 1 if {a} < {b} and 0 "
             "otherwise", "1 if {a} < {b} (unsigned comparison), else 0",
             "({a} <u {b}) ? 1 : 0"),
    "mul": ("multiply {a} by {b}", "multiplies {a} by {b} and keeps the low bits of the product",
            "the low half of the product {a} * {b}", "{a} * {b}"),
    "mulh": ("multiply signed {a} by signed {b} and keep the upper half",
             "multiplies {a} by {b} as signed integers and keeps the upper XLEN bits of the "
             "double-width product", "the high half of the signed product of {a} and {b}",
             "({a} *s {b}) >> XLEN"),
    "mulhu": ("multiply unsigned {a} by unsigned {b} and keep the upper half",
              "multiplies {a} by {b} as unsigned integers and keeps the upper XLEN bits of the "
              "double-width product", "the high half of the unsigned product of {a} and {b}",
              "({a} *u {b}) >> XLEN"),
    "mulhsu": ("multiply signed {a} by unsigned {b} and keep the upper half",
               "multiplies signed {a} by unsigned {b} and keeps the upper XLEN bits of the "
               "product", "the high half of the signed-by-unsigned product of {a} and {b}",
               "({a} *su {b}) >> XLEN"),
    "div": ("divide {a} by {b} as signed integers",
            "divides {a} by {b} as signed integers, rounding the quotient towards zero",
            "the signed quotient of {a} divided by {b}", "{a} /s {b}"),
    "divu": ("divide {a} by {b} as unsigned integers", "divides {a} by {b} as unsigned integers",
             "the unsigned quotient of {a} divided by {b}", "{a} /u {b}"),
    "rem": ("take the signed remainder of {a} divided by {b}",
            "computes the remainder of the signed division of {a} by {b}",
            "the signed remainder of {a} divided by {b}", "{a} %s {b}"),
    "remu": ("take the unsigned remainder of {a} divided by {b}",
             "computes the remainder of the unsigned division of {a} by {b}",
             "the unsigned remainder of {a} divided by {b}", "{a} %u {b}"),
}
_WORD_DO = [" using 32-bit arithmetic and sign-extend the 32-bit result",
            " on the low 32 bits only, sign-extending the result to 64 bits",
            " as 32-bit words (the result is sign-extended to 64 bits)"]
_WORD_DOES = [", operating on the low 32 bits only and sign-extending the 32-bit result to "
              "64 bits", " using 32-bit word arithmetic and sign-extends the result"]

# Load/store widths: mnemonic -> (bits, unit synonyms, extension: s/z/None, fp).
_UNITS = {8: ["byte", "8-bit value", "single byte"], 16: ["halfword", "16-bit value",
                                                         "2-byte value"],
          32: ["word", "32-bit word", "4-byte value"], 64: ["doubleword", "64-bit value",
                                                           "8-byte doubleword"]}
_MEM = {"lb": (8, "s"), "lbu": (8, "z"), "lh": (16, "s"), "lhu": (16, "z"), "lw": (32, "s"),
        "lwu": (32, "z"), "ld": (64, None), "sb": (8, None), "sh": (16, None),
        "sw": (32, None), "sd": (64, None), "flw": (32, "f"), "fsw": (32, "f"),
        "fld": (64, "f"), "fsd": (64, "f")}

_CONDS = {"beq": ("{a} equals {b}", "{a} == {b}"), "bne": ("{a} differs from {b}", "{a} != {b}"),
          "blt": ("{a} is less than {b} as signed integers", "{a} <s {b}"),
          "bge": ("{a} is greater than or equal to {b} as signed integers", "{a} >=s {b}"),
          "bltu": ("{a} is less than {b} as unsigned integers", "{a} <u {b}"),
          "bgeu": ("{a} is greater than or equal to {b} as unsigned integers", "{a} >=u {b}"),
          "bgt": ("{a} is greater than {b} as signed integers", "{a} >s {b}"),
          "ble": ("{a} is less than or equal to {b} as signed integers", "{a} <=s {b}"),
          "bgtu": ("{a} is greater than {b} as unsigned integers", "{a} >u {b}"),
          "bleu": ("{a} is less than or equal to {b} as unsigned integers", "{a} <=u {b}"),
          "beqz": ("{a} is zero", "{a} == 0"), "bnez": ("{a} is not zero", "{a} != 0"),
          "blez": ("{a} is less than or equal to zero (signed)", "{a} <= 0"),
          "bgez": ("{a} is greater than or equal to zero (signed)", "{a} >= 0"),
          "bltz": ("{a} is negative (signed less than zero)", "{a} < 0"),
          "bgtz": ("{a} is greater than zero (signed)", "{a} > 0")}

_AMO = {"amoswap": ("swap {b} with", "{b}"), "amoadd": ("add {b} to", "{m} + {b}"),
        "amoand": ("AND {b} into", "{m} & {b}"), "amoor": ("OR {b} into", "{m} | {b}"),
        "amoxor": ("XOR {b} into", "{m} ^ {b}"),
        "amomax": ("replace with the signed maximum of itself and {b}", "max_s({m}, {b})"),
        "amomin": ("replace with the signed minimum of itself and {b}", "min_s({m}, {b})"),
        "amomaxu": ("replace with the unsigned maximum of itself and {b}", "max_u({m}, {b})"),
        "amominu": ("replace with the unsigned minimum of itself and {b}", "min_u({m}, {b})")}
_ORDER = {"aq": (" with acquire ordering", " acquire"), "rl": (" with release ordering",
                                                                 " release"),
          "aqrl": (" with both acquire and release ordering", " acquire-release")}

# FP two-operand ops: op -> (do, does, what, expr).
_FP = {
    "fadd": ("add {a} and {b}", "adds {a} and {b}", "the sum of {a} and {b}", "{a} + {b}"),
    "fsub": ("subtract {b} from {a}", "subtracts {b} from {a}", "{a} minus {b}", "{a} - {b}"),
    "fmul": ("multiply {a} by {b}", "multiplies {a} by {b}", "the product of {a} and {b}",
             "{a} * {b}"),
    "fdiv": ("divide {a} by {b}", "divides {a} by {b}", "the quotient {a} / {b}", "{a} / {b}"),
    "fmin": ("take the minimum of {a} and {b}", "selects the smaller of {a} and {b}",
             "the minimum of {a} and {b}", "min({a}, {b})"),
    "fmax": ("take the maximum of {a} and {b}", "selects the larger of {a} and {b}",
             "the maximum of {a} and {b}", "max({a}, {b})"),
    "fsgnj": ("copy {a} with the sign of {b}", "takes the magnitude of {a} and the sign of {b}",
              "{a} with its sign replaced by the sign of {b}", "copysign({a}, {b})"),
    "fsgnjn": ("copy {a} with the opposite sign of {b}",
               "takes the magnitude of {a} and the negated sign of {b}",
               "{a} with the inverted sign of {b}", "copysign({a}, -{b})"),
    "fsgnjx": ("copy {a} with its sign XORed with the sign of {b}",
               "takes {a} and XORs its sign bit with the sign bit of {b}",
               "{a} with its sign bit XORed with the sign of {b}", "{a} * sign({b})"),
}
_FMA = {"fmadd": ("({a} * {b}) + {c}", "adds {c} to the product of {a} and {b}"),
        "fmsub": ("({a} * {b}) - {c}", "subtracts {c} from the product of {a} and {b}"),
        "fnmsub": ("-({a} * {b}) + {c}", "subtracts the product of {a} and {b} from {c}"),
        "fnmadd": ("-({a} * {b}) - {c}", "negates the product of {a} and {b} and subtracts {c}")}
_PREC = {"s": ["single-precision", "32-bit float", "single"],
         "d": ["double-precision", "64-bit double", "double"]}
_TYPES = {"w": ("signed 32-bit integer", "int32"), "wu": ("unsigned 32-bit integer", "uint32"),
          "l": ("signed 64-bit long integer", "int64"),
          "lu": ("unsigned 64-bit long integer", "uint64"),
          "s": ("single-precision float", "float"), "d": ("double-precision float", "double")}
_RM_OK = {"fadd", "fsub", "fmul", "fdiv", "fsqrt", "fmadd", "fmsub", "fnmsub", "fnmadd"}

# Vector ops: op -> (noun, expression over {x} element of vs2 and {y} the other operand).
_VEC = {"vadd": ("sum", "{x} + {y}"), "vsub": ("difference", "{x} - {y}"),
        "vrsub": ("reverse difference (the other operand minus the element)", "{y} - {x}"),
        "vand": ("bitwise AND", "{x} & {y}"), "vor": ("bitwise OR", "{x} | {y}"),
        "vxor": ("bitwise XOR", "{x} ^ {y}"), "vmul": ("product (low half)", "{x} * {y}"),
        "vmulh": ("signed high-half product", "({x} *s {y}) >> SEW"),
        "vmulhu": ("unsigned high-half product", "({x} *u {y}) >> SEW"),
        "vmin": ("signed minimum", "min_s({x}, {y})"), "vmax": ("signed maximum",
                                                                 "max_s({x}, {y})"),
        "vminu": ("unsigned minimum", "min_u({x}, {y})"),
        "vmaxu": ("unsigned maximum", "max_u({x}, {y})"),
        "vsll": ("left shift", "{x} << {y}"), "vsrl": ("logical right shift", "{x} >>u {y}"),
        "vsra": ("arithmetic right shift", "{x} >>s {y}"),
        "vdiv": ("signed quotient", "{x} /s {y}"), "vdivu": ("unsigned quotient", "{x} /u {y}"),
        "vrem": ("signed remainder", "{x} %s {y}"), "vremu": ("unsigned remainder",
                                                               "{x} %u {y}"),
        "vwadd": ("signed widening sum", "sext({x}) + sext({y})"),
        "vwaddu": ("unsigned widening sum", "zext({x}) + zext({y})"),
        "vfadd": ("floating-point sum", "{x} + {y}"), "vfsub": ("floating-point difference",
                                                                 "{x} - {y}"),
        "vfmul": ("floating-point product", "{x} * {y}"),
        "vfdiv": ("floating-point quotient", "{x} / {y}"),
        "vfmin": ("floating-point minimum", "fmin({x}, {y})"),
        "vfmax": ("floating-point maximum", "fmax({x}, {y})"),
        "vmseq": ("equal-to comparison", "{x} == {y}"),
        "vmsne": ("not-equal comparison", "{x} != {y}"),
        "vmslt": ("signed less-than comparison", "{x} <s {y}"),
        "vmsltu": ("unsigned less-than comparison", "{x} <u {y}"),
        "vmsle": ("signed less-or-equal comparison", "{x} <=s {y}"),
        "vmsleu": ("unsigned less-or-equal comparison", "{x} <=u {y}"),
        "vmsgt": ("signed greater-than comparison", "{x} >s {y}"),
        "vmsgtu": ("unsigned greater-than comparison", "{x} >u {y}")}
_FORMS = {
    "vv": ("[[vector-vector|element by element between two vectors]] ({x} and {y})",
           "vector-vector .vv"),
    "vx": ("[[vector-scalar|with a scalar]] (each element of {x} with the integer register {y})",
           "vector-scalar .vx"),
    "vi": ("[[vector-immediate|with an immediate]] (each element of {x} with the constant {y})",
           "vector-immediate .vi"),
    "vf": ("[[vector-FP-scalar|with a floating-point scalar]] (each element of {x} with the "
           "float register {y})", "vector-float-scalar .vf"),
}


class _Picker:
    """Random operand values of each kind, all in range for the instruction."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def xreg(self, pool=_ABI_X, numbers=range(5, 32)) -> str:
        if self.rng.random() < 0.25:
            return f"x{self.rng.choice(list(numbers))}"
        return self.rng.choice(pool)

    def freg(self, pool=_ABI_F, numbers=range(32)) -> str:
        if self.rng.random() < 0.2:
            return f"f{self.rng.choice(list(numbers))}"
        return self.rng.choice(pool)

    def imm(self, kind: str) -> int:
        lo, hi, step, nonzero = IMMEDIATES[kind]
        rng = self.rng
        if rng.random() < 0.6:
            small = [v for v in range(max(lo, -64), min(hi, 64) + 1) if v % step == 0]
            value = rng.choice(small or [lo])
        else:
            value = rng.randrange(lo // step, hi // step + 1) * step
        if nonzero and value == 0:
            value = step if lo <= step <= hi else lo
        return value

    def target(self, kind: str) -> tuple[str, str]:
        if self.rng.random() < 0.7:
            label = self.rng.choice(_LABELS)
            return label, self.rng.choice([label, f"label {label}", f"the label {label}"])
        lo, hi, _, _ = IMMEDIATES[kind]
        value = self.rng.choice([v for v in range(-64, 129, 4) if v and lo <= v <= hi])
        where = f"pc + {value}" if value > 0 else f"pc - {-value}"
        way = "ahead" if value > 0 else "back"
        return str(value), self.rng.choice([where, f"the instruction at {where}",
                                            f"{abs(value)} bytes {way}"])

    def operand(self, ins: Instruction, role: str) -> tuple[str, str]:
        """(assembly text, how a description names it) for placeholder ``role``."""
        kind = ins.kind(role)
        rng = self.rng
        if kind in ("x", "xnz"):
            reg = self.xreg()
        elif kind == "xnz2":
            reg = self.xreg(numbers=[n for n in range(1, 32) if n != 2])
        elif kind == "xc":
            reg = self.xreg(_ABI_XC, range(8, 16))
        elif kind == "f":
            reg = self.freg()
        elif kind == "fc":
            reg = self.freg(_ABI_FC, range(8, 16))
        elif kind == "v":
            reg = f"v{rng.randrange(1, 32)}"
        elif kind in ("boff", "joff", "cboff", "cjoff"):
            return self.target(kind)
        elif kind in IMMEDIATES:
            value = self.imm(kind)
            text = hex(value) if kind == "uimm20" and rng.random() < 0.5 else str(value)
            return text, text
        elif kind == "vm":
            return "", ""
        elif kind == "rm":
            reg = rng.choice(list(_ROUNDING))
        elif kind == "csr":
            reg = rng.choice(_CSRS)
        elif kind in ("pred", "succ"):
            reg = rng.choice(_FENCE_SETS)
        elif kind == "symbol":
            reg = rng.choice(_SYMBOLS)
        elif kind == "vtypei":
            sew = rng.choice(["e8", "e16", "e32", "e64"])
            lmul = rng.choice(["m1", "m1", "m2", "m4", "m8", "mf2"])
            ta, ma = rng.choice(["ta", "tu"]), rng.choice(["ma", "mu"])
            text = f"{sew}, {lmul}, {ta}, {ma}"
            lmul_text = "1/2" if lmul == "mf2" else lmul[1:]
            tail = "agnostic" if ta == "ta" else "undisturbed"
            masks = "agnostic" if ma == "ma" else "undisturbed"
            return text, (f"{sew[1:]}-bit elements, LMUL={lmul_text}, tail-{tail}, "
                          f"mask-{masks}")
        elif kind == "value":
            value = rng.choice([rng.randrange(-100, 101), rng.randrange(0, 1 << 16),
                                rng.randrange(-(1 << 31), 1 << 31)])
            text = hex(value) if value > 4096 and rng.random() < 0.5 else str(value)
            return text, text
        else:
            reg = "sp"
        return reg, reg




def _cap(s: str) -> str:
    return s[0].upper() + s[1:] if s else s


_VERB_START = re.compile(r"^([A-Z][a-z]+s) ")


def _named(text: str, mnemonic: str, rng: random.Random) -> str:
    """``text`` naming its mnemonic the ways manuals and people do."""
    upper = mnemonic.upper()
    if text.startswith("The instruction "):
        return f"The {upper} instruction " + text[len("The instruction "):]
    if _VERB_START.match(text) and rng.random() < 0.7:
        return f"{upper} {text[0].lower()}{text[1:]}"
    return rng.choice([f"{upper}: {text}", f"{text} (use {mnemonic})",
                       f"Using {mnemonic}: {text[0].lower()}{text[1:]}"])


_ALT = re.compile(r"\[\[(.*?)\]\]")


def _alt(text: str, rng: random.Random) -> str:
    return _ALT.sub(lambda m: rng.choice(m.group(1).split("|")), text)


def _article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou8" or noun.startswith(("11", "18")) else "a ") + noun


def _prec(ins: Instruction, rng) -> str:
    double = ins.mnemonic.endswith(".d") or ins.op in ("fld", "fsd")
    return rng.choice(_PREC["d" if double else "s"])


def _slots(ins: Instruction, n: dict, rng: random.Random, rm: str | None,
           spec: bool) -> tuple[str, dict]:
    """(template class, slot values) describing ``ins`` with operand names ``n``."""
    g, op, m = ins.group, ins.op, ins.mnemonic
    d = n.get("rd", "sp")
    fp_dest = ins.kind("rd") in ("f", "fc") if "rd" in ins.roles else False
    if spec:
        dd = rng.choice([d, d, f"the destination register {d}", f"destination {d}",
                         f"the result register {d}"])
        if fp_dest:
            dd = rng.choice([f"floating-point register {d}", f"the FP destination {d}"])
    else:
        dd = rng.choice([d, d, f"register {d}"])
    s = {"d": d, "D": dd}
    a = n.get("rs1", "sp" if "sp" in ins.syntax.split(", ")[:2] else d)
    b = n.get("rs2", n.get("imm", n.get("shamt", n.get("zimm", ""))))
    rnd = rnd_short = ""
    if rm:
        rnd = f", {_ROUNDING.get(rm, 'using rounding mode ' + rm)}" if not spec else \
            " using the static rounding mode rm"
        rnd_short = f" [{rm}]"

    def compute(do, does, what, expr):
        s.update(do=do + rnd, Do=_cap(do + rnd), does=does + rnd, Does=_cap(does + rnd),
                 what=what + rnd, expr=expr + rnd_short)
        return "compute", s

    def effect(do, does, expr, expr_alt=None):
        s.update(do=do, Do=_cap(do), does=does, Does=_cap(does), expr=expr,
                 expr_alt=expr_alt or expr)
        return "effect", s

    wide = op.endswith("w") and op[:-1] in _INT
    base = op[:-1] if wide else op
    if g in ("alu", "alui") and base in _INT:
        if base in ("sll", "srl", "sra"):
            amount = (f"{b} bits" if ("shamt" in n or "imm" in n) else
                      rng.choice([f"the amount in {b}", f"the low bits of {b}"]))
        else:
            amount = b
        do, does, what = (t.format(a=a, b=amount) for t in _INT[base][:3])
        expr = _INT[base][3].format(a=a, b=b)
        if "imm" in n and not spec and base not in ("sll", "srl", "sra"):
            what = what.replace(f" {b}", rng.choice([f" {b}", f" the immediate {b}"]), 1) \
                if what.endswith(b) else what
        if wide:
            do += rng.choice(_WORD_DO)
            does += rng.choice(_WORD_DOES)
            what = rng.choice([f"the 32-bit result of {what}, sign-extended to 64 bits",
                               f"{what}, computed on 32 bits and sign-extended"])
            expr = f"sext32({expr})"
        return compute(do, does, what, expr)
    if g == "lui":
        return compute(f"load {b} into the upper 20 bits", f"places {b} in the upper 20 bits "
                       "(bits 31-12) and clears the low 12 bits",
                       f"{b} shifted left by 12 bits", f"{b} << 12")
    if g == "auipc":
        return compute(f"add {b} shifted left by 12 to the address of this instruction",
                       f"adds the upper immediate {b} (shifted left by 12) to the pc",
                       f"the pc plus {b} << 12", f"pc + ({b} << 12)")
    if g == "li":
        return compute(f"load the constant {b}", f"materializes the constant {b}",
                       f"the constant {b}", b)
    if g == "la":
        sym = n["symbol"]
        local = " pc-relative" if m == "lla" else ""
        return compute(f"load the{local} address of {sym}", f"computes the{local} address of "
                       f"the symbol {sym}", f"the{local} address of {sym}", f"&{sym}")
    if g == "mv":
        src = n.get("rs1", n.get("rs2"))
        return compute(f"copy {src}", f"copies {src}", f"a copy of {src}", src)
    if g == "not":
        return compute(f"invert every bit of {a}", f"computes the one's complement of {a}",
                       f"the bitwise NOT of {a}", f"~{a}")
    if g == "neg":
        if m == "negw":
            return compute(f"negate the low 32 bits of {a} and sign-extend the result",
                           f"negates {a} in 32-bit arithmetic and sign-extends the result",
                           f"the sign-extended 32-bit negation of {a}", f"sext32(-{a})")
        return compute(f"negate {a}", f"computes the two's-complement negation of {a}",
                       f"minus {a}", f"-{a}")
    if g == "sext":
        if m == "zext.b":
            return compute(f"zero-extend the low byte of {a}", f"keeps the low 8 bits of {a} "
                           "and clears the rest", f"the low 8 bits of {a}, zero-extended",
                           f"{a} & 0xff")
        return compute(f"sign-extend the low 32 bits of {a}", f"sign-extends the low 32-bit "
                       f"word of {a} to 64 bits", f"the low word of {a} sign-extended",
                       f"sext32({a})")
    if g in ("setcc", "setcc2"):
        c = {"seqz": ("is zero", "{a} == 0"), "snez": ("is not zero", "{a} != 0"),
             "sltz": ("is negative", "{a} <s 0"), "sgtz": ("is greater than zero", "{a} >s 0"),
             "sgt": ("is greater than {b} as signed integers", "{a} >s {b}"),
             "sgtu": ("is greater than {b} as unsigned integers", "{a} >u {b}")}[m]
        words, ex = (t.format(a=a, b=n.get("rs2", "")) for t in c)
        return compute(f"set a flag if {a} {words}", f"tests whether {a} {words}",
                       f"1 if {a} {words}, otherwise 0", f"({ex}) ? 1 : 0")
    if g == "rdctr":
        what = {"rdcycle": "the cycle counter", "rdtime": "the real-time clock (time CSR)",
                "rdinstret": "the count of retired instructions", "frcsr": "the whole "
                "floating-point control and status register fcsr", "frrm": "the dynamic "
                "rounding mode (frm)", "frflags": "the accrued floating-point exception flags "
                "(fflags)"}[m]
        return compute(f"read {what}", f"reads {what}", f"the value of {what}",
                       m.removeprefix("rd").removeprefix("fr") or m)
    if g == "csrp" and m == "csrr":
        return compute(f"read the CSR {n['csr']}", f"reads the control and status register "
                       f"{n['csr']}", f"the current value of CSR {n['csr']}", n["csr"])
    if g in ("load", "store"):
        bits, ext = _MEM[op]
        unit = rng.choice(_UNITS[bits])
        if ext == "f":
            kind = _prec(ins, rng) + rng.choice([" value", " float", " floating-point value"])
        elif ext == "s":
            kind = "signed " + unit
        elif ext == "z":
            kind = "unsigned " + unit
        else:
            kind = unit
        base_reg = n.get("rs1", "sp")
        off = n.get("offset", n.get("imm", "0"))
        s.update(kind=kind, a_kind=_article(kind), base=base_reg, off=off, bits=str(bits))
        if g == "load":
            s["ext_does"] = {"s": ", sign-extends it to 64 bits,",
                             "z": ", zero-extends it to 64 bits,", "f": "",
                             None: ""}[ext]
            if ext == "f" and spec:
                s["D"] = f"floating-point register {d}"
            s["sx"] = {"s": "sext ", "z": "zext ", "f": "", None: ""}[ext]
            return "load", s
        src = n["rs2"]
        s.update(src=src, part="the " + (kind if ext == "f" else
                                         {8: "low byte", 16: "low 16 bits", 32: "low 32 bits",
                                          64: "full 64 bits"}[bits]))
        return "store", s
    if g in ("branch", "branchz"):
        cond, cexpr = (t.format(a=a, b=n.get("rs2", "")) for t in _CONDS[op])
        how = ("as signed integers" if "signed" in cond and "unsigned" not in cond else
               "as unsigned integers" if "unsigned" in cond else "for equality")
        cmp = f"compares {a} with zero" if g == "branchz" else f"compares {a} and {b} {how}"
        s.update(cond=cond, cexpr=cexpr, tgt=n["offset"], Compares=_cap(cmp))
        return "branch", s
    if g in ("lr", "sc", "amo"):
        width = "doubleword" if ".d" in m else "word"
        bits = 64 if width == "doubleword" else 32
        tail = m.split(".")[-1]
        order, order_short = _ORDER.get(tail, ("", ""))
        mem = f"mem{bits}[{a}]"
        if g == "lr":
            do = (f"load-reserve the {width} at the address in {a} into {d}")
            does = (f"loads the {width} at the address in {a} into {d} and registers a "
                    "reservation on that address")
            expr = f"{d} = {mem}; reserve {a}"
        elif g == "sc":
            do = (f"store-conditional {b} as a {width} to the address in {a}, writing 0 to {d} "
                  "on success")
            does = (f"stores {b} to the {width} at the address in {a} only if the reservation "
                    f"from an earlier lr.{m.split('.')[1]} still holds, writing 0 to {d} on "
                    "success and nonzero on failure")
            expr = f"if reserved({a}): {mem} = {b}, {d} = 0; else {d} = 1"
        else:
            verb, new = _AMO[op]
            verb, new = verb.format(b=b), new.format(m=mem, b=b)
            do = (f"{verb} the {width} at the address in {a}, returning the old value in {d}"
                  if not verb.startswith("replace") else
                  f"load the {width} at the address in {a} into {d} and {verb}")
            does = (f"loads the {width} at the address in {a} into {d} and "
                    f"{verb.replace('swap', 'swaps').replace('add ', 'adds ')}"
                    f"{'' if verb.startswith('replace') else ' it'}")
            does = does.replace(" AND ", " ANDs ").replace(" OR ", " ORs ").replace(
                " XOR ", " XORs ").replace("and replace", "and replaces")
            expr = f"{d} = {mem}; {mem} = {new}"
        s.update(do_amo=do, Do_amo=_cap(do), does_amo=does, Does_amo=_cap(does), expr=expr,
                 order=order, order_short=order_short)
        return "atomic", s
    if g in ("falu", "fsqrt", "fma", "fcmp", "fclass", "fmvp"):
        p = _prec(ins, rng)
        mn = m.split(".")[0]
        if g == "falu":
            do, does, what, expr = (t.format(a=a, b=b) for t in _FP[op])
            return compute(f"{do} as {p} values", f"{does} in {p}", f"{what} ({p})",
                           f"{expr} ({p})")
        if g == "fsqrt":
            return compute(f"take the {p} square root of {a}", f"computes the square root of "
                           f"the {p} value {a}", f"the {p} square root of {a}",
                           f"sqrt({a}) ({p})")
        if g == "fma":
            c = n["rs3"]
            expr, does = (t.format(a=a, b=b, c=c) for t in _FMA[op])
            return compute(f"compute {expr} in {p} with a single rounding", f"{does}, in {p} "
                           "with one rounding (fused)", f"the fused {p} result of {expr}",
                           f"fma: {expr} ({p})")
        if g == "fcmp":
            rel, words = {"feq": ("==", "equal to"), "flt": ("<", "strictly less than"),
                          "fle": ("<=", "less than or equal to"), "fgt": (">", "strictly "
                          "greater than"), "fge": (">=", "greater than or equal to")}[mn]
            return compute(f"test whether {p} {a} is {words} {b}", f"compares the {p} values "
                           f"{a} and {b} and writes 1 if {a} is {words} {b}, else 0, to an "
                           "integer register", f"1 if {a} is {words} {b} ({p}), else 0",
                           f"({a} {rel} {b}) ? 1 : 0  ({p})")
        if g == "fclass":
            return compute(f"classify the {p} value in {a}", f"examines the {p} value in {a} "
                           "and sets one bit of a 10-bit mask for its class (negative/positive "
                           "infinity, normal, subnormal, zero, signaling or quiet NaN)",
                           f"the class mask of the {p} value {a}", f"fclass({a}) ({p})")
        verb = {"fmv": ("copy", "copies", "a copy of {a}", "{a}"),
                "fabs": ("take the absolute value of", "computes the absolute value of",
                         "the absolute value of {a}", "|{a}|"),
                "fneg": ("negate", "negates", "the negation of {a}", "-{a}")}[mn]
        return compute(f"{verb[0]} the {p} value {a}", f"{verb[1]} the {p} value in {a}",
                       verb[2].format(a=a) + f" ({p})", verb[3].format(a=a) + f" ({p})")
    if g in ("fcvt_to_int", "fcvt_from_int", "fcvt_fp"):
        _, dst, src = m.split(".")
        (dt, dsh), (st, ssh) = _TYPES[dst], _TYPES[src]
        s.update(a=a, src_type=st, a_src_type=_article(st), dst_type=dt, a_dst_type=_article(dt),
                 src_short=ssh, dst_short=dsh, rnd=rnd, rnd_short=rnd_short)
        return "convert", s
    if g in ("fmv_to_int", "fmv_from_int"):
        bits = "64" if m.endswith((".d", ".x")) and "d" in m.split(".")[1:] else "32"
        if g == "fmv_to_int":
            return compute(f"move the raw {bits}-bit pattern of the float register {a} to an "
                           "integer register without conversion", f"copies the {bits}-bit IEEE "
                           f"bit pattern in {a} unchanged", f"the raw bits of {a}",
                           f"bits({a})")
        return compute(f"move the low {bits} bits of integer register {a} into a float register "
                       "unchanged", f"copies the low {bits} bits of {a} into a floating-point "
                       "register without any conversion", f"the bit pattern of {a} as a float",
                       f"from_bits{bits}({a})")
    if g in ("valu", "vcmp", "vmerge", "vmacc", "vred", "vunary"):
        return "vcompute", _vslots(ins, n, rng, s, spec)
    if g == "vmv":
        src = n.get("vs1", n.get("rs1", n.get("imm", n.get("vs2"))))
        dst = n.get("vd", d)
        s.update(d=dst, D=dst)
        text = {"vmv.v.v": ("copy vector {s}", "copies every element of vector {s}",
                            "a copy of vector {s}", "{s}"),
                "vmv.v.x": ("splat the integer register {s} into every element",
                            "broadcasts the scalar {s} to every element", "{s} in every "
                            "element", "splat({s})"),
                "vmv.v.i": ("splat the immediate {s} into every element", "broadcasts the "
                            "constant {s} to every element", "{s} in every element",
                            "splat({s})"),
                "vfmv.v.f": ("splat the float register {s} into every element",
                             "broadcasts the floating-point scalar {s} to every element",
                             "{s} in every element", "splat({s})"),
                "vmv.x.s": ("copy element 0 of vector {s} to an integer register",
                            "reads element 0 of {s} (sign-extended to XLEN)",
                            "element 0 of {s}", "{s}[0]"),
                "vfmv.f.s": ("copy element 0 of vector {s} to a float register",
                             "reads the floating-point element 0 of {s}",
                             "element 0 of {s} as a float", "{s}[0]"),
                "vmv.s.x": ("write integer register {s} into element 0 of a vector",
                            "writes the scalar {s} into element 0 only",
                            "{s} in element 0", "[0] = {s}"),
                "vfmv.s.f": ("write float register {s} into element 0 of a vector",
                             "writes the floating-point scalar {s} into element 0 only",
                             "{s} in element 0", "[0] = {s}")}[op]
        return compute(*(t.format(s=src) for t in text))
    if g == "vid":
        s.update(d=n["vd"], D=n["vd"])
        return compute("write each element's index", "writes to each element its own index "
                       "0, 1, 2, ...", "the element indices 0, 1, 2, ...", "index(i)")
    if g == "vsetvl":
        avl = n.get("rs1", n.get("uimm"))
        if "vtypei" in n:
            vt = n["vtypei"]
        else:
            vt = f"the vtype value in {n['rs2']}"
        if "uimm" in n:
            avl = f"the immediate {avl}"
        s.update(avl=avl, vt=vt)
        return "vsetvl", s
    if g in ("vload", "vstore"):
        return "vmem", _vmem(ins, n, rng, s)
    return _effect_slots(ins, n, rng, s, a, b, effect)


def _vmask(n, rng, spec) -> tuple[str, str]:
    if "vm" not in n:
        return "", ""
    if spec:
        return " under mask vm", " (vm)"
    if n["vm"]:
        return rng.choice([" under mask v0", ", only where mask v0 is set",
                           " for the elements enabled by v0.t"]), " (masked by v0.t)"
    return "", ""


def _vslots(ins, n, rng, s, spec) -> dict:
    g, op, m = ins.group, ins.op, ins.mnemonic
    vd = n["vd"]
    mask, mask_short = _vmask(n, rng, spec)
    s.update(vd=vd, D=vd if not spec else rng.choice([vd, f"the destination vector {vd}"]),
             mask=mask, mask_short=mask_short)
    suffix = m.split(".")[-1]
    x = n.get("vs2", "")
    if g == "vmacc":
        y = n.get("vs1", n.get("rs1"))
        yi = f"{y}[i]" if "vs1" in n else y
        form = "vv" if "vs1" in n else ("vf" if op == "vfmacc" else "vx")
        expr_i = {"vmacc": "{d}[i] + {y} * {x}[i]", "vnmsac": "{d}[i] - {y} * {x}[i]",
                  "vmadd": "{y} * {d}[i] + {x}[i]", "vfmacc": "{d}[i] + {y} * {x}[i]"}[op]
        expr_i = expr_i.format(d=vd, x=x, y=yi)
        what_i = f"{expr_i}{' (fused floating-point)' if op == 'vfmacc' else ''}"
        fx, fshort = _FORMS[form]
        s.update(what=f"the multiply-accumulate {expr_i.replace('[i]', '')}",
                 what_i=what_i, expr_i=expr_i, expr=expr_i.replace("[i]", ""),
                 form=_alt(fx, rng).format(x=x, y=y), form_short=fshort,
                 do=f"multiply-accumulate: {expr_i.replace('[i]', '')} for every element",
                 does=f"multiplies {y} by {x} element-wise and "
                      f"{'subtracts the products from' if op == 'vnmsac' else 'accumulates into'}"
                      f" {vd}" if op != "vmadd" else f"multiplies {y} by {vd} element-wise and "
                      f"adds {x}")
    elif g == "vred":
        acc = n["vs1"]
        noun = ins.semantics.split(" the ", 1)[1].split(" of element")[0]
        s.update(what=f"the {noun} of {acc}[0] and every active element of {x}",
                 what_i=f"(for i = 0 only) the {noun} of {acc}[0] and all of {x}",
                 expr_i=f"{noun}({acc}[0], {x}[*]) for i = 0",
                 expr=f"{vd}[0] = {noun}({acc}[0], {x}[0..vl-1])",
                 form=f"as a reduction over {x} seeded with {acc}[0]",
                 form_short="reduction .vs", do=f"reduce {x} with {noun}, starting from "
                 f"element 0 of {acc}, into element 0", does=f"reduces the elements of {x} "
                 f"to their {noun}, starting from {acc}[0], and writes it to element 0")
    elif g == "vunary":
        noun, ex = {"vfsqrt": ("floating-point square root", "sqrt({x})"),
                    "vneg": ("negation", "-{x}"), "vnot": ("bitwise NOT", "~{x}"),
                    "vzext": (f"zero-extension from SEW/{m[-1]} bits", "zext({x})"),
                    "vsext": (f"sign-extension from SEW/{m[-1]} bits", "sext({x})")}[op]
        s.update(what=f"the {noun} of each element of {x}", what_i=f"the {noun} of {x}[i]",
                 expr_i=ex.format(x=f"{x}[i]"), expr=ex.format(x=x),
                 form=f"element-wise over {x}", form_short="unary",
                 do=f"take the {noun} of every element of {x}",
                 does=f"applies the {noun} to each element of {x}")
    else:
        y = n.get("vs1", n.get("rs1", n.get("imm")))
        form = suffix[:2] if g == "vmerge" else suffix
        yi = f"{y}[i]" if "vs1" in n else y
        if g == "vmerge":
            expr_i = f"v0[i] ? {yi} : {x}[i]"
            noun = "merge"
            what = f"{y} where mask v0 is set and {x} elsewhere"
            what_i = f"{yi} if v0[i] is set, else {x}[i]"
            s.update(mask="", mask_short="")
        elif g == "vcmp":
            noun, ex = _VEC[op]
            expr_i = f"({ex.format(x=f'{x}[i]', y=yi)}) ? 1 : 0"
            what = f"a mask of the {noun} of {x} against {y}"
            what_i = f"mask bit 1 if {ex.format(x=f'{x}[i]', y=yi)}, else 0"
        else:
            noun, ex = _VEC[op]
            expr_i = ex.format(x=f"{x}[i]", y=yi)
            what = f"the element-wise {noun} of {x} and {y}"
            what_i = f"the {noun} of {x}[i] and {yi}"
        fx, fshort = _FORMS.get(form, _FORMS["vv"])
        if g == "vmerge":
            fshort = f"merge .{suffix}"
        s.update(what=what, what_i=what_i, expr_i=expr_i,
                 expr=expr_i.replace("[i]", ""), form=_alt(fx, rng).format(x=x, y=y),
                 form_short=fshort, do=f"compute {what}", does=f"computes {what}")
    s.update(Do=_cap(s["do"]), Does=_cap(s["does"]))
    return s


def _vmem(ins, n, rng, s) -> dict:
    m = ins.mnemonic
    eew = "".join(ch for ch in m.split(".")[0] if ch.isdigit())
    load = ins.group == "vload"
    reg = n.get("vd", n.get("vs3"))
    addr = n["rs1"]
    mask, mask_short = _vmask(n, rng, "vm" in n and n["vm"] == "vm")
    if "ei" in m:
        how = "ordered" if m.startswith(("vlox", "vsox")) else "unordered"
        kind = f"indexed-{how} {'load (gather)' if load else 'store (scatter)'}"
        where = f"at {addr} plus the 32-bit byte offsets in {n['vs2']}"
        ex_addr = f"{addr} + {n['vs2']}[i]"
        elem = "SEW-bit elements"
    elif "rs2" in n:
        kind = f"strided {'load' if load else 'store'}"
        where = f"starting at {addr} with a stride of {n['rs2']} bytes between elements"
        ex_addr = f"{addr} + i*{n['rs2']}"
        elem = f"{eew}-bit elements"
    else:
        kind = f"unit-stride {'load' if load else 'store'}"
        where = f"from consecutive addresses starting at {addr}" if load else \
            f"to consecutive addresses starting at {addr}"
        ex_addr = f"{addr} + i*{int(eew) // 8}"
        elem = f"{eew}-bit elements"
    if load:
        s.update(do=f"load {elem} {where} into {reg}", does=f"loads {elem} {where} into {reg}",
                 expr=f"{reg}[i] = mem[{ex_addr}]")
    else:
        s.update(do=f"store the {elem} of {reg} {where}",
                 does=f"stores the {elem} of {reg} {where}", expr=f"mem[{ex_addr}] = {reg}[i]")
    s.update(Do=_cap(s["do"]), Does=_cap(s["does"]), kind=kind, mask=mask,
             mask_short=mask_short)
    return s


def _effect_slots(ins, n, rng, s, a, b, effect):
    g, m = ins.group, ins.mnemonic
    d = s["d"]
    if g == "jal":
        t = n["offset"]
        return effect(f"jump to {t} and save the return address in {d}",
                      f"jumps to {t} and writes the address of the following instruction "
                      f"(pc + 4) to {d}", f"{d} = pc + 4; pc = {t}", f"call {t} linking {d}")
    if g == "jal1":
        t = n["offset"]
        link = "pc + 2" if m.startswith("c.") else "pc + 4"
        return effect(f"call {t}, saving the return address in ra", f"jumps to {t} and writes "
                      f"the return address ({link}) to ra", f"ra = {link}; pc = {t}")
    if g == "jalr":
        return effect(f"jump to the address {a} + {n['imm']} and save the return address in "
                      f"{d}", f"jumps to {a} plus the offset {n['imm']} (with bit 0 cleared) "
                      f"and writes pc + 4 to {d}", f"{d} = pc + 4; pc = ({a} + {n['imm']}) & ~1")
    if g == "jalr1":
        link = "pc + 2" if m.startswith("c.") else "pc + 4"
        return effect(f"call the function whose address is in {a}", f"jumps to the address "
                      f"held in {a} and writes the return address ({link}) to ra",
                      f"ra = {link}; pc = {a}")
    if g == "j":
        t = n["offset"]
        return effect(f"jump to {t} unconditionally", f"jumps to {t} without saving a return "
                      "address", f"pc = {t}", f"goto {t}")
    if g == "jr":
        return effect(f"jump to the address in {a}", f"jumps to the address held in {a} "
                      "without linking", f"pc = {a}", f"goto *{a}")
    if g == "ret":
        return effect("return from the current function", "returns to the caller by jumping "
                      "to the address in ra", "pc = ra", "return")
    if g in ("call", "tail"):
        sym = n["symbol"]
        if g == "call":
            return effect(f"call the function {sym}", f"calls {sym}, saving the return address "
                          "in ra (an auipc/jalr pair)", f"ra = pc + 8; pc = {sym}",
                          f"{sym}()")
        return effect(f"tail-call {sym}", f"jumps to {sym} without saving a return address, "
                      "reusing the caller's return address", f"goto {sym}  (tail call)")
    if g == "nop":
        comp = " in 2 bytes" if m.startswith("c.") else ""
        return effect(f"do nothing for one instruction{comp}", f"does nothing{comp}",
                      "no operation", "nop")
    if g == "system":
        what = {"ecall": ("make a system call to the execution environment",
                          "raises an environment-call exception, requesting a service from "
                          "the operating system or execution environment", "syscall()"),
                "ebreak": ("trigger a breakpoint for the debugger", "raises a breakpoint "
                           "exception to hand control to a debugger", "breakpoint()"),
                "c.ebreak": ("trigger a breakpoint with a 2-byte instruction", "raises a "
                             "breakpoint exception", "breakpoint()"),
                "unimp": ("raise an illegal-instruction exception on purpose", "traps as an "
                          "illegal instruction (an encoding that is never valid)",
                          "trap(illegal)")}[m]
        return effect(*what)
    if g == "fence":
        if m == "fence.tso":
            return effect("order memory accesses with total store ordering", "orders earlier "
                          "loads before later loads and stores, and earlier stores before later "
                          "stores (TSO)", "fence.tso", "TSO barrier")
        if "pred" not in n:
            return effect("order all memory and I/O accesses", "orders all earlier memory and "
                          "I/O accesses before all later ones (a full fence)",
                          "fence iorw, iorw", "full barrier")
        def sets(x):
            if x in ("pred", "succ"):
                return f"the set {x}"
            return " and ".join(_FENCE_WORDS[c] for c in x)
        p, q = sets(n["pred"]), sets(n["succ"])
        return effect(f"make earlier {p} visible before later {q}", f"orders the "
                      f"predecessor accesses ({p}) before the successor accesses ({q})",
                      f"barrier: {n['pred']} before {n['succ']}")
    if g == "fencei":
        return effect("make earlier stores to instruction memory visible to instruction fetch",
                      "synchronizes the instruction stream with earlier data stores on this "
                      "hart", "sync(icache, stores)", "instruction fence")
    if g in ("csr", "csrp"):
        csr = n["csr"]
        src = n.get("rs1", n.get("zimm", ""))
        imm = "zimm" in n
        srcw = f"the immediate {src}" if imm else src
        act = {"csrrw": "w", "csrrs": "s", "csrrc": "c", "csrw": "w", "csrs": "s",
               "csrc": "c", "csrwi": "w", "csrsi": "s", "csrci": "c"}[ins.op]
        change = {"w": f"writes {srcw} to it", "s": f"sets the bits that are 1 in {srcw}",
                  "c": f"clears the bits that are 1 in {srcw}"}[act]
        ex = {"w": f"{csr} = {src}", "s": f"{csr} |= {src}", "c": f"{csr} &= ~{src}"}[act]
        if g == "csr":
            plain = change.replace("writes", "write").replace("sets", "set").replace("clears",
                                                                                  "clear")
            return effect(f"atomically read {csr} into {d} and {plain}",
                          f"atomically reads the old value of CSR {csr} into {d} and {change}",
                          f"{d} = {csr}; {ex}", f"atomic {{ {d} = {csr}; {ex} }}")
        verb = {"w": "write", "s": "set", "c": "clear"}[act]
        obj = {"w": f"{srcw} to the CSR {csr}", "s": f"the bits of {csr} given by {srcw}",
               "c": f"the bits of {csr} given by {srcw}"}[act]
        return effect(f"{verb} {obj}", f"{change.replace('it', csr, 1)} without reading it "
                      "back", ex)
    if g == "wrfcsr":
        what = {"fscsr": "the floating-point control and status register fcsr",
                "fsrm": "the dynamic rounding mode frm", "fsflags": "the floating-point "
                "exception flags fflags"}[m]
        return effect(f"write {a} to {what}", f"writes {a} to {what}",
                      f"{what.split()[-1]} = {a}")
    raise AssertionError(f"no phrasing for group {g!r} ({m})")


def _operands(ins: Instruction, rng: random.Random, spec: bool) -> tuple[dict, dict]:
    """(assembly text, description name) per role."""
    if spec:
        names = {r: r for r in ins.roles}
        return names, dict(names)
    pick = _Picker(rng)
    vals, names = {}, {}
    for role in ins.roles:
        vals[role], names[role] = pick.operand(ins, role)
    if ins.op in ("vwadd", "vwaddu"):  # the 2*SEW destination group may not overlap a source
        vd = rng.randrange(2, 32, 2)
        vals["vd"] = names["vd"] = f"v{vd}"
        for role in ("vs1", "vs2"):
            if role in vals:
                free = [r for r in range(1, 32) if r not in (vd, vd + 1)]
                vals[role] = names[role] = f"v{rng.choice(free)}"
    if "vm" in ins.roles:
        masked = rng.random() < 0.25
        vals["vm"] = names["vm"] = "v0.t" if masked else ""
    return vals, names


def _single(ins: Instruction, rng: random.Random) -> dict:
    spec = rng.random() < SPEC_SHARE
    vals, names = _operands(ins, rng, spec)
    if spec:
        asm = ins.spec
    else:
        syntax = ins.syntax
        for role in sorted(ins.roles, key=len, reverse=True):
            syntax = re.sub(rf"\b{role}\b", "{" + role + "}", syntax)
        asm = f"{ins.mnemonic} {syntax.format(**vals)}".strip().rstrip(", ")
    rm = None
    stem = ins.mnemonic.split(".")[0]
    takes_rm = (stem in _RM_OK or (ins.group in ("fcvt_to_int", "fcvt_from_int", "fcvt_fp")
                                   and ins.mnemonic not in ("fcvt.d.w", "fcvt.d.wu",
                                                            "fcvt.d.s")))
    if "rm" in ins.roles:
        rm = names["rm"]
    elif takes_rm and rng.random() < RM_SHARE:
        rm = "rm" if spec else rng.choice(list(_ROUNDING))
        asm += f", {rm}"
    cls, slots = _slots(ins, names, rng, rm, spec)
    style = rng.choices(STYLES, [PHRASING_WEIGHTS[s] for s in STYLES])[0]
    templates = TEMPLATES[cls][style]
    index = rng.randrange(len(templates))
    text = _alt(_alt(templates[index], rng).format(**slots), rng)
    text = re.sub(r"\s+", " ", text).replace(" ,", ",").replace(",,", ",").strip()
    if ins.ext == "C":
        suffix = rng.choice(COMPRESSED)
        text = (text[:-1] + suffix + text[-1]) if text[-1] in ".?" else text + suffix
    if text.startswith(("the ", "register ", "destination ", "floating-point ")):
        text = _cap(text)
    if rng.random() < NAMED_SHARE:
        text = _named(text, ins.mnemonic, rng)
    return {"description": text, "instructions": asm, "category": ins.ext,
            "style": "spec" if spec else "concrete", "phrasing": style,
            "group": f"{ins.mnemonic}|{cls}.{style}{index}"}


# Directive wordings, by directive: several per directive, so a held-out wording still leaves
# others of the same directive in training. Slots: {sym}, {what}, {scope}, {bits}, {shown},
# {s}, {nul}, {k}, {p2}, {name}, {value}, {sec}.
_DIRECTIVE_TEXTS = {
    "section": ["Switch to the {what} section.", "Start the {what} section.",
                "Continue in the {m} section.", "Put what follows in the {what} section.",
                "Which directive selects the {what} section?"],
    "named-section": ["Switch to the section {sec}.", "Put the following into section {sec}.",
                      "How do I switch to the {sec} section?"],
    "scope": ["Make {sym} {scope}.", "Declare the symbol {sym} {scope}.",
              "How do I make the symbol {sym} {scope}?", "{sym} should be {scope}."],
    "data": ["Emit the {bits}-bit value(s) {shown}.", "Place {shown} here as {bits}-bit data.",
             "How do I store the {bits}-bit constant(s) {shown} in the data?",
             "Assemble {shown} as {bits}-bit integers."],
    "string": ['Emit the string "{s}" {nul} a terminating NUL byte.',
               'Place the text "{s}" here, {nul} a trailing zero byte.',
               'How do I put the string "{s}" in memory {nul} a NUL terminator?'],
    "zero": ["Reserve {k} zero bytes.", "Emit {k} bytes of zeros.",
             "How do I fill {k} bytes with zeros here?", "Leave {k} zero-filled bytes."],
    "p2align": ["Align the next item to a {p2}-byte boundary.",
                "Pad so the next item starts at a multiple of {p2} bytes (power-of-two "
                "argument {k}).", "How do I align to {p2} bytes with a power-of-two argument?"],
    "balign": ["Pad to a multiple of {k} bytes.", "Align to {k} bytes, giving the byte count.",
               "How do I align the location counter to {k} bytes by byte count?"],
    "equ": ["Define the constant {name} as {value}.", "Let {name} equal {value}.",
            "How do I give the symbol {name} the value {value}?", "{name} = {value}, assemble-time"],
    "type": ["Mark {sym} as a function symbol.", "Set the symbol type of {sym} to function.",
             "How do I tell the assembler that {sym} is a function?"],
    "rvc": ["Allow compressed instructions from here on.", "Turn compression (RVC) back on.",
            "How do I let the assembler emit compressed instructions again?"],
    "norvc": ["Stop emitting compressed instructions.", "Turn off RVC compression from here.",
              "How do I stop the assembler from compressing instructions?"],
}


def _directive(ins: Instruction, rng: random.Random) -> tuple[str, str, str]:
    """(description, assembly, wording id) of one directive."""
    m = ins.mnemonic
    slots = {"m": m, "sym": rng.choice(_SYMBOLS)}
    if m in (".text", ".data", ".bss"):
        key, asm = "section", m
        slots["what"] = {".text": "code (text)", ".data": "initialized data",
                         ".bss": "zero-initialized data (bss)"}[m]
    elif m == ".section":
        slots["sec"] = rng.choice([".rodata", ".sdata", ".init", ".text.startup"])
        key, asm = "named-section", f".section {slots['sec']}"
    elif m in (".globl", ".global", ".local"):
        slots["scope"] = "local to this file" if m == ".local" else "global"
        key, asm = "scope", f"{m} {slots['sym']}"
    elif m in (".word", ".half", ".byte", ".dword"):
        bits = {".word": 32, ".half": 16, ".byte": 8, ".dword": 64}[m]
        values = [rng.randrange(0, min(1 << bits, 1 << 16)) for _ in range(rng.randint(1, 4))]
        slots.update(bits=bits, shown=", ".join(map(str, values)))
        key, asm = "data", f"{m} {slots['shown']}"
    elif m in (".string", ".asciz", ".ascii"):
        slots["s"] = rng.choice(["hello", "Hello, world!", "error", "ok", "result: ", "RISC-V",
                                 "done\\n"])
        slots["nul"] = "without" if m == ".ascii" else "with"
        key, asm = "string", f'{m} "{slots["s"]}"'
    elif m == ".zero":
        slots["k"] = rng.choice([4, 8, 16, 32, 64, 100, 256])
        key, asm = "zero", f"{m} {slots['k']}"
    elif m in (".align", ".p2align"):
        slots["k"] = rng.randint(1, 6)
        slots["p2"] = 1 << slots["k"]
        key, asm = "p2align", f"{m} {slots['k']}"
    elif m == ".balign":
        slots["k"] = rng.choice([2, 4, 8, 16, 64])
        key, asm = "balign", f"{m} {slots['k']}"
    elif m == ".equ":
        slots.update(name=rng.choice(["SIZE", "COUNT", "STACK_SIZE", "MASK", "LIMIT"]),
                     value=rng.randrange(0, 4096))
        key, asm = "equ", f".equ {slots['name']}, {slots['value']}"
    elif m == ".type":
        key, asm = "type", f".type {slots['sym']}, @function"
    elif m == ".option":
        key = "rvc" if ins.syntax == "rvc" else "norvc"
        asm = f".option {key}"
    else:
        raise AssertionError(m)
    index = rng.randrange(len(_DIRECTIVE_TEXTS[key]))
    return _DIRECTIVE_TEXTS[key][index].format(**slots), asm, f"{key}{index}"


def _directive_row(ins: Instruction, rng: random.Random) -> dict:
    if rng.random() < 0.2:
        sem = ins.semantics
        index = rng.randrange(2)
        text = [sem, f"Which directive does this: {sem[0].lower()}{sem[1:-1]}?"][index]
        desc, asm, style, phrasing = text, ins.spec, "spec", ("manual", "question")[index]
        tid = f"spec{index}"
    else:
        desc, asm, tid = _directive(ins, rng)
        style = "concrete"
        phrasing = "question" if desc.startswith("How") or desc.endswith("?") else "task"
    return {"description": desc, "instructions": asm, "category": "directive", "style": style,
            "phrasing": phrasing, "group": f"{ins.mnemonic}|directive.{tid}"}


def _snippet_row(rng: random.Random) -> dict:
    from rvtune.riscv.generate_snippets import snippet  # it uses this module's tables

    return snippet(rng)


def _near(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def evaluation_descriptions() -> frozenset[str]:
    """The hand-written evaluation set's descriptions (``data/phrasings.jsonl``), compared by
    words and numbers only: the generator never writes one, so no training row is an eval row.
    """
    import json
    from importlib import resources

    text = resources.files("rvtune.riscv").joinpath("data/phrasings.jsonl").read_text("utf-8")
    return frozenset(_near(json.loads(line)["description"]) for line in text.splitlines()
                     if line.strip())


def generate_rows(size: int = 3000, seed: int = 0) -> Iterator[dict]:
    """Yield ``size`` distinct rows ``{description, instructions, category, style, phrasing,
    group}``.

    Deterministic for ``seed``, and a prefix of a larger run equals a smaller run. About 15%
    are multi-instruction snippets; single instructions come from a shuffled deck of every
    table entry (``DECK_COPIES`` copies per category), so every mnemonic of the table appears
    once the first deck is dealt (about 2,300 rows). About 30% of single-instruction rows use
    the manual's placeholder operands (style ``spec``). A description of the hand-written
    evaluation set (``evaluation_descriptions``) is never generated.
    """
    rng = random.Random(seed)
    table = by_category()
    entries = [ins for cat, copies in DECK_COPIES.items() for ins in table[cat]
               for _ in range(copies)]
    deck: list[Instruction] = []
    seen: set[tuple[str, str]] = set()
    held_out = evaluation_descriptions()
    made, failures = 0, 0
    while made < size and failures < size * 50:
        if rng.random() < SNIPPET_SHARE:
            row = _snippet_row(rng)
        else:
            if not deck:
                deck = entries[:]
                rng.shuffle(deck)
            ins = deck.pop()
            make = _directive_row if ins.ext == "directive" else _single
            for _ in range(20):  # a few tries for a row not seen yet
                row = make(ins, rng)
                if (row["description"], row["instructions"]) not in seen:
                    break
        key = (row["description"], row["instructions"])
        if key in seen or _near(row["description"]) in held_out:
            failures += 1
            continue
        seen.add(key)
        made += 1
        yield row
