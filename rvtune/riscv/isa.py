"""The RISC-V instruction table behind the built-in dataset and placeholder substitution.

Written for rvtune from the RISC-V unprivileged ISA manual, the V 1.0 spec and the assembly
programmer's manual: each entry gives a mnemonic, its operand syntax with the manual's
placeholder names, the kind of every operand, the extension it belongs to and one sentence of
semantics in the manual's own terms. ``INSTRUCTIONS`` is the whole table; ``by_mnemonic()``
looks one up; ``operand_kinds()`` tells which register file / immediate range an operand uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

CATEGORIES = ("base", "M", "A", "F", "D", "Zicsr", "Zifencei", "C", "V", "pseudo", "directive",
              "snippet")

# Operand kinds. Registers: x (any GPR), xnz (not x0), xnz2 (not x0/x2), xc (x8-x15),
# f, fc (f8-f15), v, sp (the stack pointer itself). Immediates: name -> (lo, hi, step, nonzero).
IMMEDIATES: dict[str, tuple[int, int, int, bool]] = {
    "simm12": (-2048, 2047, 1, False),
    "uimm20": (0, 0xFFFFF, 1, False),
    "shamt": (0, 63, 1, False),
    "shamtw": (0, 31, 1, False),
    "boff": (-4096, 4094, 2, False),
    "joff": (-(1 << 20), (1 << 20) - 2, 2, False),
    "uimm5": (0, 31, 1, False),
    "simm5": (-16, 15, 1, False),
    "cimm6": (-32, 31, 1, False),
    "cnzimm6": (-32, 31, 1, True),
    "cnzshamt": (1, 63, 1, True),
    "clui": (1, 31, 1, True),
    "c16sp": (-512, 496, 16, True),
    "c4spn": (4, 1020, 4, True),
    "clw": (0, 124, 4, False),
    "cld": (0, 248, 8, False),
    "clwsp": (0, 252, 4, False),
    "cldsp": (0, 504, 8, False),
    "cboff": (-256, 254, 2, False),
    "cjoff": (-2048, 2046, 2, False),
}
REGISTER_KINDS = ("x", "xnz", "xnz2", "xc", "f", "fc", "v", "vm", "sp")
OTHER_KINDS = ("label", "csr", "pred", "succ", "rm", "vtypei", "symbol", "name", "value",
               "string")

# Default kind of a placeholder name when an entry does not say otherwise.
_DEFAULT_KINDS = {
    "rd": "x", "rs1": "x", "rs2": "x", "rs3": "x", "vd": "v", "vs1": "v", "vs2": "v",
    "vs3": "v", "vm": "vm", "imm": "simm12", "offset": "simm12", "shamt": "shamt",
    "uimm": "uimm5", "zimm": "uimm5", "csr": "csr", "pred": "pred", "succ": "succ",
    "rm": "rm", "label": "label", "symbol": "symbol", "vtypei": "vtypei", "fd": "f",
    "fs1": "f", "fs2": "f", "fs3": "f",
}
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Instruction:
    """One row of the table: ``mnemonic syntax`` is the spec-style assembly form."""

    mnemonic: str
    syntax: str
    ext: str
    semantics: str
    kinds: tuple[tuple[str, str], ...] = ()
    group: str = ""      # phrasing family for concrete descriptions (alu, load, branch, ...)
    op: str = ""         # key into the generator's phrase tables (add, beq, lw, ...)
    xlen: int = 0        # 0: RV32 and RV64, 32 or 64: only that one
    roles: tuple[str, ...] = field(default=(), compare=False)

    @property
    def spec(self) -> str:
        """The spec-style assembly text, e.g. ``add rd, rs1, rs2``."""
        return f"{self.mnemonic} {self.syntax}".strip()

    def kind(self, role: str) -> str:
        """Operand kind of placeholder ``role`` in this instruction."""
        return dict(self.kinds).get(role, _DEFAULT_KINDS.get(role, "value"))


INSTRUCTIONS: list[Instruction] = []


def _add(mnemonic, syntax, ext, semantics, group="", op="", xlen=0, **kinds):
    roles = tuple(t for t in _TOKEN.findall(syntax) if t in _DEFAULT_KINDS or t in kinds)
    INSTRUCTIONS.append(Instruction(mnemonic, syntax, ext, semantics, tuple(kinds.items()), group,
                                    op or mnemonic, xlen, roles))


# --- RV32I / RV64I -------------------------------------------------------------------------
_ALU = {
    "add": "the sum of rs1 and rs2", "sub": "rs1 minus rs2",
    "and": "the bitwise AND of rs1 and rs2", "or": "the bitwise OR of rs1 and rs2",
    "xor": "the bitwise XOR of rs1 and rs2",
    "sll": "rs1 shifted left logically by the low bits of rs2",
    "srl": "rs1 shifted right logically by the low bits of rs2",
    "sra": "rs1 shifted right arithmetically by the low bits of rs2",
    "slt": "1 if rs1 is less than rs2 as signed integers, else 0",
    "sltu": "1 if rs1 is less than rs2 as unsigned integers, else 0",
}
for _m, _s in _ALU.items():
    _add(_m, "rd, rs1, rs2", "base", f"Write {_s} to rd.", "alu")
for _m in ("add", "sub", "sll", "srl", "sra"):
    _add(_m + "w", "rd, rs1, rs2", "base",
         f"Compute {_ALU[_m]} on the low 32 bits and write the sign-extended 32-bit result to "
         "rd (RV64 only).", "alu", _m + "w", 64)
_ALUI = {
    "addi": ("add", "the sum of rs1 and the sign-extended 12-bit immediate imm"),
    "andi": ("and", "the bitwise AND of rs1 and the sign-extended immediate imm"),
    "ori": ("or", "the bitwise OR of rs1 and the sign-extended immediate imm"),
    "xori": ("xor", "the bitwise XOR of rs1 and the sign-extended immediate imm"),
    "slti": ("slt", "1 if rs1 is less than the sign-extended immediate imm (signed), else 0"),
    "sltiu": ("sltu", "1 if rs1 is less than the sign-extended immediate imm (unsigned), else 0"),
}
for _m, (_op, _s) in _ALUI.items():
    _add(_m, "rd, rs1, imm", "base", f"Write {_s} to rd.", "alui", _op)
for _m, _op, _how in (("slli", "sll", "left logically"), ("srli", "srl", "right logically"),
                      ("srai", "sra", "right arithmetically")):
    _add(_m, "rd, rs1, shamt", "base", f"Shift rs1 {_how} by shamt bits and write the result "
         "to rd.", "alui", _op)
    _add(_m + "w", "rd, rs1, shamt", "base", f"Shift the low 32 bits of rs1 {_how} by shamt bits "
         "and write the sign-extended 32-bit result to rd (RV64 only).", "alui", _op + "w", 64,
         shamt="shamtw")
_add("addiw", "rd, rs1, imm", "base", "Add the sign-extended immediate imm to rs1, keep the low "
     "32 bits and write them sign-extended to rd (RV64 only).", "alui", "addw", 64)
_add("lui", "rd, imm", "base", "Place the 20-bit immediate imm in the upper 20 bits of rd and "
     "fill the low 12 bits with zeros.", "lui", imm="uimm20")
_add("auipc", "rd, imm", "base", "Add the 20-bit immediate imm shifted left by 12 bits to the "
     "address of this instruction and write the result to rd.", "auipc", imm="uimm20")
_LOADS = {"lb": "an 8-bit byte and sign-extend it", "lh": "a 16-bit halfword and sign-extend it",
          "lw": "a 32-bit word", "lbu": "an 8-bit byte and zero-extend it",
          "lhu": "a 16-bit halfword and zero-extend it"}
for _m, _s in _LOADS.items():
    _add(_m, "rd, imm(rs1)", "base", f"Load {_s} from memory at address rs1 + imm into rd.",
         "load")
_add("lwu", "rd, imm(rs1)", "base", "Load a 32-bit word from memory at address rs1 + imm, "
     "zero-extend it and write it to rd (RV64 only).", "load", xlen=64)
_add("ld", "rd, imm(rs1)", "base", "Load a 64-bit doubleword from memory at address rs1 + imm "
     "into rd (RV64 only).", "load", xlen=64)
for _m, _w in (("sb", "low 8 bits"), ("sh", "low 16 bits"), ("sw", "low 32 bits")):
    _add(_m, "rs2, imm(rs1)", "base", f"Store the {_w} of rs2 to memory at address rs1 + imm.",
         "store")
_add("sd", "rs2, imm(rs1)", "base", "Store the 64-bit value of rs2 to memory at address "
     "rs1 + imm (RV64 only).", "store", xlen=64)
_BRANCH = {"beq": "rs1 equals rs2", "bne": "rs1 is not equal to rs2",
           "blt": "rs1 is less than rs2 (signed)", "bge": "rs1 is greater than or equal to rs2 "
           "(signed)", "bltu": "rs1 is less than rs2 (unsigned)",
           "bgeu": "rs1 is greater than or equal to rs2 (unsigned)"}
for _m, _s in _BRANCH.items():
    _add(_m, "rs1, rs2, offset", "base", f"Branch to pc + offset if {_s}.", "branch",
         offset="boff")
_add("jal", "rd, offset", "base", "Jump to pc + offset and write the address of the next "
     "instruction (pc + 4) to rd.", "jal", offset="joff")
_add("jalr", "rd, imm(rs1)", "base", "Jump to the address rs1 + imm with the lowest bit cleared "
     "and write pc + 4 to rd.", "jalr")
_add("fence", "pred, succ", "base", "Order the memory and I/O accesses in the predecessor set "
     "pred before those in the successor set succ.", "fence")
_add("fence.tso", "", "base", "Order loads and stores with total-store-ordering semantics: "
     "earlier loads before later loads and stores, earlier stores before later stores.",
     "fence")
_add("ecall", "", "base", "Raise an environment-call exception to request a service from the "
     "execution environment.", "system")
_add("ebreak", "", "base", "Raise a breakpoint exception to return control to a debugger.",
     "system")

# --- M -------------------------------------------------------------------------------------
_MUL = {
    "mul": "the low XLEN bits of the product of rs1 and rs2",
    "mulh": "the high XLEN bits of the signed x signed product of rs1 and rs2",
    "mulhsu": "the high XLEN bits of the signed rs1 x unsigned rs2 product",
    "mulhu": "the high XLEN bits of the unsigned x unsigned product of rs1 and rs2",
    "div": "the signed quotient of rs1 divided by rs2, rounded towards zero",
    "divu": "the unsigned quotient of rs1 divided by rs2",
    "rem": "the signed remainder of rs1 divided by rs2",
    "remu": "the unsigned remainder of rs1 divided by rs2",
}
for _m, _s in _MUL.items():
    _add(_m, "rd, rs1, rs2", "M", f"Write {_s} to rd.", "alu")
for _m in ("mul", "div", "divu", "rem", "remu"):
    _add(_m + "w", "rd, rs1, rs2", "M", f"Compute {_MUL[_m]} on the low 32 bits of the operands "
         "and write the sign-extended 32-bit result to rd (RV64 only).", "alu", _m + "w", 64)

# --- A -------------------------------------------------------------------------------------
_AMO = {"swap": "rs2", "add": "the sum of that value and rs2",
        "and": "the bitwise AND of that value and rs2", "or": "the bitwise OR of that value "
        "and rs2", "xor": "the bitwise XOR of that value and rs2",
        "max": "the signed maximum of that value and rs2",
        "min": "the signed minimum of that value and rs2",
        "maxu": "the unsigned maximum of that value and rs2",
        "minu": "the unsigned minimum of that value and rs2"}
for _w, _wn, _x in (("w", "32-bit word", 0), ("d", "64-bit doubleword", 64)):
    _add(f"lr.{_w}", "rd, (rs1)", "A", f"Load-reserve the {_wn} at the address in rs1 into rd and "
         "register a reservation on it.", "lr", f"lr.{_w}", _x)
    _add(f"sc.{_w}", "rd, rs2, (rs1)", "A", f"Store-conditional rs2 as a {_wn} at the address in "
         "rs1 if the reservation is still valid; write 0 to rd on success, non-zero on failure.",
         "sc", f"sc.{_w}", _x)
    for _op, _s in _AMO.items():
        _add(f"amo{_op}.{_w}", "rd, rs2, (rs1)", "A", f"Atomically load the {_wn} at the address "
             f"in rs1 into rd and store {_s} back to that address.", "amo", f"amo{_op}", _x)
# Every AMO, LR and SC also exists with .aq, .rl and .aqrl ordering bits.
_ORDERING = {".aq": "acquire ordering (no later memory access is seen before it)",
             ".rl": "release ordering (every earlier memory access is seen before it)",
             ".aqrl": "acquire and release ordering (sequentially consistent)"}
for _base in [i for i in INSTRUCTIONS if i.ext == "A"]:
    for _sfx, _s in _ORDERING.items():
        _add(_base.mnemonic + _sfx, _base.syntax, "A", f"{_base.semantics[:-1]}, with {_s}.",
             _base.group, _base.op, _base.xlen)

# --- F and D -------------------------------------------------------------------------------
for _e, _sz, _ext in (("s", "single-precision", "F"), ("d", "double-precision", "D")):
    _f = dict(rd="f", rs1="f", rs2="f", rs3="f")
    for _m, _s in (("fadd", "the sum of rs1 and rs2"), ("fsub", "rs1 minus rs2"),
                   ("fmul", "the product of rs1 and rs2"), ("fdiv", "rs1 divided by rs2"),
                   ("fmin", "the smaller of rs1 and rs2"), ("fmax", "the larger of rs1 and rs2"),
                   ("fsgnj", "rs1 with the sign bit of rs2"),
                   ("fsgnjn", "rs1 with the opposite of the sign bit of rs2"),
                   ("fsgnjx", "rs1 with its sign bit XORed with the sign of rs2")):
        _add(f"{_m}.{_e}", "rd, rs1, rs2", _ext, f"Write {_s} to floating-point register rd, as "
             f"{_sz} values.", "falu", _m, **_f)
    _add(f"fsqrt.{_e}", "rd, rs1", _ext, f"Write the square root of {_sz} rs1 to "
         "floating-point register rd.", "fsqrt", "fsqrt", **_f)
    for _m, _s in (("fmadd", "(rs1 x rs2) + rs3"), ("fmsub", "(rs1 x rs2) - rs3"),
                   ("fnmsub", "-(rs1 x rs2) + rs3"), ("fnmadd", "-(rs1 x rs2) - rs3")):
        _add(f"{_m}.{_e}", "rd, rs1, rs2, rs3", _ext, f"Compute {_s} in {_sz} with a single "
             "rounding and write it to floating-point register rd.", "fma", _m, **_f)
    for _m, _s in (("feq", "equal to"), ("flt", "less than"), ("fle", "less than or equal to")):
        _add(f"{_m}.{_e}", "rd, rs1, rs2", _ext, f"Write 1 to integer register rd if {_sz} rs1 "
             f"is {_s} rs2, else 0.", "fcmp", _m, rs1="f", rs2="f")
    _add(f"fclass.{_e}", "rd, rs1", _ext, f"Write to integer register rd a 10-bit mask that "
         f"classifies the {_sz} value in rs1 (zero, subnormal, normal, infinity, NaN, sign).",
         "fclass", "fclass", rs1="f")
    _w = "flw" if _e == "s" else "fld"
    _st = "fsw" if _e == "s" else "fsd"
    _add(_w, "rd, imm(rs1)", _ext, f"Load a {_sz} value from memory at address rs1 + imm into "
         "floating-point register rd.", "load", rd="f")
    _add(_st, "rs2, imm(rs1)", _ext, f"Store the {_sz} value in floating-point register rs2 to "
         "memory at address rs1 + imm.", "store", rs2="f")
    for _i, _iname, _x in (("w", "signed 32-bit", 0), ("wu", "unsigned 32-bit", 0),
                           ("l", "signed 64-bit", 64), ("lu", "unsigned 64-bit", 64)):
        _add(f"fcvt.{_i}.{_e}", "rd, rs1", _ext, f"Convert the {_sz} value in rs1 to a {_iname} "
             "integer and write it to integer register rd.", "fcvt_to_int", f"fcvt.{_i}",
             _x, rs1="f")
        _add(f"fcvt.{_e}.{_i}", "rd, rs1", _ext, f"Convert the {_iname} integer in rs1 to "
             f"{_sz} and write it to floating-point register rd.", "fcvt_from_int",
             f"fcvt.{_i}", _x, rd="f")
_add("fcvt.w.s", "rd, rs1, rm", "F", "Convert the single-precision value in rs1 to a signed "
     "32-bit integer using rounding mode rm and write it to integer register rd.", "fcvt_to_int",
     "fcvt.w", rs1="f")
_add("fcvt.s.d", "rd, rs1", "D", "Convert the double-precision value in rs1 to single precision "
     "and write it to floating-point register rd.", "fcvt_fp", "fcvt.s.d", rd="f", rs1="f")
_add("fcvt.d.s", "rd, rs1", "D", "Convert the single-precision value in rs1 to double precision "
     "and write it to floating-point register rd.", "fcvt_fp", "fcvt.d.s", rd="f", rs1="f")
_add("fmv.x.w", "rd, rs1", "F", "Copy the 32-bit pattern of floating-point register rs1 to "
     "integer register rd, sign-extended.", "fmv_to_int", "fmv.x.w", rs1="f")
_add("fmv.w.x", "rd, rs1", "F", "Copy the low 32 bits of integer register rs1 to "
     "floating-point register rd without conversion.", "fmv_from_int", "fmv.w.x", rd="f")
_add("fmv.x.d", "rd, rs1", "D", "Copy the 64-bit pattern of floating-point register rs1 to "
     "integer register rd (RV64 only).", "fmv_to_int", "fmv.x.d", 64, rs1="f")
_add("fmv.d.x", "rd, rs1", "D", "Copy the 64 bits of integer register rs1 to floating-point "
     "register rd without conversion (RV64 only).", "fmv_from_int", "fmv.d.x", 64, rd="f")

# --- Zicsr / Zifencei ----------------------------------------------------------------------
for _m, _s in (("csrrw", "write rs1 to it"), ("csrrs", "set in it the bits that are set in rs1"),
               ("csrrc", "clear in it the bits that are set in rs1")):
    _add(_m, "rd, csr, rs1", "Zicsr", f"Atomically read the CSR csr into rd and {_s}.", "csr")
    _add(_m + "i", "rd, csr, zimm", "Zicsr", f"Atomically read the CSR csr into rd and "
         f"{_s.replace('rs1', 'the 5-bit immediate zimm')}.", "csr", _m)
_add("fence.i", "", "Zifencei", "Synchronize the instruction and data streams so that later "
     "instruction fetches see earlier stores.", "fencei")

# --- C (compressed, 16-bit) ----------------------------------------------------------------
_C = [
    ("c.addi", "rd, imm", "Add the non-zero 6-bit immediate imm to rd.", "alui", "add",
     dict(rd="xnz", imm="cnzimm6")),
    ("c.li", "rd, imm", "Load the sign-extended 6-bit immediate imm into rd.", "li", "li",
     dict(rd="xnz", imm="cimm6")),
    ("c.lui", "rd, imm", "Load the non-zero 6-bit immediate imm into bits 17-12 of rd, "
     "sign-extending it.", "lui", "lui", dict(rd="xnz2", imm="clui")),
    ("c.addi16sp", "sp, imm", "Add the non-zero multiple of 16 imm to the stack pointer.",
     "alui", "add", dict(imm="c16sp")),
    ("c.addi4spn", "rd, sp, imm", "Write sp plus the non-zero multiple of 4 imm to rd (one of "
     "x8-x15).", "alui", "add", dict(rd="xc", imm="c4spn")),
    ("c.slli", "rd, shamt", "Shift rd left logically by the non-zero shamt.", "alui", "sll",
     dict(rd="xnz", shamt="cnzshamt")),
    ("c.srli", "rd, shamt", "Shift rd (one of x8-x15) right logically by the non-zero shamt.",
     "alui", "srl", dict(rd="xc", shamt="cnzshamt")),
    ("c.srai", "rd, shamt", "Shift rd (one of x8-x15) right arithmetically by the non-zero "
     "shamt.", "alui", "sra", dict(rd="xc", shamt="cnzshamt")),
    ("c.andi", "rd, imm", "AND rd (one of x8-x15) with the sign-extended 6-bit immediate imm.",
     "alui", "and", dict(rd="xc", imm="cimm6")),
    ("c.mv", "rd, rs2", "Copy rs2 into rd.", "mv", "mv", dict(rd="xnz", rs2="xnz")),
    ("c.add", "rd, rs2", "Add rs2 to rd.", "alu", "add", dict(rd="xnz", rs2="xnz")),
    ("c.sub", "rd, rs2", "Subtract rs2 from rd (both x8-x15).", "alu", "sub",
     dict(rd="xc", rs2="xc")),
    ("c.and", "rd, rs2", "AND rd with rs2 (both x8-x15).", "alu", "and", dict(rd="xc", rs2="xc")),
    ("c.or", "rd, rs2", "OR rd with rs2 (both x8-x15).", "alu", "or", dict(rd="xc", rs2="xc")),
    ("c.xor", "rd, rs2", "XOR rd with rs2 (both x8-x15).", "alu", "xor", dict(rd="xc", rs2="xc")),
    ("c.lw", "rd, offset(rs1)", "Load a 32-bit word from rs1 + offset into rd (registers "
     "x8-x15, offset a multiple of 4).", "load", "lw", dict(rd="xc", rs1="xc", offset="clw")),
    ("c.sw", "rs2, offset(rs1)", "Store the 32-bit word in rs2 to rs1 + offset (registers "
     "x8-x15, offset a multiple of 4).", "store", "sw", dict(rs2="xc", rs1="xc", offset="clw")),
    ("c.lwsp", "rd, offset(sp)", "Load a 32-bit word from sp + offset into rd.", "load", "lw",
     dict(rd="xnz", offset="clwsp")),
    ("c.swsp", "rs2, offset(sp)", "Store the 32-bit word in rs2 to sp + offset.", "store", "sw",
     dict(offset="clwsp")),
    ("c.fld", "rd, offset(rs1)", "Load a double-precision value from rs1 + offset into "
     "floating-point register rd (registers 8-15, offset a multiple of 8).", "load", "fld",
     dict(rd="fc", rs1="xc", offset="cld")),
    ("c.fsd", "rs2, offset(rs1)", "Store the double-precision value in floating-point register "
     "rs2 to rs1 + offset.", "store", "fsd", dict(rs2="fc", rs1="xc", offset="cld")),
    ("c.fldsp", "rd, offset(sp)", "Load a double-precision value from sp + offset into "
     "floating-point register rd.", "load", "fld", dict(rd="f", offset="cldsp")),
    ("c.fsdsp", "rs2, offset(sp)", "Store the double-precision value in floating-point "
     "register rs2 to sp + offset.", "store", "fsd", dict(rs2="f", offset="cldsp")),
    ("c.j", "offset", "Jump to pc + offset.", "j", "j", dict(offset="cjoff")),
    ("c.jr", "rs1", "Jump to the address in rs1.", "jr", "jr", dict(rs1="xnz")),
    ("c.jalr", "rs1", "Jump to the address in rs1 and write pc + 2 to ra.", "jalr1", "jalr",
     dict(rs1="xnz")),
    ("c.beqz", "rs1, offset", "Branch to pc + offset if rs1 (one of x8-x15) is zero.", "branchz",
     "beqz", dict(rs1="xc", offset="cboff")),
    ("c.bnez", "rs1, offset", "Branch to pc + offset if rs1 (one of x8-x15) is not zero.",
     "branchz", "bnez", dict(rs1="xc", offset="cboff")),
    ("c.nop", "", "Do nothing for one 16-bit instruction.", "nop", "nop", {}),
    ("c.ebreak", "", "Raise a breakpoint exception.", "system", "ebreak", {}),
]
for _m, _syn, _s, _g, _op, _k in _C:
    _add(_m, _syn, "C", _s, _g, _op, **_k)
for _m, _syn, _s, _g, _op, _k in (
    ("c.addiw", "rd, imm", "Add the 6-bit immediate imm to rd and sign-extend the low 32 bits "
     "of the result.", "alui", "addw", dict(rd="xnz", imm="cimm6")),
    ("c.addw", "rd, rs2", "Add rs2 to rd on 32 bits and sign-extend the result (x8-x15).",
     "alu", "addw", dict(rd="xc", rs2="xc")),
    ("c.subw", "rd, rs2", "Subtract rs2 from rd on 32 bits and sign-extend the result "
     "(x8-x15).", "alu", "subw", dict(rd="xc", rs2="xc")),
    ("c.ld", "rd, offset(rs1)", "Load a 64-bit doubleword from rs1 + offset into rd (x8-x15, "
     "offset a multiple of 8).", "load", "ld", dict(rd="xc", rs1="xc", offset="cld")),
    ("c.sd", "rs2, offset(rs1)", "Store the 64-bit doubleword in rs2 to rs1 + offset (x8-x15, "
     "offset a multiple of 8).", "store", "sd", dict(rs2="xc", rs1="xc", offset="cld")),
    ("c.ldsp", "rd, offset(sp)", "Load a 64-bit doubleword from sp + offset into rd.", "load",
     "ld", dict(rd="xnz", offset="cldsp")),
    ("c.sdsp", "rs2, offset(sp)", "Store the 64-bit doubleword in rs2 to sp + offset.", "store",
     "sd", dict(offset="cldsp")),
):
    _add(_m, _syn, "C", _s + " (RV64 only)", _g, _op, 64, **_k)
for _m, _syn, _s, _g, _op, _k in (
    ("c.jal", "offset", "Jump to pc + offset and write pc + 2 to ra.", "jal1", "jal",
     dict(offset="cjoff")),
    ("c.flw", "rd, offset(rs1)", "Load a single-precision value from rs1 + offset into "
     "floating-point register rd (registers 8-15).", "load", "flw",
     dict(rd="fc", rs1="xc", offset="clw")),
    ("c.fsw", "rs2, offset(rs1)", "Store the single-precision value in floating-point register "
     "rs2 to rs1 + offset.", "store", "fsw", dict(rs2="fc", rs1="xc", offset="clw")),
    ("c.flwsp", "rd, offset(sp)", "Load a single-precision value from sp + offset into "
     "floating-point register rd.", "load", "flw", dict(rd="f", offset="clwsp")),
    ("c.fswsp", "rs2, offset(sp)", "Store the single-precision value in floating-point "
     "register rs2 to sp + offset.", "store", "fsw", dict(rs2="f", offset="clwsp")),
):
    _add(_m, _syn, "C", _s + " (RV32 only)", _g, _op, 32, **_k)

# --- V -------------------------------------------------------------------------------------
_add("vsetvli", "rd, rs1, vtypei", "V", "Set vl to the number of elements to process given the "
     "application vector length rs1 and the vector type vtypei, and write the new vl to rd.",
     "vsetvl")
_add("vsetivli", "rd, uimm, vtypei", "V", "Set vl from the 5-bit immediate application vector "
     "length uimm and the vector type vtypei, and write the new vl to rd.", "vsetvl")
_add("vsetvl", "rd, rs1, rs2", "V", "Set vl and vtype from the application vector length rs1 "
     "and the vtype value in rs2, and write the new vl to rd.", "vsetvl")
for _eew in (8, 16, 32, 64):
    _add(f"vle{_eew}.v", "vd, (rs1), vm", "V", f"Load a unit-stride vector of {_eew}-bit elements "
         "from the address in rs1 into vd, under mask vm.", "vload", f"vle{_eew}")
    _add(f"vse{_eew}.v", "vs3, (rs1), vm", "V", f"Store the {_eew}-bit elements of vs3 to "
         "memory at the address in rs1 with unit stride, under mask vm.", "vstore",
         f"vse{_eew}")
    _add(f"vlse{_eew}.v", "vd, (rs1), rs2, vm", "V", f"Load {_eew}-bit elements from the address "
         "in rs1 with a byte stride of rs2 into vd, under mask vm.", "vload", f"vlse{_eew}")
    _add(f"vsse{_eew}.v", "vs3, (rs1), rs2, vm", "V", f"Store the {_eew}-bit elements of vs3 to "
         "the address in rs1 with a byte stride of rs2, under mask vm.", "vstore", f"vsse{_eew}")
for _m, _d, _how in (("vluxei32.v", "vload", "unordered"), ("vloxei32.v", "vload", "ordered"),
                     ("vsuxei32.v", "vstore", "unordered"), ("vsoxei32.v", "vstore", "ordered")):
    _reg = "vd" if _d == "vload" else "vs3"
    _verb = "Gather into vd" if _d == "vload" else "Scatter the elements of vs3 to"
    _add(_m, f"{_reg}, (rs1), vs2, vm", "V", f"{_verb} the elements at rs1 plus the 32-bit byte "
         f"offsets in vs2 ({_how} indexed access), under mask vm.", _d, _m[:-2])
# name -> (what it computes, forms it has). "vv": vector-vector, "vx": vector-scalar register,
# "vi": vector-immediate.
_VOPS = {"vadd": ("sum", "vv vx vi"), "vsub": ("difference", "vv vx"),
         "vrsub": ("reverse difference (scalar minus element)", "vx vi"),
         "vand": ("bitwise AND", "vv vx vi"), "vor": ("bitwise OR", "vv vx vi"),
         "vxor": ("bitwise XOR", "vv vx vi"), "vmul": ("low half of the product", "vv vx"),
         "vmulh": ("high half of the signed product", "vv vx"),
         "vmulhu": ("high half of the unsigned product", "vv vx"),
         "vmin": ("signed minimum", "vv vx"), "vmax": ("signed maximum", "vv vx"),
         "vminu": ("unsigned minimum", "vv vx"), "vmaxu": ("unsigned maximum", "vv vx"),
         "vsll": ("logical left shift", "vv vx vi"), "vsrl": ("logical right shift", "vv vx vi"),
         "vsra": ("arithmetic right shift", "vv vx vi"), "vdiv": ("signed quotient", "vv vx"),
         "vdivu": ("unsigned quotient", "vv vx"), "vrem": ("signed remainder", "vv vx"),
         "vremu": ("unsigned remainder", "vv vx"),
         "vwadd": ("signed widening sum (2*SEW-bit results)", "vv vx"),
         "vwaddu": ("unsigned widening sum (2*SEW-bit results)", "vv vx")}
_VIMM = {"vsll": "uimm5", "vsrl": "uimm5", "vsra": "uimm5"}
_SRC2 = {"vv": ("vs1", "vectors vs2 and vs1"),
         "vx": ("rs1", "vector vs2 and scalar register rs1"),
         "vi": ("imm", "vector vs2 and the 5-bit immediate imm")}
for _m, (_s, _forms) in _VOPS.items():
    for _form in _forms.split():
        _src, _what = _SRC2[_form]
        _k = {"imm": _VIMM.get(_m, "simm5")} if _form == "vi" else {}
        _add(f"{_m}.{_form}", f"vd, vs2, {_src}, vm", "V", f"Write the element-wise {_s} of "
             f"{_what} to vd, under mask vm.", "valu", _m, **_k)
_VCMP = {"vmseq": ("equal to", "vv vx vi"), "vmsne": ("not equal to", "vv vx vi"),
         "vmslt": ("less than (signed)", "vv vx"), "vmsltu": ("less than (unsigned)", "vv vx"),
         "vmsle": ("less than or equal to (signed)", "vv vx vi"),
         "vmsleu": ("less than or equal to (unsigned)", "vv vx vi"),
         "vmsgt": ("greater than (signed)", "vx vi"),
         "vmsgtu": ("greater than (unsigned)", "vx vi")}
for _m, (_s, _forms) in _VCMP.items():
    for _form in _forms.split():
        _src, _what = _SRC2[_form]
        _add(f"{_m}.{_form}", f"vd, vs2, {_src}, vm", "V", f"Set each bit of mask register vd to "
             f"1 where the element of vs2 is {_s} the matching operand of {_what}, else 0.",
             "vcmp", _m, **({"imm": "simm5"} if _form == "vi" else {}))
for _form, _src, _what in (("vvm", "vs1", "vs1"), ("vxm", "rs1", "scalar register rs1"),
                           ("vim", "imm", "the 5-bit immediate imm")):
    _add(f"vmerge.{_form}", f"vd, vs2, {_src}, v0", "V", f"Write to each element of vd the "
         f"element of {_what} where mask v0 is set and the element of vs2 where it is clear.",
         "vmerge", "vmerge", **({"imm": "simm5"} if _form == "vim" else {}))
for _m, _s, _forms in (("vmacc", "vd + vs1 * vs2", "vv vx"), ("vnmsac", "vd - vs1 * vs2", "vv vx"),
                       ("vmadd", "vs1 * vd + vs2", "vv vx")):
    for _form in _forms.split():
        _a = "vs1" if _form == "vv" else "rs1"
        _add(f"{_m}.{_form}", f"vd, {_a}, vs2, vm", "V", f"Overwrite each element of vd with "
             f"{_s.replace('vs1', _a)}, under mask vm.", "vmacc", _m)
for _m, _s in (("vredsum", "sum"), ("vredmax", "signed maximum"), ("vredmaxu", "unsigned maximum"),
               ("vredmin", "signed minimum"), ("vredminu", "unsigned minimum"),
               ("vredand", "bitwise AND"), ("vredor", "bitwise OR"), ("vredxor", "bitwise XOR"),
               ("vfredusum", "floating-point sum (unordered)"),
               ("vfredosum", "floating-point sum (in element order)")):
    _add(f"{_m}.vs", "vd, vs2, vs1, vm", "V", f"Write to element 0 of vd the {_s} of element 0 "
         "of vs1 and all active elements of vs2.", "vred", _m)
_add("vmv.v.v", "vd, vs1", "V", "Copy vector vs1 into vd.", "vmv", "vmv.v.v")
_add("vmv.v.x", "vd, rs1", "V", "Splat scalar register rs1 into every element of vd.", "vmv",
     "vmv.v.x")
_add("vmv.v.i", "vd, imm", "V", "Splat the 5-bit immediate imm into every element of vd.", "vmv",
     "vmv.v.i", imm="simm5")
_add("vmv.x.s", "rd, vs2", "V", "Copy element 0 of vector vs2 into scalar register rd.", "vmv",
     "vmv.x.s")
_add("vmv.s.x", "vd, rs1", "V", "Copy scalar register rs1 into element 0 of vector vd.", "vmv",
     "vmv.s.x")
_add("vfmv.f.s", "rd, vs2", "V", "Copy element 0 of vector vs2 into floating-point register rd.",
     "vmv", "vfmv.f.s", rd="f")
_add("vfmv.s.f", "vd, rs1", "V", "Copy floating-point register rs1 into element 0 of vd.", "vmv",
     "vfmv.s.f", rs1="f")
_add("vfmv.v.f", "vd, rs1", "V", "Splat floating-point register rs1 into every element of vd.",
     "vmv", "vfmv.v.f", rs1="f")
_add("vid.v", "vd, vm", "V", "Write each element's index (0, 1, 2, ...) into vd.", "vid", "vid")
for _m, _s in (("vfadd", "sum"), ("vfsub", "difference"), ("vfmul", "product"),
               ("vfdiv", "quotient"), ("vfmin", "minimum"), ("vfmax", "maximum")):
    _add(f"{_m}.vv", "vd, vs2, vs1, vm", "V", f"Write the element-wise floating-point {_s} of "
         "vectors vs2 and vs1 to vd, under mask vm.", "valu", _m)
    _add(f"{_m}.vf", "vd, vs2, rs1, vm", "V", f"Write the element-wise floating-point {_s} of "
         "vector vs2 and scalar floating-point register rs1 to vd, under mask vm.", "valu", _m,
         rs1="f")
_add("vfmacc.vv", "vd, vs1, vs2, vm", "V", "Add the floating-point products vs1 * vs2 to vd "
     "element-wise (fused), under mask vm.", "vmacc", "vfmacc")
_add("vfmacc.vf", "vd, rs1, vs2, vm", "V", "Add the floating-point products of scalar rs1 and "
     "vs2 to vd element-wise (fused), under mask vm.", "vmacc", "vfmacc", rs1="f")
_add("vfsqrt.v", "vd, vs2, vm", "V", "Write the floating-point square root of each element of "
     "vs2 to vd, under mask vm.", "vunary", "vfsqrt")
for _m, _f, _s in (("vzext.vf2", "zero", 2), ("vsext.vf2", "sign", 2), ("vzext.vf4", "zero", 4),
                   ("vsext.vf4", "sign", 4)):
    _add(_m, "vd, vs2, vm", "V", f"{_f.capitalize()}-extend each element of vs2, 1/{_s} of SEW "
         f"wide, to SEW bits in vd, under mask vm.", "vunary", _m.split(".")[0])
_add("vneg.v", "vd, vs2", "V", "Negate each element of vs2 into vd (vrsub.vx vd, vs2, x0).",
     "vunary", "vneg")
_add("vnot.v", "vd, vs2", "V", "Write the bitwise NOT of each element of vs2 to vd "
     "(vxor.vi vd, vs2, -1).", "vunary", "vnot")

# --- Pseudo-instructions -------------------------------------------------------------------
_PSEUDO = [
    ("li", "rd, imm", "Load the immediate imm into rd.", "li", dict(imm="value")),
    ("la", "rd, symbol", "Load the address of symbol into rd.", "la", {}),
    ("lla", "rd, symbol", "Load the pc-relative (local) address of symbol into rd.", "la", {}),
    ("mv", "rd, rs1", "Copy rs1 into rd (addi rd, rs1, 0).", "mv", {}),
    ("not", "rd, rs1", "Write the bitwise complement of rs1 to rd (xori rd, rs1, -1).", "not", {}),
    ("neg", "rd, rs1", "Write the two's-complement negation of rs1 to rd (sub rd, x0, rs1).",
     "neg", {}),
    ("negw", "rd, rs1", "Negate the low 32 bits of rs1 and write the sign-extended result to rd.",
     "neg", {}),
    ("sext.w", "rd, rs1", "Sign-extend the low 32 bits of rs1 into rd (addiw rd, rs1, 0).",
     "sext", {}),
    ("seqz", "rd, rs1", "Write 1 to rd if rs1 is zero, else 0 (sltiu rd, rs1, 1).", "setcc", {}),
    ("snez", "rd, rs1", "Write 1 to rd if rs1 is not zero, else 0 (sltu rd, x0, rs1).", "setcc",
     {}),
    ("sltz", "rd, rs1", "Write 1 to rd if rs1 is negative, else 0.", "setcc", {}),
    ("sgtz", "rd, rs1", "Write 1 to rd if rs1 is greater than zero, else 0.", "setcc", {}),
    ("beqz", "rs1, offset", "Branch to pc + offset if rs1 is zero.", "branchz",
     dict(offset="boff")),
    ("bnez", "rs1, offset", "Branch to pc + offset if rs1 is not zero.", "branchz",
     dict(offset="boff")),
    ("blez", "rs1, offset", "Branch to pc + offset if rs1 is less than or equal to zero.",
     "branchz", dict(offset="boff")),
    ("bgez", "rs1, offset", "Branch to pc + offset if rs1 is greater than or equal to zero.",
     "branchz", dict(offset="boff")),
    ("bltz", "rs1, offset", "Branch to pc + offset if rs1 is less than zero.", "branchz",
     dict(offset="boff")),
    ("bgtz", "rs1, offset", "Branch to pc + offset if rs1 is greater than zero.", "branchz",
     dict(offset="boff")),
    ("bgt", "rs1, rs2, offset", "Branch to pc + offset if rs1 is greater than rs2 (signed).",
     "branch", dict(offset="boff")),
    ("ble", "rs1, rs2, offset", "Branch to pc + offset if rs1 is less than or equal to rs2 "
     "(signed).", "branch", dict(offset="boff")),
    ("bgtu", "rs1, rs2, offset", "Branch to pc + offset if rs1 is greater than rs2 (unsigned).",
     "branch", dict(offset="boff")),
    ("bleu", "rs1, rs2, offset", "Branch to pc + offset if rs1 is less than or equal to rs2 "
     "(unsigned).", "branch", dict(offset="boff")),
    ("j", "offset", "Jump to pc + offset without saving a return address (jal x0, offset).", "j",
     dict(offset="joff")),
    ("jr", "rs1", "Jump to the address in rs1 (jalr x0, 0(rs1)).", "jr", {}),
    ("ret", "", "Return from a subroutine (jalr x0, 0(ra)).", "ret", {}),
    ("call", "symbol", "Call the subroutine at symbol, saving the return address in ra "
     "(auipc ra + jalr ra).", "call", {}),
    ("tail", "symbol", "Tail-call the subroutine at symbol without saving a return address.",
     "tail", {}),
    ("nop", "", "Do nothing (addi x0, x0, 0).", "nop", {}),
    ("csrr", "rd, csr", "Read the CSR csr into rd (csrrs rd, csr, x0).", "csrp", {}),
    ("csrw", "csr, rs1", "Write rs1 to the CSR csr (csrrw x0, csr, rs1).", "csrp", {}),
    ("csrs", "csr, rs1", "Set in the CSR csr the bits that are set in rs1.", "csrp", {}),
    ("csrc", "csr, rs1", "Clear in the CSR csr the bits that are set in rs1.", "csrp", {}),
    ("csrwi", "csr, zimm", "Write the 5-bit immediate zimm to the CSR csr.", "csrp", {}),
    ("rdcycle", "rd", "Read the low bits of the cycle counter into rd.", "rdctr", {}),
    ("rdtime", "rd", "Read the low bits of the real-time clock into rd.", "rdctr", {}),
    ("rdinstret", "rd", "Read the low bits of the retired-instruction counter into rd.",
     "rdctr", {}),
    ("fmv.s", "rd, rs1", "Copy single-precision floating-point register rs1 into rd.", "fmvp",
     dict(rd="f", rs1="f")),
    ("fabs.s", "rd, rs1", "Write the absolute value of single-precision rs1 to rd.", "fmvp",
     dict(rd="f", rs1="f")),
    ("fneg.s", "rd, rs1", "Write the negation of single-precision rs1 to rd.", "fmvp",
     dict(rd="f", rs1="f")),
    ("fmv.d", "rd, rs1", "Copy double-precision floating-point register rs1 into rd.", "fmvp",
     dict(rd="f", rs1="f")),
    ("fabs.d", "rd, rs1", "Write the absolute value of double-precision rs1 to rd.", "fmvp",
     dict(rd="f", rs1="f")),
    ("fneg.d", "rd, rs1", "Write the negation of double-precision rs1 to rd.", "fmvp",
     dict(rd="f", rs1="f")),
    ("frcsr", "rd", "Read the floating-point control and status register fcsr into rd.",
     "rdctr", {}),
    ("sgt", "rd, rs1, rs2", "Write 1 to rd if rs1 is greater than rs2 as signed integers, else 0 "
     "(slt rd, rs2, rs1).", "setcc2", {}),
    ("sgtu", "rd, rs1, rs2", "Write 1 to rd if rs1 is greater than rs2 as unsigned integers, "
     "else 0 (sltu rd, rs2, rs1).", "setcc2", {}),
    ("zext.b", "rd, rs1", "Zero-extend the low 8 bits of rs1 into rd (andi rd, rs1, 255).",
     "sext", {}),
    ("jal", "offset", "Jump to pc + offset and write the return address to ra (jal ra, offset).",
     "jal1", dict(offset="joff")),
    ("jalr", "rs1", "Jump to the address in rs1 and write the return address to ra "
     "(jalr ra, 0(rs1)).", "jalr1", {}),
    ("fence", "", "Order all earlier memory and I/O accesses before all later ones "
     "(fence iorw, iorw).", "fence", {}),
    ("csrsi", "csr, zimm", "Set in the CSR csr the bits that are set in the 5-bit immediate zimm.",
     "csrp", {}),
    ("csrci", "csr, zimm", "Clear in the CSR csr the bits that are set in the 5-bit immediate "
     "zimm.", "csrp", {}),
    ("fscsr", "rs1", "Write rs1 to the floating-point control and status register fcsr.",
     "wrfcsr", {}),
    ("frrm", "rd", "Read the floating-point dynamic rounding mode (frm) into rd.", "rdctr", {}),
    ("fsrm", "rs1", "Write rs1 to the floating-point dynamic rounding mode frm.", "wrfcsr", {}),
    ("frflags", "rd", "Read the floating-point accrued exception flags (fflags) into rd.",
     "rdctr", {}),
    ("fsflags", "rs1", "Write rs1 to the floating-point accrued exception flags fflags.",
     "wrfcsr", {}),
    ("fgt.s", "rd, rs1, rs2", "Write 1 to integer register rd if single-precision rs1 is greater "
     "than rs2, else 0 (flt.s rd, rs2, rs1).", "fcmp", dict(rs1="f", rs2="f")),
    ("fge.s", "rd, rs1, rs2", "Write 1 to integer register rd if single-precision rs1 is greater "
     "than or equal to rs2, else 0 (fle.s rd, rs2, rs1).", "fcmp", dict(rs1="f", rs2="f")),
    ("fgt.d", "rd, rs1, rs2", "Write 1 to integer register rd if double-precision rs1 is greater "
     "than rs2, else 0 (flt.d rd, rs2, rs1).", "fcmp", dict(rs1="f", rs2="f")),
    ("fge.d", "rd, rs1, rs2", "Write 1 to integer register rd if double-precision rs1 is greater "
     "than or equal to rs2, else 0 (fle.d rd, rs2, rs1).", "fcmp", dict(rs1="f", rs2="f")),
    ("unimp", "", "Raise an illegal-instruction exception (an encoding that is never valid).",
     "system", {}),
]
for _m, _syn, _s, _g, _k in _PSEUDO:
    _add(_m, _syn, "pseudo", _s, _g, _m, 64 if _m in ("negw", "sext.w") else 0, **_k)

# --- Directives ----------------------------------------------------------------------------
_DIRECTIVES = [
    (".text", "", "Switch to the code section (.text)."),
    (".data", "", "Switch to the initialized data section (.data)."),
    (".bss", "", "Switch to the zero-initialized data section (.bss)."),
    (".section", ".rodata", "Switch to the read-only data section .rodata."),
    (".globl", "symbol", "Make symbol visible to the linker (global)."),
    (".global", "symbol", "Declare symbol as a global symbol."),
    (".local", "symbol", "Mark symbol as local to this object file."),
    (".word", "value", "Emit the 32-bit value value."),
    (".half", "value", "Emit the 16-bit value value."),
    (".byte", "value", "Emit the 8-bit value value."),
    (".dword", "value", "Emit the 64-bit value value."),
    (".string", "string", "Emit the NUL-terminated string string."),
    (".asciz", "string", "Emit the NUL-terminated string string."),
    (".ascii", "string", "Emit the bytes of string without a terminating NUL."),
    (".zero", "value", "Emit value zero bytes."),
    (".align", "value", "Align the location counter to a 2**value byte boundary."),
    (".p2align", "value", "Align the location counter to a 2**value byte boundary."),
    (".balign", "value", "Align the location counter to a multiple of value bytes."),
    (".equ", "symbol, value", "Define symbol as the constant value."),
    (".type", "symbol, @function", "Mark symbol as a function in the symbol table."),
    (".option", "norvc", "Stop generating compressed instructions from here on."),
    (".option", "rvc", "Allow the assembler to generate compressed instructions."),
]
for _m, _syn, _s in _DIRECTIVES:
    INSTRUCTIONS.append(Instruction(_m, _syn, "directive", _s, (("value", "value"),
                                    ("string", "string")), "directive", _m, 0,
                                    tuple(t for t in ("symbol", "value", "string") if t in _syn)))


@lru_cache(maxsize=None)
def by_mnemonic() -> dict[str, Instruction]:
    """Map each machine/pseudo mnemonic to its first table entry (directives excluded)."""
    table: dict[str, Instruction] = {}
    for ins in INSTRUCTIONS:
        if ins.ext != "directive":
            table.setdefault(ins.mnemonic, ins)
    return table


def by_category() -> dict[str, list[Instruction]]:
    """Table entries grouped by dataset category (extension name, ``pseudo`` or ``directive``)."""
    groups: dict[str, list[Instruction]] = {}
    for ins in INSTRUCTIONS:
        groups.setdefault(ins.ext, []).append(ins)
    return groups


def operand_kinds(mnemonic: str) -> dict[str, str]:
    """Kinds of the placeholder operands of ``mnemonic`` ({} when it is not in the table)."""
    ins = by_mnemonic().get(mnemonic.lower())
    if ins is None:
        return {}
    return {role: ins.kind(role) for role in ins.roles} | dict(ins.kinds)
