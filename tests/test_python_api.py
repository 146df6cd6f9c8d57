"""rvtune.prepare / run / export / evaluate from Python: the commands' own code, same errors."""

import subprocess
import sys

import pytest
import yaml
from support import tiny_cache_dir

import rvtune
from rvtune.core.errors import DataError, UsageError


@pytest.fixture
def cache(monkeypatch):
    path = tiny_cache_dir()
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


@pytest.mark.slow
def test_tiny_fine_tune_from_a_run_config_through_the_core(tmp_path, cache, monkeypatch):
    """The core function the command wraps: RunConfig in, RunResult (paths, metrics) out."""
    from rvtune.core.run import RunResult, run

    monkeypatch.chdir(tmp_path)
    config = rvtune.RunConfig(preset="tiny", iters=4, steps_per_eval=2, dataset_size=120,
                              sample_tokens=0, run_dir="runs/core")
    assert config.given == {"preset", "iters", "steps_per_eval", "dataset_size",
                            "sample_tokens", "run_dir"}
    result = run(config)
    assert isinstance(result, RunResult)
    assert result.run_dir == (tmp_path / "runs" / "core").resolve()
    assert result.summary["steps"] == 4 and result.summary["preset"] == "tiny"
    assert (result.adapters / "adapters.safetensors").exists()
    assert [r["step"] for r in result.metrics if r["type"] == "val"][-1] == 4
    saved = yaml.safe_load((result.run_dir / "config.yaml").read_text())["run"]
    assert saved["iters"] == 4 and saved["dataset"] == "riscv"  # given, and the preset's
    assert "run-dir" not in saved and "nproc" not in saved
    assert (tmp_path / "runs" / "latest").resolve() == result.run_dir


def test_a_preset_or_config_file_never_overrides_a_given_field(tmp_path):
    from rvtune.training.tiny import TINY_SETTINGS

    config = rvtune.RunConfig(preset="tiny", learning_rate=1e-3, iters=40)
    resolved = config.resolve(model=False)
    assert resolved.learning_rate == 1e-3 and resolved.iters == 40  # given: kept
    assert resolved.dataset == TINY_SETTINGS["dataset"]  # not given: the preset's
    assert resolved.warmup == TINY_SETTINGS["warmup"] * 40 // TINY_SETTINGS["iters"]
    assert config.learning_rate == 1e-3 and config.dataset != "riscv"  # resolve() copies

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("rank: 4\nrun:\n  learning-rate: 0.005\n  max_seq_length: 128\n")
    resolved = rvtune.RunConfig(config=str(recipe), preset="tiny", rank=8).resolve(model=False)
    assert resolved.rank == 8  # given beats the file
    assert resolved.learning_rate == 0.005 and resolved.max_seq_length == 128  # file beats preset
    assert resolved.from_file == {"learning_rate", "max_seq_length"}
    assert resolved.batch_size == TINY_SETTINGS["batch_size"]


def test_run_config_checks_values_like_the_command_line(tmp_path):
    config = rvtune.RunConfig(iters="12", filter="assembles", target_modules="q_proj,v_proj",
                              pack=False, epochs=None)
    assert config.iters == 12 and config.filters == ("assembles",)
    assert config.given == {"iters", "filters", "target_modules", "pack"}  # None: not given
    for options, message in [({"iters": 2.5}, "--iters must be a whole number"),
                             ({"alpha": float("nan")}, "--alpha: nan is not a finite number"),
                             ({"lr_schedule": "linear"}, "--lr-schedule: 'linear' is not one"),
                             ({"force": "yes"}, "--force must be true or false"),
                             ({"run_dir": ""}, "--run-dir: is empty"),
                             ({"iterz": 3}, "unknown option 'iterz'")]:
        with pytest.raises(UsageError, match=message):
            rvtune.RunConfig(**options)
    with pytest.raises(UsageError, match="not both"):
        rvtune.run(rvtune.RunConfig(preset="tiny"), iters=3)


def test_run_config_defaults_are_the_commands():
    """One default per option: RunConfig's and `rvtune run --help`'s agree (and eval's)."""
    from rvtune.commands.evaluate import evaluate
    from rvtune.commands.run import run
    from rvtune.evaluation.options import KINDS, defaults

    params = run.make_context("run", []).params
    params.pop("print_config")
    assert params == rvtune.RunConfig().options()
    params = evaluate.make_context("eval", []).params
    for name in ("config", "print_config"):
        params.pop(name)
    assert params == defaults() and set(params) == set(KINDS)


def test_ranks_get_the_given_options_of_a_run_config(tmp_path):
    from rvtune.core.run_config import rank_args, read_config_file

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("run:\n  iters: 7\n")
    config = read_config_file(rvtune.RunConfig(
        config=str(recipe), nproc=2, mask_prompt=False, force=True, learning_rate=3e-4,
        target_modules=["q_proj", "v_proj"]))
    args = rank_args(config)
    assert args[:2] == ["--config", str(recipe.resolve())]
    assert "--nproc" not in args and "--iters" not in args  # the ranks read the file
    assert "--no-mask-prompt" in args and "--force" in args
    assert args.count("--target-modules") == 2
    assert args[args.index("--learning-rate") + 1] == "0.0003"


def test_the_core_modules_import_no_click_and_no_heavy_library():
    """The orchestration lives outside the CLI: importing it loads neither click nor MLX."""
    probe = ("import sys\n"
             "import rvtune.api, rvtune.core.run, rvtune.core.run_config, rvtune.core.run_dir\n"
             "import rvtune.core.options, rvtune.export.pipeline, rvtune.evaluation.options\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in {'click', 'mlx', "
             "'mlx_lm', 'datasets', 'transformers'}))\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_run_config_shares_its_defaults_with_the_train_and_prepare_configs():
    """RunConfig is the flat, user-facing view of TrainConfig and PrepareConfig: a field the
    three share has one default, so code that builds the inner configs directly (benchmarks,
    trainer plugins) trains what `rvtune run` would."""
    import dataclasses

    from rvtune.core.jobs import TrainConfig
    from rvtune.core.prepare import PrepareConfig

    run = {f.name: f.default for f in dataclasses.fields(rvtune.RunConfig)}
    for inner in (TrainConfig, PrepareConfig):
        shared = [f for f in dataclasses.fields(inner) if f.name in run
                  and f.default is not dataclasses.MISSING]
        assert shared, inner
        for f in shared:
            # log_to: the command's "none given" (None) is the inner config's no loggers (())
            assert run[f.name] == f.default or (run[f.name], f.default) == (None, ()), (
                inner.__name__, f.name)
