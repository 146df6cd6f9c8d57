"""rvtune.riscv.forms: mnemonics, operand kinds and extensions of snippets as models write them."""

import pytest

from rvtune.riscv.forms import extension, mnemonics, operand_form
from rvtune.riscv.metrics import form_scores


@pytest.mark.parametrize("text, expected", [
    ("ADD a0,a1 , a2  # sum", ["add"]),
    ("loop: addi a0, a0, -1; bnez a0, loop", ["addi", "bnez"]),
    ("c.add a0, a1", ["add"]),
    (".text\n.globl f\nf:\n  ret", [".text", ".globl", "ret"]),
    ("vadd.vv v1, v2, v3, v0.t", ["vadd.vv"]),
    ("# only a comment\n\n", []),
])
def test_mnemonics(text, expected):
    assert mnemonics(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("add a0, a1, a2", [("x", "x", "x")]),
    ("add rd, rs1, rs2", [("x", "x", "x")]),
    ("addi x10, x11, -0x10", [("x", "x", "imm")]),
    ("lw a0, 8 ( sp )", [("x", "mem(x)")]),
    ("lw rd, imm(rs1)", [("x", "mem(x)")]),
    ("lr.w a0, (a1)", [("x", "mem(x)")]),
    ("lw a0, %lo(sym)(a1)", [("x", "mem(x)")]),
    ("addi a0, a0, %lo(sym)", [("x", "x", "imm")]),
    ("fadd.s rd, rs1, rs2", [("f", "f", "f")]),
    ("fgt.s rd, rs1, rs2", [("x", "f", "f")]),
    ("fcvt.w.s a0, fa1, rtz", [("x", "f", "rm")]),
    ("beq a0, a1, 1f\n1:", [("x", "x", "label")]),
    ("vadd.vv vd, vs2, vs1, vm", [("v", "v", "v", "vm")]),
    ("vsetvli t0, a0, e32, m1, ta, ma", [("x", "x", "vtype", "vtype", "vtype", "vtype")]),
    ("csrrw rd, csr, rs1", [("x", "csr", "x")]),
    ("fence rw, rw", [("fence", "fence")]),
    ('.ascii "a, b"', [("string",)]),
])
def test_operand_form(text, expected):
    assert operand_form(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("add a0, a1, a2", "base"), ("mul a0, a1, a2", "M"), ("fadd.d fa0, fa1, fa2", "D"),
    ("fsqrt.s fa0, fa1", "F"), ("fadd.h fa0, fa1, fa2", "Zfh"), ("vle32.v v1, (a0)", "V"), ("c.addi a0, 1", "C"),
    ("amoswap.d a0, a1, (a2)", "A"), ("mv a0, a1", "pseudo"), ("sh1add a0, a1, a2", "B"),
    ("loop:\n  lr.w a0, (a1)\n  bnez a0, loop", "A"), (".word 1", "directive"), ("", "unknown"),
])
def test_extension(text, expected):
    assert extension(text) == expected


@pytest.mark.parametrize("ref, pred, first, all_, form", [
    ("add a0, a1, a2", "ADD a0,a1,a2", True, True, True),
    ("add a0, a1, a2", "sub a0, a1, a2", False, False, True),     # wrong operation
    ("add a0, a1, a2", "addi a0, a1, 2", False, False, False),    # register vs immediate
    ("lw a0, 8(a1)", "lw a0, a1", True, True, False),             # not a memory operand
    ("lw rd, offset(rs1)", "lw a0, 8(sp)", True, True, True),     # placeholders as their kind
    ("fadd.s fa0, fa1, fa2", "fadd.s a0, a1, a2", True, True, False),  # wrong register file
    ("addi a0, a0, 1\nret", "addi a0, a0, 1\njr ra", True, False, False),
    ("c.add a0, a1", "add a0, a0, a1", True, True, False),
])
def test_form_scores(ref, pred, first, all_, form):
    assert form_scores(ref, pred) == {"mnemonic_first": first, "mnemonic_all": all_,
                                      "operand_form": form}
