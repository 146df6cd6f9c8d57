"""exec_match on look-alike instructions (issue 20): real llvm-mc encodings, real unicorn.

Each pair in KNOWN_DIFFERENT computes something different for some inputs: signed vs
unsigned, 32 vs 64 bits, < vs <=, a rounding mode, a saturating conversion, NaN and flag
behaviour. Random inputs alone called many of them a match; the edge-value starting states
must tell every one apart (false-match rate 0). KNOWN_EQUIVALENT pairs must still match.
"""

import pytest

from rvtune.riscv.emulate import X_EDGES, compare, edge_states



def _branch(mnemonic: str, a: str = "a0", b: str = "a1") -> str:
    return f"{mnemonic} {a}, {b}, 1f\naddi a2, a2, 1\n1:"


KNOWN_DIFFERENT = [
    ("fcvt.wu.s a0, fa0", "fcvt.lu.s a0, fa0"),
    ("fcvt.w.s a0, fa0", "fcvt.l.s a0, fa0"),
    ("fcvt.wu.d a0, fa0", "fcvt.lu.d a0, fa0"),
    ("fcvt.w.d a0, fa0", "fcvt.wu.d a0, fa0"),
    ("fcvt.l.d a0, fa0", "fcvt.lu.d a0, fa0"),
    ("fcvt.w.s a0, fa0, rtz", "fcvt.w.s a0, fa0, rne"),
    ("fcvt.w.s a0, fa0, rne", "fcvt.w.s a0, fa0, rmm"),
    ("fcvt.l.d a0, fa0, rdn", "fcvt.l.d a0, fa0, rup"),
    ("fcvt.s.w fa0, a0", "fcvt.s.wu fa0, a0"),
    ("fcvt.d.l fa0, a0", "fcvt.d.lu fa0, a0"),
    ("fcvt.d.w fa0, a0", "fcvt.d.l fa0, a0"),
    ("fcvt.s.d fa0, fa1", "fcvt.s.d fa0, fa1, rtz"),
    ("fle.s a0, fa0, fa1", "flt.s a0, fa0, fa1"),
    ("fle.d a0, fa0, fa1", "flt.d a0, fa0, fa1"),
    ("feq.s a0, fa0, fa1", "fle.s a0, fa0, fa1"),
    ("feq.d a0, fa0, fa1", "fle.d a0, fa0, fa1"),
    ("flt.s a0, fa0, fa1", "flt.s a0, fa1, fa0"),
    ("fmin.s fa0, fa1, fa2", "fmax.s fa0, fa1, fa2"),
    ("fmin.d fa0, fa1, fa2", "fmax.d fa0, fa1, fa2"),
    ("fmax.s fa0, fa1, fa2", "fmax.d fa0, fa1, fa2"),
    ("fsgnj.s fa0, fa1, fa2", "fsgnjn.s fa0, fa1, fa2"),
    ("fsgnjx.d fa0, fa1, fa2", "fsgnj.d fa0, fa1, fa2"),
    ("fsgnjn.d fa0, fa1, fa2", "fsgnjx.d fa0, fa1, fa2"),
    ("fclass.s a0, fa0", "fclass.d a0, fa0"),
    ("fmv.x.w a0, fa0", "fmv.x.d a0, fa0"),
    ("fsqrt.s fa0, fa1", "fsqrt.d fa0, fa1"),
    ("fadd.s fa0, fa1, fa2", "fadd.s fa0, fa1, fa2, rtz"),
    ("fmadd.d fa0, fa1, fa2, fa3", "fmul.d ft0, fa1, fa2\nfadd.d fa0, ft0, fa3"),
    ("fnmadd.s fa0, fa1, fa2, fa3", "fnmsub.s fa0, fa1, fa2, fa3"),
    ("sra a0, a1, a2", "srl a0, a1, a2"),
    ("sraw a0, a1, a2", "sra a0, a1, a2"),
    ("srai a0, a1, 3", "srli a0, a1, 3"),
    ("sllw a0, a1, a2", "sll a0, a1, a2"),
    ("srlw a0, a1, a2", "srl a0, a1, a2"),
    ("slliw a0, a1, 4", "slli a0, a1, 4"),
    ("addw a0, a1, a2", "add a0, a1, a2"),
    ("addiw a0, a1, 1", "addi a0, a1, 1"),
    ("mulw a0, a1, a2", "mul a0, a1, a2"),
    ("mulh a0, a1, a2", "mulhu a0, a1, a2"),
    ("mulh a0, a1, a2", "mulhsu a0, a1, a2"),
    ("mulhu a0, a1, a2", "mulhsu a0, a1, a2"),
    ("div a0, a1, a2", "divu a0, a1, a2"),
    ("divw a0, a1, a2", "div a0, a1, a2"),
    ("divuw a0, a1, a2", "divw a0, a1, a2"),
    ("rem a0, a1, a2", "remu a0, a1, a2"),
    ("remw a0, a1, a2", "remuw a0, a1, a2"),
    ("slt a0, a1, a2", "sltu a0, a1, a2"),
    ("slti a0, a1, 5", "sltiu a0, a1, 5"),
    ("sltiu a0, a1, 2", "seqz a0, a1"),
    ("sext.w a0, a1", "mv a0, a1"),
    ("neg a0, a1", "negw a0, a1"),
    ("lw a0, 0(a1)", "lwu a0, 0(a1)"),
    ("lb a0, 0(a1)", "lbu a0, 0(a1)"),
    ("lh a0, 0(a1)", "lhu a0, 0(a1)"),
    ("zext.b a0, a1", "andi a0, a1, 127"),
    (_branch("blt"), _branch("ble")),
    (_branch("blt"), _branch("bltu")),
    (_branch("bge"), _branch("bgeu")),
    (_branch("bgt"), _branch("bge")),
    ("amomax.w a0, a1, (sp)", "amomaxu.w a0, a1, (sp)"),
]

