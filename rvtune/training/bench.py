"""Measure rvtune's training step in isolation (used by ``benchmarks/qlora_step.py``).

It runs exactly the step the trainer runs (:func:`rvtune.training.loop.make_step` with
:func:`rvtune.training.data.masked_loss`), so a benchmark of it is a benchmark of training.
"""

import time


def measure_steps(model, data, *, batch_size: int, max_seq_length: int, warmup: int = 3,
                  steps: int = 10, fast_qmm: str = "auto", grad_checkpoint: bool = False,
                  learning_rate: float = 1e-5, forward_rows: int | None = None):
    """Run ``warmup`` then ``steps`` training steps on ``data`` (rows of ``(ids, offset)``).

    Returns ``(tokens_per_second, peak_memory_gb)`` over the timed steps, counting every
    predicted position (batch x (length - 1)) as a token, as mlx-lm's report does.
    """
    import mlx.core as mx
    import mlx.optimizers as optim
    import numpy as np

    from . import qmm_vjp
    from .data import masked_loss
    from .lora import use_lean_inputs
    from .loop import enable_grad_checkpoint, make_step

    use_lean_inputs(model)  # as apply_lora does for training
    if qmm_vjp.wanted(fast_qmm):
        qmm_vjp.enable(model, forward_rows=forward_rows,
                       backward_rows=qmm_vjp.backward_rows(fast_qmm))
    if grad_checkpoint:
        enable_grad_checkpoint(model)
    model.train()
    optimizer = optim.Adam(learning_rate=learning_rate)
    step, state = make_step(model, optimizer, masked_loss, 1)

    def batch(i):
        rows = [data[(i * batch_size + j) % len(data)] for j in range(batch_size)]
        width = min(max(len(ids) for ids, _ in rows), max_seq_length)
        tokens = np.zeros((batch_size, width), np.int32)
        lengths = np.zeros((batch_size, 2), np.int32)
        for j, (ids, offset) in enumerate(rows):
            ids = ids[:width]
            tokens[j, :len(ids)] = ids
            lengths[j] = (max(offset, 1), len(ids))
        return mx.array(tokens), mx.array(lengths), int((lengths[:, 1] - 1).sum())

    for i in range(warmup):
        tokens, lengths, _ = batch(i)
        value, _ntoks, _ = step(tokens, lengths, None, True)
        mx.eval(state, value)
    mx.reset_peak_memory()
    total = 0
    tic = time.perf_counter()
    for i in range(warmup, warmup + steps):
        tokens, lengths, n = batch(i)
        value, _ntoks, _ = step(tokens, lengths, None, True)
        mx.eval(state, value)
        total += n
    elapsed = time.perf_counter() - tic
    return total / elapsed, mx.get_peak_memory() / 1e9
