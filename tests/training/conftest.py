"""Shared fixtures for the training tests: the tiny model, prepared data, a job factory."""

from pathlib import Path

import pytest
from support import tiny_cache_dir

pytest.importorskip("mlx.core")
pytest.importorskip("mlx_lm")


@pytest.fixture(scope="session")
def tiny_model():
    """The tiny preset's model, built once into a cache shared by test sessions."""
    from rvtune.training.tiny import tiny_model_path

    cache = tiny_cache_dir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVTUNE_CACHE", cache)
        return tiny_model_path()


@pytest.fixture(scope="session")
def loaded_tiny(tiny_model):
    """(model, tokenizer) of the tiny model, quantized like training does; do not mutate."""
    from rvtune.training.model import load_base

    model, tokenizer, _config, _quant = load_base(tiny_model, 4, 64)
    return model, tokenizer


def prepare_data(out: Path, formatter: str = "chatml", size: int = 240, seed: int = 0,
                 valid_fraction: float = 0.1) -> Path:
    """Built-in RISC-V rows prepared with ``formatter`` into ``out``."""
    from rvtune.core.datasets import DatasetSpec
    from rvtune.core.prepare import PrepareConfig, prepare

    prepare(PrepareConfig(dataset=DatasetSpec(source="riscv", size=size, seed=seed),
                          out=str(out), formatter=formatter, seed=seed,
                          valid_fraction=valid_fraction))
    return out


@pytest.fixture(scope="session")
def chatml_data(tmp_path_factory):
    return prepare_data(tmp_path_factory.mktemp("data") / "chatml")


@pytest.fixture
def make_job(tiny_model, chatml_data, tmp_path):
    """Build a small :class:`TrainJob` on the tiny model; keyword arguments set options."""
    from rvtune.core.jobs import TrainConfig, TrainJob
    from rvtune.training.progress import RunLog

    def make(run_dir=None, data_dir=None, resume=False, callbacks=(), **options):
        settings = dict(model=str(tiny_model), iters=12, batch_size=4, learning_rate=2e-3,
                        steps_per_report=1, steps_per_eval=6, val_batches=2, save_every=4,
                        max_seq_length=128, seed=0)
        settings.update(options)
        run_dir = Path(run_dir or tmp_path / "run")
        lines = []
        log = RunLog(run_dir / "run.log", echo=lines.append)
        job = TrainJob(TrainConfig(**settings), Path(data_dir or chatml_data), run_dir,
                       resume=resume, callbacks=list(callbacks), log=log)
        job.lines = lines
        return job

    return make
