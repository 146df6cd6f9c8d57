"""The training loop's step pipeline: no per-step host sync, a visible cold start, and the
first validation (step 0, the base model) reported after the first training report."""

import json

import pytest

pytestmark = pytest.mark.slow


def test_cold_start_is_announced_and_step0_validation_is_deferred(make_job, tmp_path,
                                                                   monkeypatch):
    import mlx.core as mx

    from rvtune.core.jobs import TrainConfig
    from rvtune.plugins.mlx_trainer import MlxTrainer
    from rvtune.training.data import Batches, encode_rows, masked_loss, read_rows
    from rvtune.training.lora import apply_lora
    from rvtune.training.model import load_base
    from rvtune.training.progress import compile_seconds

    monkeypatch.setenv("RVTUNE_CACHE", str(tmp_path / "cache"))
    job = make_job(iters=8, steps_per_report=4, steps_per_eval=100, save_every=8,
                   val_batches=2)
    MlxTrainer().train(job)
    records = [json.loads(line) for line in
               (job.run_dir / "metrics.jsonl").read_text().splitlines()]
    kinds = [(r["type"], r["step"]) for r in records]
    assert kinds == [("train", 4), ("val", 0), ("train", 8), ("val", 8)]
    assert all(r["compiled_shapes"] >= 1 for r in records if r["type"] == "train")
    lines = "\n".join(job.lines)
    assert "Compiling the training step" in lines and "First step done in" in lines
    assert "Compiling validation" in lines
    assert "validation loss" in lines and "before training" in lines
    cfg = job.config
    assert compile_seconds(f"{mx.default_device()}|{cfg.model}|bits {cfg.bits}|"
                           f"batch {cfg.batch_size}") is not None

    # The deferred step-0 validation is the untrained model's loss on the same batches.
    model, tokenizer, _c, _q = load_base(cfg.model, cfg.bits, cfg.group_size)
    apply_lora(model, TrainConfig(**{k: getattr(cfg, k) for k in (
        "rank", "alpha", "dropout", "target_modules", "num_layers")}))
    model.eval()
    data = encode_rows(read_rows(job.data_dir / "valid.jsonl"), tokenizer, has_bos=False,
                       mask_prompt=True, max_seq_length=cfg.max_seq_length)
    valid = Batches(data, min(cfg.batch_size, len(data)), cfg.seed, cfg.max_seq_length)
    total = count = 0.0
    for index in range(2):
        tokens, lengths, _ = valid.batch(index)
        value, ntoks = masked_loss(model, tokens, lengths)
        total += float(value) * int(ntoks)
        count += int(ntoks)
    assert records[1]["val_loss"] == pytest.approx(total / count, rel=1e-5)


def test_cuda_kernel_cache_is_reported_before_the_first_step(tmp_path, monkeypatch):
    """On a CUDA machine the notice says whether MLX's kernel cache is empty (minutes of
    compilation ahead) or how many modules it holds; elsewhere there is no such note."""
    import mlx.core as mx

    from rvtune.training.progress import cuda_kernel_cache, kernel_note

    monkeypatch.setenv("MLX_PTX_CACHE_DIR", str(tmp_path / "ptx"))
    assert cuda_kernel_cache() == tmp_path / "ptx"
    if not (getattr(mx, "cuda", None) and mx.cuda.is_available()):
        assert kernel_note() is None
        # The machine's GPU is the environment, not the code under test: pretend one.
        monkeypatch.setattr(mx, "cuda", type("Cuda", (), {"is_available": staticmethod(
            lambda: True)}), raising=False)
    assert "first MLX run on this machine" in kernel_note()
    (tmp_path / "ptx").mkdir()
    for name in ("a", "b"):
        (tmp_path / "ptx" / f"{name}.ptx").write_bytes(b"x")
    assert kernel_note().startswith("2 compiled CUDA kernel modules cached in")
