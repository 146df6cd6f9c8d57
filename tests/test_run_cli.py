"""``rvtune run`` through the real CLI: bad input gives one-line errors; the tiny preset
runs end to end into the documented run directory and resumes."""

import json
import os
import tempfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rvtune.cli import cli


@pytest.fixture(scope="session")
def tiny_cache():
    from rvtune.training.tiny import TINY_VERSION, tiny_model_path

    cache = os.environ.get("RVTUNE_TEST_CACHE") or str(
        Path(tempfile.gettempdir()) / f"rvtune-test-cache-v{TINY_VERSION}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVTUNE_CACHE", cache)
        path = tiny_model_path()
    return cache, path


@pytest.fixture
def invoke(tiny_cache, monkeypatch, tmp_path):
    monkeypatch.setenv("RVTUNE_CACHE", tiny_cache[0])
    monkeypatch.chdir(tmp_path)

    def run(*args):
        return CliRunner().invoke(cli, ["run", *map(str, args)], catch_exceptions=False)

    return run


def assert_one_line_error(result, *needles):
    assert result.exit_code != 0, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in errors[0], result.output


def test_help_lists_every_trainer_option():
    result = CliRunner().invoke(cli, ["run", "--help"])
    assert result.exit_code == 0
    for option in ("--model", "--preset", "--trainer", "--bits", "--group-size", "--rank",
                   "--alpha", "--dropout", "--target-modules", "--num-layers", "--batch-size",
                   "--iters", "--learning-rate", "--warmup", "--lr-schedule",
                   "--grad-accumulation", "--grad-checkpoint", "--max-seq-length",
                   "--mask-prompt", "--steps-per-report", "--steps-per-eval", "--val-batches",
                   "--save-every", "--seed", "--run-dir", "--resume", "--force",
                   "--sample-prompt", "--config", "--dataset", "--formatter"):
        assert option in result.output, option


@pytest.mark.parametrize("args,needles", [
    (["--trainer", "nope"], ["unknown trainer 'nope'", "mlx"]),
    (["--rank", "0"], ["--rank 0"]),
    (["--rank", "-4"], ["--rank -4"]),
    (["--iters", "0"], ["--iters 0"]),
    (["--lr-schedule", "cosine", "--warmup", "50", "--iters", "20"], ["--warmup 50"]),
    (["--bits", "7"], ["--bits 7"]),
], ids=["trainer", "rank0", "rank-neg", "iters0", "warmup", "bits"])
def test_bad_options_fail_in_one_line(invoke, tiny_cache, sample_jsonl, args, needles):
    result = invoke("--model", tiny_cache[1], "--dataset", sample_jsonl, *args)
    assert_one_line_error(result, *needles)


def test_batch_larger_than_training_set(invoke, tiny_cache, sample_jsonl):
    result = invoke("--model", tiny_cache[1], "--dataset", sample_jsonl, "--batch-size", "64")
    assert_one_line_error(result, "--batch-size 64", "larger than the training set")


def test_model_path_that_is_not_a_model(invoke, sample_jsonl, tmp_path):
    (tmp_path / "notamodel").mkdir()
    result = invoke("--model", tmp_path / "notamodel", "--dataset", sample_jsonl)
    assert_one_line_error(result, "notamodel", "not a model directory")
    result = invoke("--model", "./no/such/dir", "--dataset", sample_jsonl)
    assert_one_line_error(result, "no such directory")
    result = invoke("--model", "nobody/no-such-model", "--dataset", sample_jsonl)
    assert_one_line_error(result, "nobody/no-such-model", "Hugging Face cache")


def test_dataset_too_small_for_a_validation_split(invoke, tiny_cache, tmp_path):
    data = tmp_path / "one.jsonl"
    data.write_text(json.dumps({"description": "Add a0 and a1 into a2.",
                                "instructions": "add a2, a0, a1"}) + "\n")
    result = invoke("--model", tiny_cache[1], "--dataset", data)
    assert_one_line_error(result, "too few", "--valid-fraction")


def test_target_module_that_matches_nothing(invoke, tiny_cache, sample_jsonl):
    result = invoke("--model", tiny_cache[1], "--dataset", sample_jsonl, "--batch-size", "2",
                    "--target-modules", "q_proj,wq")
    assert_one_line_error(result, "--target-modules wq", "available")


def test_print_config_shows_the_reference_recipe(invoke):
    result = invoke("--print-config")
    assert result.exit_code == 0
    config = yaml.safe_load(result.output)["run"]
    assert config["model"] == "mistralai/Mistral-7B-Instruct-v0.3"
    assert config["bits"] == 4 and config["rank"] == 16 and config["alpha"] == 16
    assert config["batch-size"] == 4 and config["iters"] == 600
    assert config["learning-rate"] == 1e-5
    assert len(config["target-modules"]) == 7


@pytest.mark.slow
def test_tiny_preset_end_to_end_then_resume(invoke, tmp_path):
    run_dir = tmp_path / "run"
    result = invoke("--preset", "tiny", "--iters", "20", "--steps-per-eval", "10",
                    "--save-every", "10", "--run-dir", run_dir, "--sample-tokens", "8")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "proves the pipeline" in out and "not useful" in out
    for name in ("config.yaml", "data/train.jsonl", "data/valid.jsonl", "data/manifest.json",
                 "checkpoints/step-0000010/state.json", "checkpoints/step-0000020/state.json",
                 "adapters/adapters.safetensors", "adapters/adapter_config.json",
                 "adapters.npz", "metrics.jsonl", "loss.png", "run.log", "summary.json"):
        assert (run_dir / name).exists(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] == 20 and summary["preset"] == "tiny"
    assert isinstance(summary["sample"]["output"], str) and summary["sample"]["prompt"]
    config = yaml.safe_load((run_dir / "config.yaml").read_text())["run"]
    assert config["iters"] == 20 and config["dataset"] == "riscv"
    assert "Trainable parameters" in (run_dir / "run.log").read_text()

    # a resumed run may train longer, but not change what it trains
    changed = invoke("--resume", run_dir, "--rank", "8")
    assert_one_line_error(changed, "--rank cannot change when resuming")
    more = invoke("--resume", run_dir, "--iters", "24", "--sample-tokens", "0")
    assert more.exit_code == 0, more.output
    assert "Resuming from" in more.output and "step 20 of 24" in more.output
    steps = [json.loads(line)["step"] for line in
             (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1] == 24
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["run"]["iters"] == 24


def test_new_run_refuses_a_used_run_dir(invoke, tiny_cache, sample_jsonl, tmp_path):
    used = tmp_path / "used"
    used.mkdir()
    (used / "x").write_text("x")
    result = invoke("--model", tiny_cache[1], "--dataset", sample_jsonl, "--run-dir", used)
    assert_one_line_error(result, "--run-dir", "--resume")


def test_runs_latest_points_at_the_newest_run(tmp_path):
    from rvtune.core.run_dir import point_latest_at as _point_latest_at

    runs = tmp_path / "runs"
    for name in ("a", "b"):
        (runs / name).mkdir(parents=True)
        _point_latest_at(runs / name)
        assert (runs / "latest").resolve() == (runs / name).resolve()
    other = tmp_path / "elsewhere" / "c"
    other.mkdir(parents=True)
    _point_latest_at(other)
    assert not (other.parent / "latest").exists()
