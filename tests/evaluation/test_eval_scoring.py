"""Evaluator plugins: the built-in ``riscv`` one, a third-party-style one, aggregates, comparison."""

import pytest

import rvtune
from rvtune.core.errors import RvtuneError, UsageError
from rvtune.core.plugins import register_plugin, registry, unregister_plugin
from rvtune.evaluation import scoring
from rvtune.evaluation.pipeline import EvalConfig, evaluate
from rvtune.plugins.riscv_evaluator import RiscvEvaluator

from eval_helpers import read_jsonl, write_jsonl


def test_riscv_evaluator_is_a_builtin_plugin():
    entry = registry().tables["evaluator"]["riscv"]
    assert entry.component is RiscvEvaluator
    assert entry.plugin == "rvtune.plugins.riscv_evaluator"


@pytest.fixture(scope="module")
def riscv_scores():
    evaluator = scoring.make_evaluator("riscv", trials=4, seed=1)
    refs = ["addi a0, a0, 1", "lw a0, 8(a1)", "vadd.vv v1, v2, v3", "add a0, a1, a2", "nop"]
    preds = ["addi a0,a0,1", "lwu a0, 8(a1)", "vadd.vv v1, v2, v3", "frobnicate a0",
             "  # nothing\n"]
    return evaluator, scoring.score(evaluator, refs, preds)


def test_riscv_evaluator_scores_dicts(riscv_scores):
    evaluator, scores = riscv_scores
    assert (evaluator.trials, evaluator.seed) == (4, 1)
    assert [(s["exact"], s["assembles"], s["encoding_match"], s["exec_match"]) for s in scores] \
        == [(True, True, True, True), (False, True, False, False),
            (True, True, True, None), (False, False, False, False),
            (False, False, False, False)]
    assert "prediction does not assemble" in scores[3]["message"]
    assert scores[4]["message"] == "prediction is empty"  # the assembler accepts it, we don't
    assert scoring.metric_names(evaluator, scores) == list(RiscvEvaluator.metrics)


def test_riscv_evaluator_aggregates_like_metrics_module(riscv_scores):
    evaluator, scores = riscv_scores
    report = scoring.aggregate(evaluator, scores[:4], ["a", "a", "V", "b"], evaluator.metrics)
    overall = report["overall"]
    assert overall["examples"] == 4 and overall["exact"] == 0.5
    assert overall["exec_match"] == pytest.approx(1 / 3)
    assert (overall["exec_decided"], overall["exec_undecidable"]) == (3, 1)
    assert report["by_category"]["V"]["exec_match"] is None


def test_generic_aggregate_skips_none_and_counts_it():
    scores = [{"ok": True, "deep": None}, {"ok": False, "deep": True}, {"ok": True, "deep": False}]
    report = scoring.generic_aggregate(scores, ["x", "y", "y"], ["ok", "deep"])
    assert report["overall"]["ok"] == pytest.approx(2 / 3)
    assert report["overall"]["deep"] == 0.5
    assert (report["overall"]["deep_decided"], report["overall"]["deep_undecidable"]) == (2, 1)
    assert "ok_decided" not in report["overall"]
    assert report["by_category"]["x"]["deep"] is None


def test_compare_gives_base_tuned_and_delta():
    base = {"overall": {"a": 0.25, "b": None}, "by_category": {"c": {"a": 0.0, "b": None}}}
    tuned = {"overall": {"a": 0.75, "b": 0.5}, "by_category": {"c": {"a": 0.5, "b": 1.0}}}
    result = scoring.compare(base, tuned, ["a", "b"])
    assert result["overall"]["a"] == {"base": 0.25, "fine_tuned": 0.75, "delta": 0.5}
    assert result["overall"]["b"]["delta"] is None
    assert result["by_category"]["c"]["a"]["delta"] == 0.5


def test_unknown_evaluator_lists_the_known_ones():
    with pytest.raises(UsageError, match=r"unknown evaluator 'nope' \(option --evaluator\); "
                                         r"available: .*riscv"):
        scoring.make_evaluator("nope")


class SamePlugin:
    """A third-party-style evaluator: no ``metrics``, no ``aggregate``, no constructor options."""

    class Same:
        """Prediction equals reference, ignoring case."""

        name = "same-text"

        def score(self, references, predictions):
            return [{"same": r.lower() == p.lower(), "note": "compared"}
                    for r, p in zip(references, predictions)]

    class Broken:
        """Returns too few scores."""

        name = "broken"

        def score(self, references, predictions):
            return []

    @staticmethod
    @rvtune.hookimpl
    def register_evaluators(register):
        register(SamePlugin.Same)
        register(SamePlugin.Broken)


@pytest.fixture
def same_plugin():
    register_plugin(SamePlugin, "same-plugin")
    yield
    unregister_plugin("same-plugin")


def test_third_party_evaluator_runs_through_the_pipeline(same_plugin, tmp_path):
    rows = [{"reference": "A", "prediction": "a", "category": "x"},
            {"reference": "B", "prediction": "c", "category": "x"},
            {"reference": "D", "prediction": "d"}]
    preds = write_jsonl(tmp_path / "p.jsonl", rows)
    result = evaluate(EvalConfig(predictions=str(preds), evaluator="same-text",
                                 out=str(tmp_path / "o"), trials=3))
    assert result.summary["metrics"] == ["same"]
    assert result.summary["results"]["overall"]["same"] == pytest.approx(2 / 3)
    assert result.summary["results"]["by_category"]["x"]["same"] == 0.5
    written = read_jsonl(tmp_path / "o" / "eval.jsonl")
    assert [r["same"] for r in written] == [True, False, True]
    assert written[0]["note"] == "compared"
    assert (tmp_path / "o" / "eval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluator_returning_wrong_count_is_a_clean_error(same_plugin, tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", [{"reference": "a", "prediction": "a"}])
    with pytest.raises(RvtuneError, match="evaluator 'broken' returned 0 items for 1"):
        evaluate(EvalConfig(predictions=str(preds), evaluator="broken", out=str(tmp_path / "o")))
