"""The validator against the real llvm-mc: verdicts, messages, encodings, batching, fencing."""

import shutil

import pytest

from rvtune.core.errors import MissingDependencyError, RvtuneError
from rvtune.riscv import backends
from rvtune.riscv.validate import ValidationResult, Validator, substitute_placeholders

pytestmark = pytest.mark.skipif(shutil.which("llvm-mc") is None, reason="needs llvm-mc")


@pytest.fixture(scope="module")
def v():
    return Validator(backend="llvm-mc")


MIXED = [
    "add a0, a0, a1",
    "add a0, a1",
    "foo a0, a1",
    "addi a0, a0, 5000",
    "loop:\naddi a0, a0, -1\nbnez a0, loop",
    "loop:\naddi t0, t0, 1\nblt t0, a1, loop",
    "x:\nx:",
    "done: add a0, a0, 5000\nj done",
    ".equ N, 12\naddi a0, a0, N",
    "addi a0, a0, N",
    "la a0, msg\nla a1, msg",
    "call printf\ntail exit",
    "1: j 1b",
    "j 1f",
    "c.jal 1f\n1:",
    "c.add a0, a1\nadd a0, a0, a1",
    ".option rvc\nadd a0, a0, a1",
    ".data\n.word 7\n.text\nsub a0, a0, a1",
    ".section .rodata\n.string \"hi\"",
    ".macro inc r\naddi \\r, \\r, 1\n.endm\ninc a0",
    "beq a0, a1, far\n.space 5000\nfar:",
    "vsetvli t0, a0, e32, m1, ta, ma\nvle32.v v1, (a1)\nvadd.vv v2, v1, v1\nvse32.v v2, (a2)",
    "fadd.d fa0, fa1, fa2\nfcvt.w.d a0, fa0, rtz",
    "sh1add a0, a1, a2\nclmul a0, a1, a2\nbset a0, a1, a2\nandn a0, a1, a2\nfadd.h fa0, fa1, fa2",
    "csrrw a0, mstatus, a1\nfence.i",
    "lr.w.aq a0, (a1)\nsc.w.rl a2, a3, (a1)",
    "slli a0, a0, 40",
    "",
    "# just a comment",
    "nop # trailing comment",
]


def _key(r: ValidationResult):
    return (r.valid, r.message, r.encoding, r.relocations, r.xlen)


def test_known_invalid_snippets_carry_the_assembler_message(v):
    r1, r2, r3 = v.check_many(["add a0, a1", "foo a0, a1", "addi a0, a0, 5000"])
    assert not r1.valid and "too few operands" in r1.message and r1.message.startswith("1:1:")
    assert not r2.valid and "unrecognized instruction mnemonic" in r2.message
    assert not r3.valid and "[-2048, 2047]" in r3.message and r3.message.startswith("1:14:")
    assert r1.encoding == b"" and r1.relocations == ()


def test_result_fields(v):
    r = v.check("call foo")
    assert r.valid and r.message == "" and r.xlen == 64
    assert r.backend.startswith("llvm-mc ") and r.backend.endswith(v.backend_version)
    assert r.snippet == "call foo"
    assert len(r.encoding) == 8
    assert r.relocations == ((0, "R_RISCV_CALL", "foo", 0),)
    assert v.backend_name == "llvm-mc"


def test_no_silent_compression_but_explicit_c_is_accepted(v):
    plain, explicit, mixed = v.check_many(["add a0,a0,a1", "c.add a0, a1",
                                           "c.add a0, a1\nadd a0, a0, a1"])
    assert plain.encoding == bytes.fromhex("3305b500")
    assert explicit.valid and len(explicit.encoding) == 2
    assert len(mixed.encoding) == 6


def test_rv32_retry_for_rv32_only_forms(v):
    r = v.check("c.jal 1f\n1:")
    assert r.valid and r.xlen == 32 and len(r.encoding) == 2
    assert v.check("c.flw fa0, 4(a1)").xlen == 32
    assert not v.check("c.jal 1f\n1:\nfoo").valid


def test_batching_gives_the_same_results_as_one_by_one(v):
    batched = v.check_many(MIXED)
    alone = [v.check(s) for s in MIXED]
    assert [_key(r) for r in batched] == [_key(r) for r in alone]
    verdicts = dict(zip(MIXED, (r.valid for r in batched)))
    assert verdicts["x:\nx:"] is False
    assert verdicts["addi a0, a0, N"] is False          # N from the neighbour must not leak
    assert verdicts[".equ N, 12\naddi a0, a0, N"] is True
    assert verdicts["j 1f"] is False                      # nor a neighbour's numeric label
    assert verdicts["beq a0, a1, far\n.space 5000\nfar:"] is False
    assert verdicts[".macro inc r\naddi \\r, \\r, 1\n.endm\ninc a0"] is True


def test_batching_with_many_copies_of_the_same_labels(v):
    snippets = [f"loop:\naddi a0, a0, -{i % 7 + 1}\nbnez a0, loop" for i in range(300)]
    snippets += ["loop: addi a0, a0, 5000\nj loop"]
    results = v.check_many(snippets)
    assert all(r.valid for r in results[:-1])
    assert results[-1].message == v.check(snippets[-1]).message
    assert results[-1].message.startswith("1:20: error:")


