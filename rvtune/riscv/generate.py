"""The built-in RISC-V dataset: natural-language descriptions paired with assembly.

``generate_rows(size, seed)`` yields rows laid out like the Hugging Face dataset
``davidpirkl/riscv-instruction-specification`` (``description`` -> ``instructions``), plus
``category`` (extension, ``pseudo``, ``directive`` or ``snippet``) and ``style``:

* ``spec``: the manual's placeholder operands, ``lw rd, imm(rs1)``;
* ``concrete``: real registers (ABI and ``xN`` names), in-range immediates, varied phrasing;
* ``snippet``: short multi-instruction programs (about 15% of rows).

Every row assembles (spec rows after ``substitute_placeholders``); tests/riscv checks it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from rvtune.riscv.isa import IMMEDIATES, Instruction, by_category

CATEGORY_WEIGHTS = {"base": 24, "M": 7, "A": 6, "F": 8, "D": 7, "Zicsr": 5, "Zifencei": 1,
                    "C": 8, "V": 9, "pseudo": 13, "directive": 5}
SNIPPET_SHARE = 0.15
SPEC_SHARE = 0.2

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
             "rdn": "round down", "rup": "round up", "rmm": "round to nearest, ties to max "
             "magnitude", "dyn": "the dynamic rounding mode"}
_FENCE_SETS = ["rw", "r", "w", "iorw", "io", "ow", "ir"]

# op -> (verb phrase, noun phrase, expression), over operands {a} and {b}.
_OPS = {
    "add": ("add {a} and {b}", "sum of {a} and {b}", "{a} + {b}"),
    "sub": ("subtract {b} from {a}", "difference {a} minus {b}", "{a} - {b}"),
    "and": ("AND {a} with {b}", "bitwise AND of {a} and {b}", "{a} & {b}"),
    "or": ("OR {a} with {b}", "bitwise OR of {a} and {b}", "{a} | {b}"),
    "xor": ("XOR {a} with {b}", "bitwise XOR of {a} and {b}", "{a} ^ {b}"),
    "sll": ("shift {a} left by {b} bits", "left shift of {a} by {b}", "{a} << {b}"),
    "srl": ("shift {a} right logically by {b} bits", "logical right shift of {a} by {b}",
            "{a} >> {b} (logical)"),
    "sra": ("shift {a} right arithmetically by {b} bits",
            "arithmetic right shift of {a} by {b}", "{a} >> {b} (arithmetic)"),
    "slt": ("test whether {a} < {b} as signed numbers", "signed less-than flag of {a} and {b}",
            "({a} < {b}) ? 1 : 0"),
    "sltu": ("test whether {a} < {b} as unsigned numbers",
             "unsigned less-than flag of {a} and {b}", "({a} <u {b}) ? 1 : 0"),
    "mul": ("multiply {a} by {b}", "product of {a} and {b}", "{a} * {b}"),
    "mulh": ("multiply {a} by {b} as signed numbers and keep the high half",
             "high half of the signed product of {a} and {b}", "({a} * {b}) >> XLEN"),
    "mulhu": ("multiply {a} by {b} as unsigned numbers and keep the high half",
              "high half of the unsigned product of {a} and {b}",
              "({a} *u {b}) >> XLEN"),
    "mulhsu": ("multiply signed {a} by unsigned {b} and keep the high half",
               "high half of the signed-by-unsigned product of {a} and {b}",
               "({a} *su {b}) >> XLEN"),
    "div": ("divide {a} by {b} (signed)", "signed quotient of {a} / {b}", "{a} / {b}"),
    "divu": ("divide {a} by {b} (unsigned)", "unsigned quotient of {a} / {b}", "{a} /u {b}"),
    "rem": ("take the signed remainder of {a} divided by {b}", "signed remainder of {a} / {b}",
            "{a} % {b}"),
    "remu": ("take the unsigned remainder of {a} divided by {b}",
             "unsigned remainder of {a} / {b}", "{a} %u {b}"),
}
_ALU_TEMPLATES = [
    "{Verb} and put the result in {d}.", "{Verb}, writing the result to {d}.",
    "{d} = {expr}", "Compute the {noun} into {d}.", "Set {d} to the {noun}.",
    "Store the {noun} in register {d}.", "Calculate {expr} and place it in {d}.",
    "{Verb}; the result goes to {d}.",
]
_WIDTHS = {"lb": "signed byte", "lbu": "unsigned byte", "lh": "signed halfword",
           "lhu": "unsigned halfword", "lw": "32-bit word", "lwu": "zero-extended 32-bit word",
           "ld": "64-bit doubleword", "flw": "single-precision float",
           "fld": "double-precision float", "sb": "byte", "sh": "halfword",
           "sw": "32-bit word", "sd": "64-bit doubleword", "fsw": "single-precision float",
           "fsd": "double-precision float"}
_CONDS = {"beq": ("{a} equals {b}", "{a} == {b}"), "bne": ("{a} differs from {b}", "{a} != {b}"),
          "blt": ("{a} is less than {b} (signed)", "{a} < {b}"),
          "bge": ("{a} is at least {b} (signed)", "{a} >= {b}"),
          "bltu": ("{a} is below {b} (unsigned)", "{a} <u {b}"),
          "bgeu": ("{a} is at or above {b} (unsigned)", "{a} >=u {b}"),
          "bgt": ("{a} is greater than {b} (signed)", "{a} > {b}"),
          "ble": ("{a} is at most {b} (signed)", "{a} <= {b}"),
          "bgtu": ("{a} is above {b} (unsigned)", "{a} >u {b}"),
          "bleu": ("{a} is at or below {b} (unsigned)", "{a} <=u {b}"),
          "beqz": ("{a} is zero", "{a} == 0"), "bnez": ("{a} is not zero", "{a} != 0"),
          "blez": ("{a} is zero or negative", "{a} <= 0"),
          "bgez": ("{a} is zero or positive", "{a} >= 0"),
          "bltz": ("{a} is negative", "{a} < 0"), "bgtz": ("{a} is positive", "{a} > 0")}
_AMO_VERBS = {"amoswap": "swap {b} into", "amoadd": "add {b} to", "amoand": "AND {b} into",
              "amoor": "OR {b} into", "amoxor": "XOR {b} into",
              "amomax": "store the signed maximum of {b} and", "amomin": "store the signed "
              "minimum of {b} and", "amomaxu": "store the unsigned maximum of {b} and",
              "amominu": "store the unsigned minimum of {b} and"}
_FP_OPS = {"fadd": ("add {a} and {b}", "{a} + {b}"), "fsub": ("subtract {b} from {a}",
                                                               "{a} - {b}"),
           "fmul": ("multiply {a} by {b}", "{a} * {b}"), "fdiv": ("divide {a} by {b}",
                                                                   "{a} / {b}"),
           "fmin": ("take the minimum of {a} and {b}", "min({a}, {b})"),
           "fmax": ("take the maximum of {a} and {b}", "max({a}, {b})"),
           "fsgnj": ("copy {a} with the sign of {b}", "copysign({a}, {b})"),
           "fsgnjn": ("copy {a} with the negated sign of {b}", "copysign({a}, -{b})"),
           "fsgnjx": ("copy {a} with its sign XORed with the sign of {b}",
                      "{a} with sign({a}) ^ sign({b})")}
_FMA = {"fmadd": "({a} * {b}) + {c}", "fmsub": "({a} * {b}) - {c}",
        "fnmsub": "-({a} * {b}) + {c}", "fnmadd": "-({a} * {b}) - {c}"}
_VOP_NOUNS = {"vadd": "sum", "vsub": "difference", "vand": "bitwise AND", "vor": "bitwise OR",
              "vxor": "bitwise XOR", "vmul": "product", "vmin": "signed minimum",
              "vmax": "signed maximum", "vminu": "unsigned minimum", "vmaxu": "unsigned maximum",
              "vsll": "left shift", "vsrl": "logical right shift",
              "vsra": "arithmetic right shift", "vdiv": "signed quotient",
              "vrem": "signed remainder", "vrsub": "reverse difference",
              "vfadd": "floating-point sum", "vfsub": "floating-point difference",
              "vfmul": "floating-point product", "vfdiv": "floating-point quotient"}


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
    return s[0].upper() + s[1:]


def _concrete(ins: Instruction, rng: random.Random) -> tuple[str, str]:
    pick = _Picker(rng)
    vals, names = {}, {}
    for role in ins.roles:
        vals[role], names[role] = pick.operand(ins, role)
    masked = "vm" in ins.roles and rng.random() < 0.25
    syntax = ins.syntax
    for role in sorted(ins.roles, key=len, reverse=True):
        syntax = syntax.replace(role, "{" + role + "}")
    vals["vm"] = "v0.t" if masked else ""
    asm = f"{ins.mnemonic} {syntax.format(**vals)}".strip().rstrip(", ")
    g = ins.group
    n = names
    d = n.get("rd", "sp")
    a = n.get("rs1", "sp" if "sp," in ins.syntax else n.get("rd", "sp"))
    b = n.get("rs2", n.get("imm", n.get("shamt", n.get("zimm", ""))))
    compressed = ins.ext == "C"
    op = ins.op
    wide = op.endswith("w") and op[:-1] in _OPS
    base_op = op[:-1] if wide else op
    mask = rng.choice([" under mask v0", ", masked by v0", " for elements enabled in v0"]
                      ) if masked else ""
    if g in ("alu", "alui") and base_op in _OPS:
        verb, noun, expr = (s.format(a=a, b=b) for s in _OPS[base_op])
        if wide:
            noun, expr = "32-bit " + noun, f"sext32({expr})"
            verb += " using 32-bit arithmetic"
        t = rng.choice(_ALU_TEMPLATES)
        text = t.format(Verb=_cap(verb), noun=noun, expr=expr, d=d)
    elif g in ("load", "store"):
        width = _WIDTHS[op]
        base = n.get("rs1", "sp")
        off = n["offset"] if "offset" in n else n.get("imm", "0")
        if g == "load":
            text = rng.choice([
                f"Load a {width} from address {base} + {off} into {d}.",
                f"{d} = {width} at memory[{base} + {off}]",
                f"Read the {width} stored {off} bytes past the address in {base} into {d}.",
                f"Fetch a {width} from {off}({base}) into register {d}."])
        else:
            src = n["rs2"]
            text = rng.choice([
                f"Store the {width} in {src} to memory at {base} + {off}.",
                f"memory[{base} + {off}] = {src} ({width})",
                f"Write {src} as a {width} to the address {off}({base}).",
                f"Save {src} ({width}) at offset {off} from {base}."])
    elif g in ("branch", "branchz"):
        words, expr = (s.format(a=n["rs1"], b=n.get("rs2", "")) for s in _CONDS[op])
        tgt = n["offset"]
        text = rng.choice([f"If {words}, branch to {tgt}.", f"Branch to {tgt} when {words}.",
                           f"Jump to {tgt} if {expr}.", f"if ({expr}) goto {tgt}",
                           f"When {words}, continue at {tgt}."])
    elif g == "jal":
        tgt = n["offset"]
        text = rng.choice([f"Jump to {tgt} and save the return address in {d}.",
                           f"Call {tgt}, linking through {d}.",
                           f"Jump-and-link to {tgt} with {d} as the link register."])
    elif g == "jal1":
        text = rng.choice([f"Call {n['offset']}, saving the return address in ra.",
                           f"Jump and link to {n['offset']} through ra."])
    elif g == "jalr":
        text = rng.choice([f"Jump to the address in {a} plus {n['imm']}, saving the return "
                           f"address in {d}.", f"Indirect call through {a} (offset {n['imm']}) "
                           f"with the link in {d}.", f"{d} = pc + 4; pc = {a} + {n['imm']}"])
    elif g in ("lui", "auipc", "li"):
        imm = n["imm"]
        text = rng.choice({
            "lui": [f"Load the upper immediate {imm} into {d}.", f"{d} = {imm} << 12",
                    f"Set the upper bits of {d} to {imm} and clear its low 12 bits."],
            "auipc": [f"Add {imm} shifted left by 12 to the pc and write it to {d}.",
                      f"{d} = pc + ({imm} << 12)",
                      f"Form a pc-relative address with upper immediate {imm} in {d}."],
            "li": [f"Load the immediate {imm} into {d}.", f"{d} = {imm}",
                   f"Set {d} to the constant {imm}.", f"Put the value {imm} in register {d}."],
        }[g])
    elif g in ("lr", "sc", "amo"):
        order = {"aq": " with acquire ordering", "rl": " with release ordering",
                 "aqrl": " with acquire-release ordering"}.get(ins.mnemonic.split(".")[-1], "")
        width = "doubleword" if ".d" in ins.mnemonic else "word"
        addr = n["rs1"]
        if g == "lr":
            text = rng.choice([f"Load-reserve the {width} at the address in {addr} into {d}"
                               f"{order}.", f"{d} = load-reserved {width} [{addr}]{order}"])
        elif g == "sc":
            text = rng.choice([f"Store-conditional {n['rs2']} as a {width} to the address in "
                               f"{addr}{order}, writing the status to {d}.",
                               f"Try to store {n['rs2']} to [{addr}] ({width}, store-conditional"
                               f"{order}); {d} gets 0 on success."])
        else:
            verb = _AMO_VERBS[op].format(b=n["rs2"])
            text = rng.choice([f"Atomically {verb} the {width} at the address in {addr}, "
                               f"returning the old value in {d}{order}.",
                               f"Atomic {op[3:]} on the {width} at [{addr}] with {n['rs2']}; "
                               f"old value to {d}{order}."])
    elif g == "csr":
        src = n.get("rs1", n.get("zimm"))
        csr = n["csr"]
        act = {"csrrw": f"write {src} to it", "csrrs": f"set the bits given by {src}",
               "csrrc": f"clear the bits given by {src}"}[op]
        text = rng.choice([f"Read CSR {csr} into {d} and {act}.",
                           f"Atomically read {csr} into {d}, then {act}.",
                           f"{d} = {csr}; then {act}"])
    elif g == "csrp":
        csr = n["csr"]
        src = n.get("rs1", n.get("zimm", ""))
        text = {"csrr": rng.choice([f"Read the CSR {csr} into {d}.", f"{d} = {csr}"]),
                "csrw": rng.choice([f"Write {src} to the CSR {csr}.", f"{csr} = {src}"]),
                "csrs": f"Set the bits of {csr} that are set in {src}.",
                "csrc": f"Clear the bits of {csr} that are set in {src}.",
                "csrwi": rng.choice([f"Write the immediate {src} to {csr}.",
                                     f"{csr} = {src}"])}[op]
    elif g == "rdctr":
        what = {"rdcycle": "cycle counter", "rdtime": "real-time clock",
                "rdinstret": "retired-instruction counter", "frcsr": "floating-point control "
                "and status register"}[op]
        text = rng.choice([f"Read the {what} into {d}.", f"Copy the {what} to {d}."])
    elif g == "falu":
        prec = "single" if ins.mnemonic.endswith(".s") else "double"
        verb, expr = (s.format(a=n["rs1"], b=n["rs2"]) for s in _FP_OPS[op])
        text = rng.choice([f"{_cap(verb)} in {prec} precision and put the result in {d}.",
                           f"{d} = {expr} ({prec} precision)",
                           f"Using {prec}-precision floats, {verb}; result in {d}."])
    elif g == "fma":
        prec = "single" if ins.mnemonic.endswith(".s") else "double"
        expr = _FMA[op].format(a=n["rs1"], b=n["rs2"], c=n["rs3"])
        text = rng.choice([f"Compute {expr} in {prec} precision with one rounding into {d}.",
                           f"{d} = {expr} (fused, {prec} precision)"])
    elif g == "fsqrt":
        prec = "single" if ins.mnemonic.endswith(".s") else "double"
        text = rng.choice([f"Take the {prec}-precision square root of {a} into {d}.",
                           f"{d} = sqrt({a}) ({prec} precision)"])
    elif g == "fcmp":
        prec = "single" if ins.mnemonic.endswith(".s") else "double"
        rel = {"feq": "==", "flt": "<", "fle": "<="}[op]
        text = rng.choice([f"Set {d} to 1 if {a} {rel} {n['rs2']} ({prec} precision), "
                           f"otherwise 0.", f"{d} = ({a} {rel} {n['rs2']}) as {prec} floats"])
    elif g == "fclass":
        text = f"Classify the {'single' if ins.mnemonic.endswith('.s') else 'double'}-precision " \
               f"value in {a} and write the class mask to {d}."
    elif g in ("fcvt_to_int", "fcvt_from_int", "fcvt_fp"):
        parts = ins.mnemonic.split(".")
        names_ = {"w": "signed 32-bit integer", "wu": "unsigned 32-bit integer",
                  "l": "signed 64-bit integer", "lu": "unsigned 64-bit integer",
                  "s": "single-precision float", "d": "double-precision float"}
        rm = f" using {_ROUNDING[n['rm']]}" if "rm" in n else ""
        dest = names_[parts[1]]
        article = "an" if dest[0] in "aeiou" else "a"
        text = rng.choice([f"Convert the {names_[parts[2]]} in {a} to {article} {dest} "
                           f"in {d}{rm}.", f"{d} = ({dest}) {a}{rm}"])
    elif g in ("fmv_to_int", "fmv_from_int"):
        text = rng.choice([f"Move the raw bits of {a} into {d} without conversion.",
                           f"Bitwise copy {a} to {d}."])
    elif g == "fmvp":
        verb = {"fmv": "Copy", "fabs": "Take the absolute value of", "fneg": "Negate"}[
            ins.mnemonic.split(".")[0]]
        prec = "single" if ins.mnemonic.endswith(".s") else "double"
        text = f"{verb} the {prec}-precision value in {a} into {d}."
    elif g == "mv":
        src = n.get("rs1", n.get("rs2"))
        text = rng.choice([f"Copy {src} into {d}.", f"{d} = {src}", f"Move {src} to {d}."])
    elif g == "not":
        text = rng.choice([f"{d} = ~{a}", f"Invert all bits of {a} into {d}."])
    elif g == "neg" and op == "negw":
        text = f"Negate the low 32 bits of {a} and sign-extend the result into {d}."
    elif g == "neg":
        text = rng.choice([f"{d} = -{a}", f"Negate {a} into {d}."])
    elif g == "sext":
        text = f"Sign-extend the low 32 bits of {a} into {d}."
    elif g == "setcc":
        cond = {"seqz": "is zero", "snez": "is not zero", "sltz": "is negative",
                "sgtz": "is positive"}[op]
        text = rng.choice([f"Set {d} to 1 if {a} {cond}, else 0.", f"{d} = ({a} {cond}) ? 1 : 0"])
    elif g == "la":
        sym = n["symbol"]
        text = rng.choice([f"Load the address of {sym} into {d}.", f"{d} = &{sym}",
                           f"Put the address of the symbol {sym} in {d}."])
        if op == "lla":
            text = f"Load the pc-relative address of {sym} into {d}."
    elif g in ("call", "tail"):
        sym = n["symbol"]
        text = (rng.choice([f"Call the function {sym}.", f"Call {sym}, saving the return "
                            "address in ra."]) if g == "call" else
                f"Tail-call {sym} without saving a return address.")
    elif g == "j":
        text = rng.choice([f"Jump to {n['offset']}.", f"Unconditionally go to {n['offset']}."])
    elif g in ("jr", "jalr1"):
        text = (f"Jump to the address held in {a}." if g == "jr" else
                f"Call the function whose address is in {a}.")
    elif g == "ret":
        text = rng.choice(["Return from the current function.", "Return to the caller."])
    elif g == "nop":
        text = rng.choice(["Do nothing.", "Insert a no-op."])
    elif g == "system":
        text = {"ecall": rng.choice(["Make a system call.", "Trap into the execution "
                                     "environment with an environment call."]),
                "ebreak": rng.choice(["Trigger a breakpoint.", "Transfer control to the "
                                      "debugger."])}[op]
    elif g == "fence":
        text = (f"Fence: order {n['pred']} accesses before {n['succ']} accesses."
                if ins.roles else "Issue a total-store-order fence.")
    elif g == "fencei":
        text = rng.choice(["Synchronize the instruction cache with earlier stores.",
                           "Make prior stores visible to instruction fetch.",
                           "Flush the instruction pipeline after writing code to memory."])
    elif g == "vsetvl":
        avl = n.get("rs1", n.get("uimm"))
        vt = n.get("vtypei", f"the vtype in {n.get('rs2')}")
        text = rng.choice([f"Configure the vector unit for {avl} elements with {vt}; the "
                           f"granted length goes to {d}.",
                           f"Set vl from {avl} and vtype to {vt}, writing vl to {d}."])
    elif g in ("vload", "vstore"):
        eew = "".join(ch for ch in op if ch.isdigit())
        reg = n.get("vd", n.get("vs3"))
        stride = f" with a stride of {n['rs2']} bytes" if "rs2" in n else ""
        text = (f"Load {eew}-bit elements from the address in {n['rs1']}{stride} into {reg}{mask}."
                if g == "vload" else
                f"Store the {eew}-bit elements of {reg} to the address in {n['rs1']}{mask}.")
    elif g == "valu":
        other = n.get("vs1", n.get("rs1", n.get("imm")))
        noun = _VOP_NOUNS[op]
        if op == "vrsub":
            text = f"Subtract each element of {n['vs2']} from {other}, writing {n['vd']}{mask}."
        else:
            text = rng.choice([f"Compute the element-wise {noun} of {n['vs2']} and {other} into "
                               f"{n['vd']}{mask}.", f"{n['vd']} = {n['vs2']} {noun} {other} "
                               f"(vector){mask}"])
    elif g == "vmacc":
        text = (f"Multiply {n['vs1']} and {n['vs2']} element-wise and accumulate into "
                f"{n['vd']}{mask}.")
    elif g == "vred":
        text = (f"Sum the elements of {n['vs2']} plus element 0 of {n['vs1']} into element 0 "
                f"of {n['vd']}{mask}.")
    elif g == "vmv":
        src = n.get("vs1", n.get("rs1", n.get("imm", n.get("vs2"))))
        dst = n.get("vd", d)
        text = {"vmv.x.s": f"Copy element 0 of {src} into {dst}."}.get(
            op, f"Set every element of {dst} to {src}." if op != "vmv.v.v" else
            f"Copy vector {src} into {dst}.")
    else:
        raise AssertionError(f"no phrasing for group {g!r} ({ins.mnemonic})")
    if compressed:
        text = text.rstrip(".") + rng.choice([" (compressed).", " using a 16-bit compressed "
                                              "instruction.", ", in compressed form."])
    return text, asm


def _directive(ins: Instruction, rng: random.Random) -> tuple[str, str]:
    m = ins.mnemonic
    sym = rng.choice(_SYMBOLS)
    if m in (".text", ".data", ".bss"):
        what = {".text": "code (text)", ".data": "initialized data", ".bss": "zero-initialized "
                "data (bss)"}[m]
        return rng.choice([f"Switch to the {what} section.", f"Start the {what} section.",
                           f"Continue in the {m} section."]), m
    if m == ".section":
        name = rng.choice([".rodata", ".sdata", ".init", ".text.startup"])
        return f"Switch to the section {name}.", f".section {name}"
    if m in (".globl", ".global", ".local"):
        scope = "local to this file" if m == ".local" else "global"
        return rng.choice([f"Make {sym} {scope}.", f"Declare the symbol {sym} {scope}."]), \
            f"{m} {sym}"
    if m in (".word", ".half", ".byte", ".dword"):
        bits = {".word": 32, ".half": 16, ".byte": 8, ".dword": 64}[m]
        values = [rng.randrange(0, min(1 << bits, 1 << 16)) for _ in range(rng.randint(1, 4))]
        shown = ", ".join(map(str, values))
        return rng.choice([f"Emit the {bits}-bit value(s) {shown}.",
                           f"Place {shown} here as {bits}-bit data."]), f"{m} {shown}"
    if m in (".string", ".asciz", ".ascii"):
        s = rng.choice(["hello", "Hello, world!", "error", "ok", "result: ", "RISC-V", "done\\n"])
        nul = "without" if m == ".ascii" else "with"
        return f'Emit the string "{s}" {nul} a terminating NUL byte.', f'{m} "{s}"'
    if m in (".zero",):
        k = rng.choice([4, 8, 16, 32, 64, 100, 256])
        return rng.choice([f"Reserve {k} zero bytes.", f"Emit {k} bytes of zeros."]), f"{m} {k}"
    if m in (".align", ".p2align"):
        k = rng.randint(1, 6)
        return f"Align the next item to a {1 << k}-byte boundary.", f"{m} {k}"
    if m == ".balign":
        k = rng.choice([2, 4, 8, 16, 64])
        return f"Pad to a multiple of {k} bytes.", f"{m} {k}"
    if m == ".equ":
        name, value = rng.choice(["SIZE", "COUNT", "STACK_SIZE", "MASK", "LIMIT"]), \
            rng.randrange(0, 4096)
        return rng.choice([f"Define the constant {name} as {value}.",
                           f"Let {name} equal {value}."]), f".equ {name}, {value}"
    if m == ".type":
        return f"Mark {sym} as a function symbol.", f".type {sym}, @function"
    if m == ".option":
        if ins.syntax == "rvc":
            return "Allow compressed instructions from here on.", ".option rvc"
        return "Stop emitting compressed instructions.", ".option norvc"
    raise AssertionError(m)


def _reg(rng: random.Random, avoid=()) -> str:
    return rng.choice([r for r in _ABI_X if r not in avoid])


def _snippet(rng: random.Random) -> tuple[str, str]:
    kind = rng.randrange(12)
    r1, r2, r3 = rng.sample(_ABI_X, 3)
    k = rng.randint(1, 100)
    off = rng.choice([0, 4, 8, 12, 16, 24, 32])
    label = rng.choice(_LABELS)
    if kind == 0:
        op = rng.choice(["add", "sub", "mul", "and", "or", "xor"])
        verb, noun, _ = (s.format(a=r2, b=r1) for s in _OPS[op])
        return (rng.choice([f"Load {k} into {r1}, then {verb} and store the result in {r3}.",
                            f"Set {r1} to {k} and put the {noun} in {r3}."]),
                f"li {r1}, {k}\n{op} {r3}, {r2}, {r1}")
    if kind == 1:
        return (rng.choice([f"Set {r3} to the larger of {r1} and {r2} (signed).",
                            f"{r3} = max({r1}, {r2}) using a branch to {label}."]),
                f"mv {r3}, {r1}\nbge {r1}, {r2}, {label}\nmv {r3}, {r2}\n{label}:")
    if kind == 2:
        return (rng.choice([f"Sum the integers from 1 to {k} into {r1} using {r2} as a "
                            f"counter.", f"Loop {k} times, adding the counter {r2} to "
                            f"{r1} each time (starting from 0)."]),
                f"li {r1}, 0\nli {r2}, {k}\n{label}:\nadd {r1}, {r1}, {r2}\n"
                f"addi {r2}, {r2}, -1\nbnez {r2}, {label}")
    if kind == 3:
        width, ld, st = rng.choice([("32-bit word", "lw", "sw"), ("doubleword", "ld", "sd"),
                                    ("byte", "lbu", "sb"), ("halfword", "lhu", "sh")])
        return (rng.choice([f"Increment the {width} at {off}({r1}) by {k}.",
                            f"Add {k} to the {width} stored at address {r1} + {off}, using "
                            f"{r2} as a temporary."]),
                f"{ld} {r2}, {off}({r1})\naddi {r2}, {r2}, {k}\n{st} {r2}, {off}({r1})")
    tmp = next(t for t in ("t0", "t1", "t2", "t3") if t not in (r1, r2, r3))
    if kind == 4:
        size = rng.choice([16, 32, 48])
        sym = rng.choice(_SYMBOLS)
        return (f"Function prologue and epilogue: reserve {size} bytes of stack, save ra, call "
                f"{sym}, restore ra and return.",
                f"addi sp, sp, -{size}\nsd ra, {size - 8}(sp)\ncall {sym}\n"
                f"ld ra, {size - 8}(sp)\naddi sp, sp, {size}\nret")
    if kind == 5:
        return (f"Copy {k} words from the address in {r1} to the address in {r2}, using "
                f"{r3} as a counter and {tmp} as a temporary.",
                f"li {r3}, {k}\n{label}:\nlw {tmp}, 0({r1})\nsw {tmp}, 0({r2})\n"
                f"addi {r1}, {r1}, 4\naddi {r2}, {r2}, 4\naddi {r3}, {r3}, -1\nbnez {r3}, {label}")
    if kind == 6:
        return (f"Set {r1} to the absolute value of {r2}.",
                f"mv {r1}, {r2}\nbgez {r2}, {label}\nneg {r1}, {r2}\n{label}:")
    if kind == 7:
        sew = rng.choice([8, 16, 32, 64])
        return (f"Add the {sew}-bit vectors at {r1} and {r2} element-wise and store the sum at "
                f"{r3}, for as many elements as the hardware allows out of a0.",
                f"vsetvli t0, a0, e{sew}, m1, ta, ma\nvle{sew}.v v1, ({r1})\n"
                f"vle{sew}.v v2, ({r2})\nvadd.vv v3, v1, v2\nvse{sew}.v v3, ({r3})")
    if kind == 8:
        p = rng.choice(["s", "d"])
        ld, st = ("flw", "fsw") if p == "s" else ("fld", "fsd")
        op = rng.choice(["fadd", "fmul", "fsub"])
        verb = _FP_OPS[op][0].format(a="them", b="them").split(" ")[0]
        return (f"Load two {'single' if p == 's' else 'double'}-precision numbers from {r1} and "
                f"{r2}, {verb} them and store the result at {r3}.",
                f"{ld} ft0, 0({r1})\n{ld} ft1, 0({r2})\n{op}.{p} ft2, ft0, ft1\n{st} ft2, 0({r3})")
    if kind == 9:
        return (rng.choice([f"Atomically increment the counter at the address in {r1}.",
                            f"Atomically add {k} to the word at {r1}, discarding the old "
                            f"value."]).replace("increment", f"add {k} to"),
                f"li {r2}, {k}\namoadd.w zero, {r2}, ({r1})")
    if kind == 10:
        return (f"Set bit {r2} of {r1}, using {r3} as scratch.",
                f"li {r3}, 1\nsll {r3}, {r3}, {r2}\nor {r1}, {r1}, {r3}")
    return (rng.choice([f"Multiply {r2} by {r3} and add the product to {r1}.",
                        f"{r1} += {r2} * {r3} (using {tmp} as scratch)"]),
            f"mul {tmp}, {r2}, {r3}\nadd {r1}, {r1}, {tmp}")


def _spec(ins: Instruction, rng: random.Random) -> tuple[str, str]:
    sem = ins.semantics
    text = rng.choice([sem, f"{sem[:-1]}. Use placeholder operands.",
                       f"Write the RISC-V instruction that does this: {sem[0].lower()}{sem[1:]}"])
    return text, ins.spec


def generate_rows(size: int = 3000, seed: int = 0) -> Iterator[dict]:
    """Yield ``size`` distinct rows ``{description, instructions, category, style}``.

    Deterministic for ``seed``. About 15% are multi-instruction snippets and about a fifth
    of the single-instruction rows use the manual's placeholder operands (style ``spec``).
    May stop short of ``size`` only if the table runs out of distinct rows (not at the
    default sizes).
    """
    rng = random.Random(seed)
    table = by_category()
    cats = list(CATEGORY_WEIGHTS)
    weights = [CATEGORY_WEIGHTS[c] for c in cats]
    seen: set[tuple[str, str]] = set()
    made, attempts = 0, 0
    while made < size and attempts < size * 50:
        attempts += 1
        if rng.random() < SNIPPET_SHARE:
            (desc, asm), cat, style = _snippet(rng), "snippet", "snippet"
        else:
            cat = rng.choices(cats, weights)[0]
            ins = rng.choice(table[cat])
            style = "spec" if rng.random() < SPEC_SHARE else "concrete"
            if style == "spec":
                desc, asm = _spec(ins, rng)
            elif cat == "directive":
                desc, asm = _directive(ins, rng)
            else:
                desc, asm = _concrete(ins, rng)
        if (desc, asm) in seen:
            continue
        seen.add((desc, asm))
        made += 1
        yield {"description": desc, "instructions": asm, "category": cat, "style": style}
