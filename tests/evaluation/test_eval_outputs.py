"""What to evaluate (examples), and what an evaluation writes (report, chart), without a model."""

import pytest

from rvtune.core.datasets import DatasetSpec
from rvtune.core.errors import DataError
from rvtune.evaluation.chart import write_chart
from rvtune.evaluation.examples import (
    NO_CATEGORY,
    held_out_split,
    is_prepared_file,
    read_dataset,
    read_prepared,
)
from rvtune.evaluation.generate import cut_at_stop
from rvtune.evaluation.report import render_report

from eval_helpers import write_jsonl

PREPARED = [{"text": "P: add\nA: add a0, a1, a2", "prefix": "P: add\nA: ", "input": "add",
             "target": "add a0, a1, a2", "category": "base"},
            {"text": "P: nop\nA: nop", "prefix": "P: nop\nA: ", "input": "nop",
             "target": "nop"}]


def test_held_out_split_prefers_test_then_valid(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(DataError, match="no data/test.jsonl or data/valid.jsonl"):
        held_out_split(tmp_path)
    write_jsonl(data / "valid.jsonl", PREPARED)
    assert held_out_split(tmp_path).name == "valid.jsonl"
    write_jsonl(data / "test.jsonl", PREPARED)
    assert held_out_split(tmp_path).name == "test.jsonl"


def test_prepared_file_is_read_with_categories(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", PREPARED)
    assert is_prepared_file(path)
    examples = read_prepared(path)
    assert [(e.prompt, e.reference, e.category) for e in examples] == [
        ("add", "add a0, a1, a2", "base"), ("nop", "nop", NO_CATEGORY)]
    assert examples[0].prefix == "P: add\nA: " and examples[0].where == f"{path}:1"
    assert len(read_prepared(path, limit=1)) == 1


def test_raw_dataset_goes_through_the_adapters(sample_jsonl):
    assert not is_prepared_file(sample_jsonl)
    examples = read_dataset(DatasetSpec(str(sample_jsonl)), limit=3)
    assert [e.reference for e in examples] == ["add rd, rs1, rs2", "sub rd, rs1, rs2",
                                               "xor rd, rs1, rs2"]
    assert examples[0].prompt.startswith("Add the values")


def test_bad_json_line_is_named(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"input": "a", "target": "b"}\n{oops\n')
    with pytest.raises(DataError, match=r"d.jsonl:2: malformed JSON"):
        read_prepared(path)


def test_cut_at_stop():
    assert cut_at_stop("add a0, a1, a2<|im_end|>junk", ["<|im_end|>"]) == "add a0, a1, a2"
    assert cut_at_stop("nop ### x <|im_end|>", ["<|im_end|>", "###"]) == "nop "
    assert cut_at_stop("nop", []) == "nop"


METRICS = ["exact", "exec_match"]
TUNED = {"overall": {"examples": 4, "exact": 0.5, "exec_match": 0.75, "exec_decided": 4,
                     "exec_undecidable": 0},
         "by_category": {"M": {"examples": 2, "exact": 0.5, "exec_match": 1.0,
                               "exec_decided": 2, "exec_undecidable": 0},
                         "V": {"examples": 2, "exact": 0.5, "exec_match": None,
                               "exec_decided": 0, "exec_undecidable": 2}}}
BASE = {"overall": {"examples": 4, "exact": 0.0, "exec_match": 0.25},
        "by_category": {"M": {"examples": 2, "exact": 0.0, "exec_match": 0.5},
                        "V": {"examples": 2, "exact": 0.0, "exec_match": None}}}


def test_report_has_comparison_categories_and_failures():
    from rvtune.evaluation.scoring import compare

    summary = {"title": "run runs/x", "evaluator": "riscv", "examples": 4, "data": "d.jsonl",
               "run": "runs/x", "settings": {"trials": 16}, "created": "now",
               "metrics": METRICS, "results": TUNED, "base_results": BASE, "chart": "eval.png",
               "comparison": compare(BASE, TUNED, METRICS)}
    rows = [{"where": "d.jsonl:3", "category": "M", "prompt": "multiply",
             "reference": "mul a0, a1, a2", "prediction": "add a0, a1, a2",
             "exact": False, "exec_match": False, "message": "trial 1/16: a0 differs\nmore"}]
    report = render_report(summary, rows)
    assert "| exact | 0.0% | 50.0% | +50.0 pts |" in report
    assert "| exec_match | 25.0% | 75.0% | +50.0 pts |" in report
    assert "| V | 2 | 0.0% → 50.0% | – → – |" in report  # base beside fine-tuned
    assert "| M | 2 | 0.0% → 50.0% | 50.0% → 100.0% |" in report
    assert "| V | +50.0 pts | – |" in report
    assert "Why: trial 1/16: a0 differs" in report and "more" not in report
    assert "![metrics per category](eval.png)" in report
    assert "Metrics: exact no" in report


def test_report_counts_undecidable_causes():
    cause = {"vector instructions: no RVV emulator": 2}
    tuned = {"overall": {**TUNED["overall"], "exec_undecidable": 2,
                         "exec_undecidable_causes": cause},
             "by_category": {"M": TUNED["by_category"]["M"],
                             "V": {**TUNED["by_category"]["V"],
                                   "exec_undecidable_causes": cause}}}
    summary = {"title": "t", "evaluator": "riscv", "examples": 4, "data": "d", "created": "now",
               "metrics": METRICS, "results": tuned}
    report = render_report(summary, [])
    assert "## Undecidable, by cause" in report
    assert "| exec_match | vector instructions: no RVV emulator | 2 | V 2 |" in report


def test_chart_is_a_png_with_base_bars(tmp_path):
    target = write_chart(tmp_path / "c.png", TUNED, METRICS, BASE, title="t")
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name != "c.png"]  # no temp file left