def test_option_rvc_does_not_leak_into_the_next_snippet(v):
    results = v.check_many([".option rvc\nadd a0, a0, a1", "add a0, a0, a1",
                            ".option rvc", "add a0, a0, a1"])
    assert len(results[0].encoding) == 2
    assert results[1].encoding == bytes.fromhex("3305b500")
    assert results[3].encoding == bytes.fromhex("3305b500")


def test_section_switch_does_not_leak_into_the_next_snippet(v):
    results = v.check_many([".data", "add a0, a0, a1", ".section .rodata\n.word 1",
                            "sub a0, a0, a1", ".bss"])
    assert results[0].encoding == b""
    assert len(results[1].encoding) == 4
    assert len(results[3].encoding) == 4
    assert all(r.valid for r in results)


def test_temporaries_and_labels_are_reported_per_snippet(v):
    a, b = v.check_many(["la a0, sym", "la a0, sym\nla a1, sym"])
    assert [r[2] for r in a.relocations] == ["sym", ".Lpcrel_hi0"]
    assert [r[2] for r in b.relocations] == ["sym", ".Lpcrel_hi0", "sym", ".Lpcrel_hi1"]
    assert b.relocations == v.check("la a0, sym\nla a1, sym").relocations


def test_error_line_numbers_are_the_snippets_own(v):
    r, = v.check_many(["nop\nnop\n  add a0, a1", "nop"][:1], substitute=False)
    assert r.message.splitlines()[0] == "3:3: error: too few operands for instruction"
    assert r.message.splitlines()[1] == "  add a0, a1"


def test_placeholder_rows_assemble(v):
    spec = ["add rd, rs1, rs2", "lw rd, imm(rs1)", "sd rs2, offset(rs1)", "beq rs1, rs2, offset",
            "jal rd, offset", "c.addi16sp sp, imm", "c.lui rd, imm", "fcvt.w.s rd, rs1",
            "fmadd.d rd, rs1, rs2, rs3", "flw rd, imm(rs1)", "vadd.vv vd, vs2, vs1, vm",
            "vle32.v vd, (rs1), vm", "vse32.v vs3, (rs1)", "vsetvli rd, rs1, vtypei",
            "csrrwi rd, csr, zimm", "fence pred, succ", "amoswap.w.aqrl rd, rs2, (rs1)",
            "slli rd, rs1, shamt", "c.lw rd', offset(rs1')", "bnez rs1, label", "call symbol",
            "vadd.vi vd, vs2, imm, vm", "fadd.s rd, rs1, rs2, rm"]
    results = v.check_many(spec)
    assert [r.snippet for r in results if not r.valid] == []


def test_substitution_ignores_spacing():
    a = substitute_placeholders("add rd,rs1,rs2")
    b = substitute_placeholders("  add   rd ,  rs1,\trs2  ")
    assert a == b == "add a0, a1, a2"
    assert substitute_placeholders("lw rd, imm( rs1 )") == substitute_placeholders(
        "lw  rd,imm(rs1)") == "lw a0, 8(a1)"
    assert substitute_placeholders("fcvt.w.s rd, rs1") == "fcvt.w.s a0, fa1"
    assert substitute_placeholders("c.addi16sp sp, imm") == "c.addi16sp sp, 16"
    assert substitute_placeholders('.string "a  b"') == '.string "a  b"'
    assert substitute_placeholders("loop:\nbnez rd, loop") == "loop:\nbnez a0, loop"


def test_env_var_and_unknown_backend(monkeypatch):
    monkeypatch.setenv(backends.ENV_VAR, "llvm-mc")
    assert Validator().backend_name == "llvm-mc"
    monkeypatch.setenv(backends.ENV_VAR, "/no/such/assembler")
    with pytest.raises(RvtuneError, match="RVTUNE_ASM_BACKEND"):
        Validator()


def test_no_backend_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(backends.ENV_VAR, raising=False)
    monkeypatch.setattr(backends.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependencyError, match="apt-get install llvm"):
        Validator()


