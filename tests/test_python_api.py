"""rvtune.prepare / run / export / evaluate from Python: the commands' own code, same errors."""

import os
import tempfile
from pathlib import Path

import pytest

import rvtune
from rvtune.core.errors import DataError, UsageError


@pytest.fixture
def cache(monkeypatch):
    from rvtune.training.tiny import TINY_VERSION

    path = os.environ.get("RVTUNE_TEST_CACHE") or str(
        Path(tempfile.gettempdir()) / f"rvtune-test-cache-v{TINY_VERSION}")
    monkeypatch.setenv("RVTUNE_CACHE", path)
    return path


@pytest.mark.slow
def test_tiny_fine_tune_end_to_end_from_python(tmp_path, cache, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = rvtune.prepare(dataset="riscv", dataset_size=120, formatter="chatml",
                          out=str(tmp_path / "data"))
    assert data.manifest["counts"]["train"] > 90

    result = rvtune.run(preset="tiny", iters=6, steps_per_eval=3, dataset_size=160,
                        test_fraction=0.1, sample_tokens=4, run_dir=str(tmp_path / "run"))
    assert result.run_dir == (tmp_path / "run").resolve()
    assert result.summary["steps"] == 6 and result.adapters.exists()
    assert [r["step"] for r in result.metrics if r["type"] == "val"][-1] == 6

    written = rvtune.export(run=str(result.run_dir), format="mlx")
    assert (written / "adapters.safetensors").exists()

    evaluation = rvtune.evaluate(run=str(result.run_dir), limit=3, max_tokens=8, trials=0,
                                 compare_base=False)
    assert evaluation.summary["examples"] == 3
    assert set(evaluation.summary["results"]["overall"]) >= {"exact", "assembles"}

    model, tokenizer = rvtune.load(result.run_dir)  # and into mlx_lm
    from mlx_lm import generate

    assert isinstance(generate(model, tokenizer, prompt="x", max_tokens=2), str)


def test_errors_are_the_commands_one_liners(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="unknown option 'iterz'"):
        rvtune.run(preset="tiny", iterz=3)
    with pytest.raises(UsageError, match="--learning-rate"):
        rvtune.run(preset="tiny", learning_rate="fast")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"description": "x"}\n')
    with pytest.raises(DataError, match="bad.jsonl:1"):
        rvtune.prepare(dataset=str(bad), out=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
