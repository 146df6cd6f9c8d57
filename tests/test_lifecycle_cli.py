"""Epochs, the best adapter and --checkpoint through the real CLI and rvtune.load."""

import json
import os
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from rvtune.cli import cli


@pytest.fixture
def cli_in(monkeypatch, tmp_path):
    from rvtune.training.tiny import TINY_VERSION

    cache = os.environ.get("RVTUNE_TEST_CACHE") or str(
        Path(tempfile.gettempdir()) / f"rvtune-test-cache-v{TINY_VERSION}")
    monkeypatch.setenv("RVTUNE_CACHE", cache)
    monkeypatch.chdir(tmp_path)

    def invoke(*args):
        return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)

    return invoke


def one_error(result):
    assert result.exit_code != 0, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    return errors[0]


def test_iters_and_epochs_together_is_one_line(cli_in):
    error = one_error(cli_in("run", "--preset", "tiny", "--iters", "5", "--epochs", "2"))
    assert "--iters 5 and --epochs 2: give one" in error
    assert "--epochs 0: must be a positive" in one_error(cli_in("run", "--preset", "tiny",
                                                                "--epochs", "0"))


@pytest.mark.slow
def test_epochs_best_adapter_and_checkpoint_choice(cli_in, tmp_path):
    import numpy as np

    import rvtune.inference
    from rvtune.export.adapter import read_adapter

    result = cli_in("run", "--preset", "tiny", "--dataset-size", "60", "--epochs", "2",
                    "--steps-per-eval", "4", "--save-every", "4", "--keep-checkpoints", "20",
                    "--sample-tokens", "0", "--run-dir", "r")
    assert result.exit_code == 0, result.output
    run = tmp_path / "r"
    rows = json.loads((run / "data" / "manifest.json").read_text())["counts"]["train"]
    per_epoch = -(-rows // 4)
    assert f"--epochs 2: {per_epoch} steps per epoch ({rows} rows, batch 4)" in result.output
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 2 * per_epoch and summary["epochs"] == 2.0
    vals = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    vals = [r for r in vals if r["type"] == "val"]
    best = min(vals, key=lambda r: r["val_loss"])
    assert summary["best"]["step"] == best["step"]
    assert summary["best"]["val_loss"] == pytest.approx(best["val_loss"])

    loaded = rvtune.inference.load_loaded(str(run))
    assert Path(loaded.adapter.source).name == "best-adapters"
    assert cli_in("export", "--run", run, "--format", "npz", "--out", "best.npz").exit_code == 0
    assert cli_in("export", "--run", run, "--format", "npz", "--checkpoint", "last", "--out",
                  "last.npz").exit_code == 0
    assert cli_in("export", "--run", run, "--format", "npz", "--checkpoint", "8", "--out",
                  "eight.npz").exit_code == 0
    for name, source in (("best.npz", run / "best-adapters"), ("last.npz", run / "adapters"),
                         ("eight.npz", run / "checkpoints" / "step-0000008")):
        got, want = read_adapter(tmp_path / name), read_adapter(source)
        for key, value in want.weights.items():
            np.testing.assert_array_equal(got.weights[key], value)
    error = one_error(cli_in("export", "--run", run, "--format", "npz", "--checkpoint", "3"))
    last = 2 * per_epoch
    saved = [*range(4, last + 1, 4)] + ([last] if last % 4 else [])
    steps = ", ".join(map(str, saved))
    assert "--checkpoint 3: run" in error and f"it has: {steps} (or use best / last)" in error
    generated = cli_in("generate", "--run", run, "--checkpoint", "last", "--max-tokens", "4",
                       "Add a0 and a1 into a2.")
    assert generated.exit_code == 0, generated.output
    evaluated = cli_in("eval", "--run", run, "--checkpoint", "8", "--limit", "2",
                       "--no-compare-base", "--max-tokens", "8", "--generate-only",
                       "--out", "ev")
    assert evaluated.exit_code == 0, evaluated.output
    assert "with adapter " in evaluated.output and "step-0000008" in evaluated.output
