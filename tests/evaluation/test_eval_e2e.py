"""End to end on the tiny run: `rvtune eval` through the real CLI, and batched generation."""

import json

import pytest
from eval_helpers import read_jsonl, run_rvtune
from support import tiny_cache_dir

pytestmark = pytest.mark.slow

METRICS = ["exact", "mnemonic_first", "mnemonic_all", "operand_form", "assembles",
           "encoding_match", "exec_match"]


def tiny_cache() -> str:
    """The tiny model cache the training tests use too (built once, shared)."""
    return tiny_cache_dir()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A run directory from `rvtune run --preset tiny` with a few steps and a test split."""
    pytest.importorskip("mlx_lm")
    run_dir = tmp_path_factory.mktemp("eval-run") / "tiny"
    run_rvtune("run", "--preset", "tiny", "--iters", 4, "--warmup", 0, "--dataset-size", 160,
               "--test-fraction", 0.1, "--steps-per-eval", 4, "--save-every", 4,
               "--sample-tokens", 0, "--run-dir", run_dir,
               env={"RVTUNE_CACHE": tiny_cache()}, check=True)
    return run_dir


def test_eval_run_writes_everything_and_compares_with_base(rvtune_cli, tiny_run):
    proc = rvtune_cli("eval", "--run", tiny_run, "--limit", 8, "--max-tokens", 24,
                      "--trials", 2)
    assert proc.returncode == 0, proc.stderr
    out = tiny_run / "eval"
    assert sorted(p.name for p in out.iterdir()) == ["eval.json", "eval.jsonl", "eval.png",
                                                     "report.md"]
    assert "generating" in proc.stderr and "8/8" in proc.stderr  # the progress bar

    test_rows = read_jsonl(tiny_run / "data" / "test.jsonl")
    rows = read_jsonl(out / "eval.jsonl")
    assert len(rows) == 8
    for row, source in zip(rows, test_rows):
        assert row["prompt"] == source["input"] and row["reference"] == source["target"]
        assert row["category"] == source["category"]
        assert isinstance(row["prediction"], str) and "<|im_end|>" not in row["prediction"]
        assert all(isinstance(row[m], bool) or (m == "exec_match" and row[m] is None)
                   for m in METRICS)
        assert isinstance(row["message"], str)
        assert set(row["base"]) == {"prediction", *METRICS, "message", "exec_reason"}
        assert (row["exec_reason"] is None) == (row["exec_match"] is not None)

    summary = json.loads((out / "eval.json").read_text())
    assert summary["examples"] == 8 and summary["metrics"] == METRICS
    assert summary["data"].endswith("test.jsonl")
    assert summary["adapter"].endswith("adapters")
    assert summary["results"]["overall"]["examples"] == 8
    assert set(summary["results"]["by_category"]) == {r["category"] for r in rows}
    assert summary["base_results"]["overall"]["examples"] == 8
    assert set(summary["comparison"]["overall"]) == set(METRICS)
    for metric, entry in summary["comparison"]["overall"].items():
        assert set(entry) == {"base", "fine_tuned", "delta"}
        assert entry["fine_tuned"] == summary["results"]["overall"][metric]
    for key in ("tuned_load_s", "tuned_generation_s", "base_generation_s", "scoring_s",
                "examples_per_s"):
        assert summary["timing"][key] is not None, key
    report = (out / "report.md").read_text()
    assert "## Base model vs fine-tuned" in report and "| metric | base | fine-tuned | change |" \
        in report
    assert (out / "eval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_model_and_adapter_file_on_a_raw_dataset(rvtune_cli, tiny_run, tmp_path):
    """--model + an adapters.npz, --data through the dataset adapters, no base comparison."""
    import yaml

    model = yaml.safe_load((tiny_run / "config.yaml").read_text())["run"]["model"]
    out = tmp_path / "ev"
    proc = rvtune_cli("eval", "--model", model, "--adapter", tiny_run / "adapters.npz",
                      "--data", "riscv", "--dataset-size", 40, "--limit", 4,
                      "--no-compare-base", "--max-tokens", 16, "--trials", 1,
                      "--batch-size", 2, "--out", out)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "eval.json").read_text())
    assert summary["examples"] == 4 and summary["data"] == "riscv"
    assert "comparison" not in summary and "base" not in read_jsonl(out / "eval.jsonl")[0]


def test_batched_generation_matches_one_at_a_time(tiny_run):
    from rvtune.evaluation.examples import read_prepared
    from rvtune.evaluation.generate import generate_batch
    from rvtune.export.loading import read_run
    from rvtune.inference import load_loaded, prompt_format

    run = read_run(tiny_run)
    loaded = load_loaded(run=run)
    fmt = prompt_format(run=run)
    prompts = [fmt.render(e.prompt) for e in read_prepared(tiny_run / "data" / "test.jsonl", 6)]
    done = []
    batched = generate_batch(loaded.model, loaded.tokenizer, prompts, batch_size=4,
                             max_tokens=12, stop_strings=fmt.stop_strings, progress=done.append)
    single = generate_batch(loaded.model, loaded.tokenizer, prompts, batch_size=1,
                            max_tokens=12, stop_strings=fmt.stop_strings)
    assert done == [1, 2, 3, 4, 5, 6]
    assert batched == single



def test_generate_only_writes_predictions_that_score_like_a_full_eval(rvtune_cli, tiny_run,
                                                                      tmp_path):
    env = {"RVTUNE_CACHE": tiny_cache()}
    common = ("--run", tiny_run, "--limit", 6, "--max-tokens", 16)
    proc = run_rvtune("eval", *common, "--generate-only", "--out", tmp_path / "gen", env=env)
    assert proc.returncode == 0, proc.stderr
    tuned = read_jsonl(tmp_path / "gen" / "predictions.jsonl")
    base = read_jsonl(tmp_path / "gen" / "base-predictions.jsonl")
    assert len(tuned) == len(base) == 6
    assert not (tmp_path / "gen" / "eval.json").exists()  # nothing scored
    full = run_rvtune("eval", *common, "--trials", 2, "--out", tmp_path / "full", env=env)
    assert full.returncode == 0, full.stderr
    rows = read_jsonl(tmp_path / "full" / "eval.jsonl")
    assert [r["prediction"] for r in tuned] == [r["prediction"] for r in rows]
    assert [r["prediction"] for r in base] == [r["base"]["prediction"] for r in rows]
    scored = run_rvtune("eval", "--predictions", tmp_path / "gen" / "predictions.jsonl",
                        "--trials", 2, "--out", tmp_path / "scored", env=env)
    assert scored.returncode == 0, scored.stderr
    again = json.loads((tmp_path / "scored" / "eval.json").read_text())["results"]["overall"]
    first = json.loads((tmp_path / "full" / "eval.json").read_text())["results"]["overall"]
    assert {m: again[m] for m in METRICS} == {m: first[m] for m in METRICS}


def test_checked_decoding_keeps_passing_answers_and_replaces_only_with_passing_ones(tiny_run,
                                                                                   tmp_path):
    env = {"RVTUNE_CACHE": tiny_cache()}
    common = ("--run", tiny_run, "--limit", 12, "--max-tokens", 16, "--trials", 0,
              "--no-compare-base")
    greedy = run_rvtune("eval", *common, "--out", tmp_path / "greedy", env=env)
    assert greedy.returncode == 0, greedy.stderr
    checked = run_rvtune("eval", *common, "--check-samples", 6, "--check-temperature", 1.0,
                         "--out", tmp_path / "checked", env=env)
    assert checked.returncode == 0, checked.stderr
    before = read_jsonl(tmp_path / "greedy" / "eval.jsonl")
    after = read_jsonl(tmp_path / "checked" / "eval.jsonl")
    changed = 0
    for old, new in zip(before, after):
        if old["assembles"]:
            assert new["prediction"] == old["prediction"]
        elif new["prediction"] != old["prediction"]:
            changed += 1
            assert new["assembles"], new
    summary = json.loads((tmp_path / "checked" / "eval.json").read_text())
    info = summary["checked_decoding"]["tuned"]
    assert info["rejected"] == sum(1 for r in before if not r["assembles"] or
                                   not r["prediction"].strip())
    assert info["replaced"] == changed and summary["settings"]["check_samples"] == 6
    rates = [json.loads((tmp_path / d / "eval.json").read_text())["results"]["overall"]
             ["assembles"] for d in ("greedy", "checked")]
    assert rates[1] >= rates[0]
    assert "Checked decoding" in checked.stderr


def test_checked_decoding_options_are_checked(tiny_run):
    proc = run_rvtune("eval", "--run", tiny_run, "--check-samples", -1)
    assert proc.returncode == 2 and "--check-samples -1: must be 0 (off) or more" in proc.stderr
    proc = run_rvtune("eval", "--run", tiny_run, "--check-samples", 2, "--check-temperature", 0)
    assert proc.returncode == 2 and "--check-temperature 0.0: must be above 0" in proc.stderr


class OddLength:
    """Evaluator whose check passes answers of odd length (a real check that sampling can
    pass, to exercise replacement)."""

    name = "odd-length"
    metrics = ("odd",)

    def score(self, references, predictions):
        return [{"odd": len(p) % 2 == 1} for p in predictions]

    def accepts(self, predictions):
        return [len(p) % 2 == 1 for p in predictions]


def test_checked_decoding_replaces_rejected_answers_with_passing_samples(tiny_run, tmp_path,
                                                                         monkeypatch):
    import rvtune
    from rvtune.core.plugins import register_plugin, unregister_plugin
    from rvtune.evaluation.pipeline import EvalConfig, evaluate

    class Plugin:
        @staticmethod
        @rvtune.hookimpl
        def register_evaluators(register):
            register(OddLength)

    monkeypatch.setenv("RVTUNE_CACHE", tiny_cache())
    register_plugin(Plugin, "odd-length-test")
    try:
        common = dict(run=str(tiny_run), limit=12, max_tokens=9, evaluator="odd-length",
                      compare_base=False)
        greedy = evaluate(EvalConfig(**common, out=str(tmp_path / "g")))
        checked = evaluate(EvalConfig(**common, out=str(tmp_path / "c"), check_samples=4,
                                      check_temperature=1.5))
    finally:
        unregister_plugin("odd-length-test")
    info = checked.summary["checked_decoding"]["tuned"]
    before = [r["prediction"] for r in greedy.rows]
    after = [r["prediction"] for r in checked.rows]
    assert info["rejected"] == sum(len(p) % 2 == 0 for p in before) > 0
    assert info["replaced"] == sum(a != b for a, b in zip(after, before)) > 0
    assert all(len(b) % 2 == 0 and len(a) % 2 == 1 for a, b in zip(after, before) if a != b)
    assert all(a == b for a, b in zip(after, before) if len(b) % 2 == 1)
    assert [r.get("unchecked_prediction", r["prediction"]) for r in checked.rows] == before