def test_self_test_rejects_an_assembler_without_riscv(tmp_path):
    fake = tmp_path / "llvm-mc"
    fake.write_text("#!/bin/sh\necho 'LLVM version 99.0.0'\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(RvtuneError, match="self-test"):
        Validator(backend=str(fake))


@pytest.mark.slow
def test_batching_matches_one_by_one_on_generated_rows(v):
    from rvtune.riscv.generate import generate_rows

    rows = [r["instructions"] for r in generate_rows(80, seed=11)]
    broken = [s.replace(",", "", 1) for s in rows[:20]]   # drop an operand separator
    snippets = rows + broken
    batched = v.check_many(snippets)
    assert [_key(r) for r in batched] == [_key(v.check(s)) for s in snippets]
    assert any(not r.valid for r in batched)


# Spec-style targets in the reference dataset's style, with the verdict a reader of the
# specification gives them (not what rvtune happened to say).
SPEC_STYLE = {
    "mv rd, rs": True, "neg rd, rs": True, "not rd, rs": True, "sext.w rd, rs": True,
    "seqz rd, rs": True, "beqz rs, offset": True, "bgtz rs, offset": True, "jr rs": True,
    "jalr rs": True, "csrw csr, rs": True, "csrr rd, csr": True, "fscsr rd, rs": True,
    "zext.b rd, rs": True, "zext.w rd, rs": True, "clz rd, rs": True, "rev8 rd, rs": True,
    "bgt rs, rt, offset": True, "bleu rs, rt, offset": True, "fmv.s rd, rs": True,
    "fgt.d rd, rs, rt": True, "vneg.v vd, vs": True, "vmnot.m vd, vs": True,
    "vwcvt.x.x.v vd, vs, vm": True, "vmand.mm vd, vs, vs": True, "vrsub.vx vd, vs, x0": True,
    "csrrw rd, csr, rs1": True, "csrrsi rd, csr, uimm": True, "vadd.vv vd, vs2, vs1, vm": True,
    "fence pred, succ": True, "vsetvli rd, rs1, vtypei": True, "slli rd, rs1, shamt": True,
    "c.addi rd, nzimm": True, "call offset": True, "tail symbol": True, "li rd, immediate": True,
    ".asciz \"string\"": True, ".ascii \"hello rd world\"": True,
    "x[rd] = x[rs1] + x[rs2]": False, "x[rd] = sext(M[x[rs1] + sext(offset)][7:0])": False,
    "add": False, "fadd.s": False, "mv rd": False, "beqrs1,rs2, label": False,
    "c.addi16sp imm": False, "lr.w rd,rs1": False, "Fence(pred, succ)": False,
    "fence w, 0": False, "nop 81": False, "addi rd, rs1, 5000": False,
}


def test_spec_style_targets_get_the_specifications_verdict(v):
    results = v.check_many(list(SPEC_STYLE))
    wrong = [(s, r.snippet, r.message) for s, r in zip(SPEC_STYLE, results)
             if r.valid != SPEC_STYLE[s]]
    assert wrong == []


def test_placeholders_inside_string_literals_are_data():
    assert substitute_placeholders('.asciz "string"') == '.asciz "string"'
    assert substitute_placeholders('.ascii "hello rd world"') == '.ascii "hello rd world"'
    assert substitute_placeholders('.byte value, "rd"') == '.byte 8, "rd"'


@pytest.mark.parametrize("snippet, why", [
    ('.include "notes.txt"', "'.include' reads a file"),
    ('nop\nlbl: .incbin "/dev/zero"', "'.incbin' reads a file"),
    (".INCBIN \"/etc/hostname\", 0, 10", "'.incbin' reads a file"),
    (".irp d, incbin\n.\\d \"/etc/hostname\"\n.endr", "builds a statement from macro"),
    (".space 1<<40", "emits more than"),
    (".zero 0x100000000", "emits more than"),
    (".fill 100000000, 8, 0", "emits more than"),
    (".p2align 40", "pads to more than"),
    (".rept 100000\n.rept 100000\nnop\n.endr\n.endr", "repeats a block"),
    (".rept 1000\n.space 4096\n.endr", "emits more than"),
])
def test_file_reading_and_unbounded_directives_are_refused_unassembled(v, snippet, why):
    r = v.check(snippet)
    assert not r.valid and r.message.startswith("refused: ") and why in r.message
    assert "localhost" not in r.message and r.encoding == b""


def test_refusals_leave_ordinary_data_directives_alone(v):
    ok = v.check_many([".space 64", ".zero 4096", ".p2align 4", ".fill 4, 4, 0",
                       ".rept 4\nnop\n.endr", '.string "incbin"', "# .include \"x\"\nnop"])
    assert all(r.valid for r in ok), [r.message for r in ok]


def test_the_assembler_runs_under_limits(v, monkeypatch):
    monkeypatch.setitem(backends.LIMITS, "output_bytes", 4096)
    big = ".equ N, 1 << 16\n.space N"   # hidden behind a symbol: only the limit stops it
    r = v.check(big)
    assert not r.valid and r.message
    monkeypatch.setitem(backends.LIMITS, "output_bytes", 256 << 20)
    assert v.check(big).valid


def test_unplaced_errors_do_not_leak_quoted_text():
    assert backends.unquote("Could not find incbin file 'secret line'") == (
        "Could not find incbin file '...'")


def test_half_invalid_batches_match_one_by_one(v):
    rows = [f"addi a{i % 8}, a{(i + 1) % 8}, {i}" for i in range(60)]
    broken = ["add a0, a1", "foo a0", ".bss symbol, length, align", ".optionx rvc",
              "beq a0, a1, far\n.space 5000\nfar:", "x[rd] = x[rs1] + x[rs2]", "addi a0, a0, 5000",
              ".sectionx .init", "c.jal 1f\n1:", ".section .text or .text data"]
    snippets = [s for pair in zip(rows, broken * 6) for s in pair]
    batched = v.check_many(snippets)
    assert [_key(r) for r in batched] == [_key(v.check(s)) for s in snippets]
    assert sum(r.valid for r in batched) == 60 + 6   # the rows and RV32-only c.jal
