"""rvtune.riscv.metrics on hand-picked pairs: the real Validator (llvm-mc) and real unicorn."""

import pytest

from rvtune.core.errors import DataError, RvtuneError
from rvtune.riscv.metrics import ExampleScore, aggregate, normalize, score_pairs

# name: (reference, prediction, exact, assembles, encoding_match, exec_match)
PAIRS = {
    "spacing": ("addi a0, a0, 1", "addi a0,a0,1", True, True, True, True),
    "alias": ("mv a0, a1", "addi a0, a1, 0", False, True, True, True),
    "commuted": ("add a0, a1, a2", "add a0, a2, a1", False, True, False, True),
    "shift_vs_add": ("slli a0, a1, 1", "add a0, a1, a1", False, True, False, True),
    "lw_vs_lwu": ("lw a0, 8(a1)", "lwu a0, 8(a1)", False, True, False, False),
    "div_vs_divu": ("div a0, a1, a2", "divu a0, a1, a2", False, True, False, False),
    "beq_vs_bne": (
        "beq a0, a1, 1f\naddi a0, a0, 1\n1:",
        "bne a0, a1, 1f\naddi a0, a0, 1\n1:",
        False, True, False, False,
    ),
    "fadd_d": ("fadd.d fa0, fa1, fa2", "fadd.d fa0, fa2, fa1", False, True, False, True),
    "fadd_vs_fsub": ("fadd.d fa0, fa1, fa2", "fsub.d fa0, fa1, fa2", False, True, False, False),
    "vector": ("vadd.vv v1, v2, v3", "vadd.vv v1, v3, v2", False, True, False, None),
    "invalid": ("add a0, a1, a2", "frobnicate a0, a1", False, False, False, False),
    "loop": (
        "1:\naddi a0, a0, -1\nbnez a0, 1b",
        "1:\n  ADDI a0,a0,-1   # count down\n  bnez a0, 1b",
        True, True, True, True,
    ),
    "ecall": ("ecall", "ecall", True, True, True, None),
    "placeholders": ("add rd, rs1, rs2", "add a0, a1, a2", False, True, True, True),
    "branch_to_label": (
        "beq rs1, rs2, label\naddi a0, a0, 1",
        "bne rs1, rs2, label\naddi a0, a0, 1",
        False, True, False, False,
    ),
    "unresolved_call": ("call foo", "call foo", True, True, True, None),
    "rv32_only": ("c.jal label", "c.jal label", True, True, True, None),
    "unicorn_lacks_zba": ("sh1add a0, a1, a2", "slli a1, a1, 1\nadd a0, a1, a2",
                          False, True, False, None),
}


class CountingValidator:
    """The real Validator, counting how often it is asked."""

    def __init__(self):
        from rvtune.riscv.validate import Validator

        self.inner, self.calls = Validator(), 0

    def check_many(self, snippets, substitute=True):
        self.calls += 1
        return self.inner.check_many(snippets, substitute=substitute)


@pytest.fixture(scope="module")
def scored():
    validator = CountingValidator()
    refs = [pair[0] for pair in PAIRS.values()]
    preds = [pair[1] for pair in PAIRS.values()]
    scores = score_pairs(refs, preds, validator=validator)
    return dict(zip(PAIRS, scores)), validator.calls


@pytest.mark.parametrize("name", list(PAIRS))
def test_pair(scored, name):
    score = scored[0][name]
    _, _, exact, assembles, encoding_match, exec_match = PAIRS[name]
    got = (score.exact, score.assembles, score.encoding_match, score.exec_match)
    assert got == (exact, assembles, encoding_match, exec_match), score.message


def test_one_validator_call_for_the_whole_batch(scored):
    assert scored[1] == 1


def test_messages_explain(scored):
    scores = scored[0]
    assert "prediction does not assemble" in scores["invalid"].message
    assert "mnemonic" in scores["invalid"].message  # the assembler's own words are kept
    assert scores["lw_vs_lwu"].message.startswith("trial ")
    assert "a0" in scores["lw_vs_lwu"].message
    assert "undecidable" in scores["vector"].message
    assert "vector" in scores["vector"].message
    assert "relocations" in scores["unresolved_call"].message
    assert "RV32" in scores["rv32_only"].message
    assert "illegal instruction" in scores["unicorn_lacks_zba"].message


def test_a_reference_that_does_not_assemble_is_undecidable():
    (score,) = score_pairs(["addi a0, a0, 99999"], ["addi a0, a0, 1"])
    assert score.exec_match is None
    assert score.encoding_match is False
    assert "reference does not assemble" in score.message


