"""rvtune.riscv.emulate: real llvm-mc encodings run in the real unicorn emulator."""

import random

import pytest

from rvtune.riscv import emulate
from rvtune.riscv.emulate import (
    DATA_BASE,
    MachineState,
    compare,
    exec_match,
    random_state,
    run_snippet,
    undecidable_reason,
)


@pytest.fixture(scope="module")
def asm():
    """Machine code of a snippet, assembled by the project's Validator (llvm-mc)."""
    from rvtune.riscv.validate import Validator

    validator = Validator()

    def assemble(text: str) -> bytes:
        result = validator.check_many([text], substitute=True)[0]
        assert result.valid, result.message
        assert not result.relocations, result.relocations
        return bytes(result.encoding)

    return assemble


def _state(**registers) -> MachineState:
    base = random_state(random.Random(1))
    x = list(base.x)
    for name, value in registers.items():
        x[emulate.X_NAMES.index(name)] = value & ((1 << 64) - 1)
    return MachineState(tuple(x), base.f, base.memory_seed)


def test_run_snippet_reaches_the_end(asm):
    state = _state(a0=41, a1=1)
    end = run_snippet(asm("add a0, a0, a1\naddi a0, a0, 1"), state)
    assert end.outcome == "end"
    assert end.x[10] == 43
    assert end.x[11] == 1
    assert end.memory == ()


def test_loads_see_sign_bits_and_stores_are_recorded(asm):
    rng = random.Random(0)
    signs = set()
    for _ in range(16):
        state = random_state(rng)
        end = run_snippet(asm("lw a0, 8(a1)\nsd a0, 0(sp)"), state)
        assert end.outcome == "end"
        signs.add(end.x[10] >> 63)
        assert [page for page, _ in end.memory] == [state.x[2] & ~0xFFF]
    assert signs == {0, 1}


@pytest.mark.parametrize(
    "ref, pred, expected",
    [
        ("add a0, a1, a2", "add a0, a2, a1", True),
        ("slli a0, a1, 1", "add a0, a1, a1", True),
        ("mv a0, a1", "addi a0, a1, 0", True),
        ("li a0, 0x12345678", "lui a0, 0x12345\naddi a0, a0, 0x678", True),
        ("sd a0, 0(sp)\nsd a1, 8(sp)", "sd a1, 8(sp)\nsd a0, 0(sp)", True),
        ("ret", "jr ra", True),
        ("fadd.d fa0, fa1, fa2", "fadd.d fa0, fa2, fa1", True),
        ("fadd.s fa0, fa1, fa2", "fadd.s fa0, fa2, fa1", True),
        ("lw a0, 8(a1)", "lwu a0, 8(a1)", False),
        ("div a0, a1, a2", "divu a0, a1, a2", False),
        ("beq a0, a1, 1f\naddi a0, a0, 1\n1:", "bne a0, a1, 1f\naddi a0, a0, 1\n1:", False),
        ("fadd.d fa0, fa1, fa2", "fsub.d fa0, fa1, fa2", False),
        ("sd a0, 0(sp)", "sw a0, 0(sp)", False),
        ("ret", "nop", False),
        ("add a0, a1, a2", "add a0, a1, a2\nli t0, 0", False),
    ],
)
def test_exec_match_pairs(asm, ref, pred, expected):
    verdict = compare(asm(ref), asm(pred))
    assert verdict.match is expected, verdict.reason


def test_a_mismatch_names_the_register(asm):
    verdict = compare(asm("lw a0, 8(a1)"), asm("lwu a0, 8(a1)"))
    assert verdict.match is False
    assert "a0 is 0xffffffff" in verdict.reason


def test_loop_matches_itself_and_terminates(asm):
    loop = asm("1:\naddi a0, a0, -1\nbnez a0, 1b")
    assert exec_match(loop, loop) is True
    end = run_snippet(loop, _state(a0=5))
    assert (end.outcome, end.x[10]) == ("end", 0)


def test_endless_loop_hits_the_step_limit(asm):
    end = run_snippet(asm("1:\nj 1b"), _state(), max_steps=500)
    assert end.outcome == "step_limit"


def test_leaving_the_code_is_recorded_with_its_target(asm):
    end = run_snippet(asm("jr a1"), _state(a1=0x1234_5678))
    assert (end.outcome, end.detail) == ("left", "0x12345678")
    forward = run_snippet(asm("j 64"), _state())
    assert (forward.outcome, forward.detail) == ("left", f"0x{emulate.CODE_BASE + 64:x}")
    into_data = run_snippet(asm("jr a1"), _state(a1=DATA_BASE))
    assert into_data.outcome == "left"


def test_store_into_the_code_traps(asm):
    end = run_snippet(asm("sw a0, 0(a1)"), _state(a1=emulate.CODE_BASE))
    assert end.outcome == "trap"
    assert "store into the code" in end.detail


def test_identical_traps_agree(asm):
    misaligned = _state(a1=DATA_BASE + 2)
    end = run_snippet(asm("lr.d a0, (a1)"), misaligned)
    assert end.outcome == "trap"
    assert "misaligned" in end.detail
    atomics = asm("lr.d a0, (a1)")
    assert exec_match(atomics, atomics) is True


@pytest.mark.parametrize(
    "text, reason",
    [
        ("vadd.vv v1, v2, v3", "vector instruction"),
        ("vle32.v v1, (a0)", "vector load/store"),
        ("ecall", "ecall"),
        ("ebreak", "ebreak"),
        ("csrr a0, cycle", "CSR 0xc00"),
        ("csrr a0, mscratch", "CSR 0x340"),
        ("mret", "privileged"),
    ],
)
def test_undecidable_code(asm, text, reason):
    code = asm(text)
    assert reason in undecidable_reason(code)
    assert exec_match(code, code) is None
    assert run_snippet(code, _state()).outcome == "unsupported"


def test_floating_point_csrs_are_decidable(asm):
    # Only rounding modes 0-4 are valid: a dynamic one outside that is an illegal instruction.
    code = asm("andi a1, a1, 3\nfsrm a1\nfadd.d fa0, fa1, fa2\nfrflags a2")
    assert undecidable_reason(code) is None
    assert exec_match(code, code) is True


def test_relocations_make_it_undecidable(asm):
    code = asm("nop")
    verdict = compare(code, code, pred_relocs=(("R_RISCV_CALL", "foo", 0),))
    assert verdict.match is None
    assert "relocations" in verdict.reason


def test_unicorn_rejecting_an_instruction_is_undecidable():
    # c.unimp: the assembler's own "illegal instruction", which unicorn refuses to run.
    assert compare(b"\x00\x00", b"\x01\x00").match is None


def test_results_are_deterministic_for_a_seed(asm):
    ref, pred = asm("div a0, a1, a2"), asm("divu a0, a1, a2")
    assert compare(ref, pred, seed=7) == compare(ref, pred, seed=7)
    assert random_state(random.Random(3)) == random_state(random.Random(3))
    assert random_state(random.Random(3)) != random_state(random.Random(4))
    state = random_state(random.Random(5))
    code = asm("lw a0, 8(a1)\nsw a0, 0(sp)\nfmul.d fa0, fa1, fa2")
    assert run_snippet(code, state) == run_snippet(code, state)