KNOWN_EQUIVALENT = [
    ("mv a0, a1", "addi a0, a1, 0"),
    ("li a0, 5", "addi a0, zero, 5"),
    ("li a0, -1", "addi a0, x0, -1"),
    ("li a0, 0x12345678", "lui a0, 0x12345\naddi a0, a0, 0x678"),
    ("li a0, 0x80000000", "addi a0, zero, 1\nslli a0, a0, 31"),
    ("neg a0, a1", "sub a0, zero, a1"),
    ("negw a0, a1", "subw a0, zero, a1"),
    ("not a0, a1", "xori a0, a1, -1"),
    ("seqz a0, a1", "sltiu a0, a1, 1"),
    ("snez a0, a1", "sltu a0, zero, a1"),
    ("sext.w a0, a1", "addiw a0, a1, 0"),
    ("add a0, a1, a2", "add a0, a2, a1"),
    ("fmv.s fa0, fa1", "fsgnj.s fa0, fa1, fa1"),
    ("fneg.d fa0, fa1", "fsgnjn.d fa0, fa1, fa1"),
    ("fabs.s fa0, fa1", "fsgnjx.s fa0, fa1, fa1"),
    ("fgt.s a0, fa0, fa1", "flt.s a0, fa1, fa0"),
    ("fmin.s fa0, fa1, fa2", "fmin.s fa0, fa2, fa1"),
    ("fmadd.s fa0, fa1, fa2, fa3", "fmadd.s fa0, fa2, fa1, fa3"),
    (_branch("ble"), _branch("bge", "a1", "a0")),
    ("ret", "jr ra"),
]


@pytest.fixture(scope="module")
def encoded():
    from rvtune.riscv.validate import Validator

    texts = [text for pair in KNOWN_DIFFERENT + KNOWN_EQUIVALENT for text in pair]
    results = Validator().check_many(texts, substitute=True)
    for text, result in zip(texts, results):
        assert result.valid and not result.relocations, (text, result.message)
    return {text: bytes(result.encoding) for text, result in zip(texts, results)}


def test_lists_are_big_enough():
    assert len(KNOWN_DIFFERENT) >= 40


def test_false_match_rate_is_zero_on_known_different_pairs(encoded):
    false_matches = []
    for ref, pred in KNOWN_DIFFERENT:
        verdict = compare(encoded[ref], encoded[pred])
        if verdict.match is not False:
            false_matches.append(f"{ref!r} vs {pred!r}: {verdict.reason}")
    assert not false_matches, f"{len(false_matches)}/{len(KNOWN_DIFFERENT)}:\n" + "\n".join(
        false_matches)


def test_known_equivalent_pairs_still_match(encoded):
    for ref, pred in KNOWN_EQUIVALENT:
        verdict = compare(encoded[ref], encoded[pred])
        assert verdict.match is True, f"{ref!r} vs {pred!r}: {verdict.reason}"


def test_the_difference_names_the_edge_state(encoded):
    verdict = compare(encoded["fle.s a0, fa0, fa1"], encoded["flt.s a0, fa0, fa1"])
    assert verdict.reason.startswith("trial ") and "every register equal" in verdict.reason


def test_edge_states_hold_the_values_that_matter():
    states = edge_states()
    xs = {value for _, state in states for value in state.x}
    fs = {value for _, state in states for value in state.f}
    assert set(X_EDGES) <= xs
    assert {1 << 32, (1 << 64) - 1, 1 << 63, 0} <= xs
    assert {0xFFFF_FFFF_7FC0_0000, 0xFFFF_FFFF_7F80_0001, 0xFFFF_FFFF_8000_0000,
            0x7FF8_0000_0000_0000, 0x7FF0_0000_0000_0001, 0x8000_0000_0000_0000} <= fs
    # Each register sees every x edge value somewhere (not only a lucky few).
    for index in (5, 10, 11, 31):
        assert set(X_EDGES) <= {state.x[index] for _, state in states}
    assert edge_states(0) == edge_states(0)
