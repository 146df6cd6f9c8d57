"""Sequence packing: a packed batch computes what the same rows compute unpacked."""

import json

import pytest

from rvtune.training.packing import layout, pack_rows


def test_layout_puts_every_row_once_within_the_width():
    lengths = [45, 12, 120, 60, 60, 33, 7, 90, 101, 64]
    bins, columns = layout(lengths, 256)
    placed = sorted(j for members in bins for j in members)
    assert placed == list(range(len(lengths)))
    assert len(bins) == 3  # 592 tokens need three sequences of at most 256
    assert max(sum(lengths[j] for j in members) for members in bins) <= columns <= 256
    assert columns % 32 == 0


def test_row_map_marks_each_rows_loss_tokens():
    seqs = [[1, 2, 3, 4], [5, 6, 7], [8, 9]]
    spans = [[(2, 4)], [(1, 3)], [(1, 2)]]
    tokens, rows = pack_rows(seqs, spans, 16)
    assert tokens.shape == rows.shape == (1, 16)  # 9 tokens, capped at the width
    assert sorted(tokens[0, :9].tolist()) == list(range(1, 10))
    assert not rows[0, 9:].any() and not tokens[0, 9:].any()
    for k, (seq, pairs) in enumerate(zip(seqs, spans), 1):
        where = [p for p in range(9) if abs(rows[0, p]) == k]
        assert tokens[0, where].tolist() == seq  # contiguous, in order
        loss = [i for i, p in enumerate(where) if rows[0, p] > 0]
        assert loss == [i for a, b in pairs for i in range(a, b)]


def _batches(tiny_data, size, pack_width):
    from rvtune.training.data import Batches

    return Batches(tiny_data, size, 0, 512, pack_width=pack_width)


@pytest.fixture(scope="module")
def tiny_data(loaded_tiny, chatml_data):
    from rvtune.training.data import encode_rows, read_rows

    _model, tokenizer = loaded_tiny
    rows = read_rows(chatml_data / "train.jsonl")[:40]
    return encode_rows(rows, tokenizer, has_bos=False, mask_prompt=True, max_seq_length=128)


def test_packed_logits_loss_and_gradients_equal_unpacked(loaded_tiny, tiny_data, tiny_model):
    import mlx.core as mx
    import mlx.nn as nn
    import numpy as np
    from mlx.utils import tree_flatten

    from rvtune.core.jobs import TrainConfig
    from rvtune.training.data import masked_loss
    from rvtune.training.lora import apply_lora
    from rvtune.training.model import load_base
    from rvtune.training.packing import packed_logits

    model, _tok = loaded_tiny
    plain = _batches(tiny_data, 8, None)
    packed = _batches(tiny_data, 8, 512)
    for step in range(3):
        tokens, lengths, n = plain.batch(step)
        ptokens, rows, pn = packed.batch(step)
        assert n == pn and rows.ndim == 3 and ptokens.shape[0] < tokens.shape[0]
        logits = np.array(model(tokens[:, :-1]))
        plogits = np.array(packed_logits(model, ptokens[:, :-1], rows[:, 0, :-1]))
        row_map = np.array(rows[:, 0, :])
        for j in range(tokens.shape[0]):
            length = int(lengths[j, 1])
            seq, col = np.nonzero(np.abs(row_map) == j + 1)
            assert len(col) == length
            got = plogits[seq[:-1], col[:-1]]  # positions predicting tokens 1..length-1
            np.testing.assert_allclose(got, logits[j, :length - 1], atol=2e-4, rtol=1e-4)
        (value, ntoks), (pvalue, pntoks) = (masked_loss(model, tokens, lengths),
                                            masked_loss(model, ptokens, rows))
        assert int(ntoks) == int(pntoks) > 0
        assert abs(float(value) - float(pvalue)) < 1e-5

    # Gradients of the LoRA weights, with B non-zero so that every adapter matters.
    fresh, _t, _c, _q = load_base(tiny_model, 4, 64)
    mx.random.seed(0)
    apply_lora(fresh, TrainConfig(rank=4, alpha=8))
    fresh.update(_perturbed(fresh))
    grad_fn = nn.value_and_grad(fresh, masked_loss)
    tokens, lengths, _ = plain.batch(0)
    ptokens, rows, _ = packed.batch(0)
    (_, _), grads = grad_fn(fresh, tokens, lengths)
    (_, _), pgrads = grad_fn(fresh, ptokens, rows)
    for (name, g), (_, pg) in zip(tree_flatten(grads), tree_flatten(pgrads)):
        np.testing.assert_allclose(np.array(pg), np.array(g), atol=1e-5, rtol=1e-3,
                                   err_msg=name)


def _perturbed(model):
    import mlx.core as mx
    from mlx.utils import tree_flatten, tree_unflatten

    out = []
    for name, value in tree_flatten(model.trainable_parameters()):
        if name.endswith("lora_b"):
            value = 0.01 * mx.random.normal(value.shape, key=mx.random.key(len(out)))
        out.append((name, value))
    return tree_unflatten(out)


@pytest.mark.slow
def test_packed_training_follows_the_unpacked_loss_curve(make_job, tmp_path):
    from rvtune.plugins.mlx_trainer import MlxTrainer

    curves = {}
    for pack in (False, True):
        job = make_job(run_dir=tmp_path / f"pack-{pack}", iters=12, batch_size=8,
                       steps_per_report=3, steps_per_eval=6, save_every=12,
                       max_seq_length=512, pack=pack)
        MlxTrainer().train(job)
        lines = (job.run_dir / "metrics.jsonl").read_text().splitlines()
        curves[pack] = [(r["type"], r["step"], r.get("loss", r.get("val_loss")))
                        for r in map(json.loads, lines)]
        if pack:
            assert any("Packing rows into sequences" in line for line in job.lines)
    assert [c[:2] for c in curves[True]] == [c[:2] for c in curves[False]]
    for (_, _, packed), (_, _, plain) in zip(curves[True], curves[False]):
        assert packed == pytest.approx(plain, rel=2e-3)


def test_padded_widths_are_few_and_waste_under_an_eighth():
    from rvtune.training.data import padded_width

    widths = {padded_width(n, 2048) for n in range(1, 2049)}
    assert len(widths) == 40  # instead of 128 multiples of 16
    for n in range(1, 2049):
        width = padded_width(n, 2048)
        assert n <= width <= 2048 and width % 16 == 0
        assert width - n < max(16, n / 8)
    assert padded_width(250, 256) == 256  # capped at --max-seq-length