def test_same_seed_same_scores():
    refs, preds = ["div a0, a1, a2", "add a0, a1, a2"], ["divu a0, a1, a2", "add a0, a2, a1"]
    assert score_pairs(refs, preds, seed=3) == score_pairs(refs, preds, seed=3)


def test_mismatched_lengths_are_a_data_error():
    with pytest.raises(DataError, match="2 references but 1 predictions"):
        score_pairs(["nop", "nop"], ["nop"])
    assert issubclass(DataError, RvtuneError)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("addi a0, a0, 1", "addi a0, a0, 1"),
        ("  ADDI\ta0,a0,1   # increment\n\n", "addi a0, a0, 1"),
        ("loop: lw a0, 8 ( a1 ) ; ret", "loop:\nlw a0, 8(a1)\nret"),
        ("add x10, x11, x12", "add x10, x11, x12"),
        ('.ascii "A;b # c"  # text', '.ascii "A;b # c"'),
        ("lw a0, %lo(Sym + 4)(a1)", "lw a0, %lo(sym+4)(a1)"),
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


def test_normalize_keeps_register_names():
    assert normalize("add x10, x11, x12") != normalize("add a0, a1, a2")


def _score(exact, assembles, encoding, exec_):
    return ExampleScore(exact, assembles, encoding, exec_, "")


def test_aggregate_overall_and_per_category():
    scores = [
        _score(True, True, True, True),
        _score(False, True, False, False),
        _score(False, True, False, None),
        _score(False, False, False, False),
    ]
    report = aggregate(scores, categories=["base", "base", "V", "M"])
    overall = report["overall"]
    assert overall["examples"] == 4
    assert overall["exact"] == 0.25
    assert overall["assembles"] == 0.75
    assert overall["encoding_match"] == 0.25
    assert overall["exec_match"] == pytest.approx(1 / 3)
    assert (overall["exec_decided"], overall["exec_undecidable"]) == (3, 1)
    by = report["by_category"]
    assert list(by) == ["M", "V", "base"]
    assert by["base"]["exec_match"] == 0.5
    assert by["V"]["exec_match"] is None
    assert by["V"]["exec_undecidable"] == 1
    assert by["M"]["assembles"] == 0.0


def test_aggregate_without_categories_and_empty():
    assert "by_category" not in aggregate([_score(True, True, True, True)])
    assert aggregate([])["overall"]["exact"] is None
    with pytest.raises(DataError, match="one category per score"):
        aggregate([_score(True, True, True, True)], categories=[])


@pytest.mark.slow
def test_lw_vs_lwu_is_caught_for_every_seed():
    for seed in range(20):
        (score,) = score_pairs(["lw a0, 8(a1)"], ["lwu a0, 8(a1)"], seed=seed)
        assert score.exec_match is False, seed


def test_form_metrics_and_exec_reason_are_in_every_score(scored):
    scores = scored[0]
    assert (scores["div_vs_divu"].mnemonic_first, scores["div_vs_divu"].operand_form) \
        == (False, True)
    assert scores["invalid"].operand_form is False and scores["invalid"].exec_reason is None
    assert scores["placeholders"].mnemonic_all and scores["placeholders"].operand_form
    assert scores["vector"].exec_reason == "vector instructions: no RVV emulator"
    assert scores["unresolved_call"].exec_reason == "unresolved symbols (relocations)"
    assert scores["rv32_only"].exec_reason.startswith("RV32-only")
    assert scores["unicorn_lacks_zba"].exec_reason == "instruction unicorn does not implement"
    assert all(s.exec_reason is None for s in scores.values() if s.exec_match is not None)


def test_aggregate_counts_undecidable_causes():
    vector = ExampleScore(True, True, True, None, "", True, True, True,
                          "vector instructions: no RVV emulator")
    report = aggregate([vector, vector, _score(True, True, True, True)], ["V", "V", "base"])
    assert report["overall"]["exec_undecidable_causes"] == {
        "vector instructions: no RVV emulator": 2}
    assert report["overall"]["mnemonic_first"] == pytest.approx(2 / 3)
    assert report["by_category"]["base"]["exec_undecidable_causes"] == {}


def test_encoding_match_examples_of_metrics_md():
    from rvtune.riscv.metrics import score_pairs

    pairs = {("addi a0, a0, 1", "addi a0,a0,1"): True, ("mv a0, a1", "addi a0, a1, 0"): True,
             ("mv x10, a1", "mv a0, a1"): True, ("add a0, a0, a1", "c.add a0, a1"): False,
             ("add a0, a1, a2", "add a0, a2, a1"): False}
    scores = score_pairs([r for r, _ in pairs], [p for _, p in pairs], trials=2)
    assert [s.encoding_match for s in scores] == list(pairs.values())
    assert scores[3].exec_match  # same behaviour, different bytes
