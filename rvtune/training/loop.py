"""rvtune's own MLX training loop, built from mlx-lm's public pieces (model loading,
``linear_to_lora_layers``) so that it can resume exactly, stop cleanly on Ctrl-C and run
data-parallel under ``mlx.launch``.

The training step is replaceable: :func:`train` takes ``make_step`` (and ``loss``), and the
``mlx`` trainer plugin exposes both as methods a subclass can override.
"""

import json
import signal
import threading
import time
from functools import partial
from pathlib import Path

from rvtune.core.errors import DataError, RvtuneError, UsageError

from .data import Batches, encode_rows, masked_loss, read_rows

CHECKPOINTS = "checkpoints"


def lr_schedule(config, updates: int):
    """Learning rate per optimizer update: optional linear warm-up from ``lr / warmup``,
    then constant or cosine decay to zero at the last update."""
    import mlx.core as mx
    import mlx.optimizers as optim

    lr = config.learning_rate
    warmup = config.warmup
    if config.lr_schedule == "cosine":
        main = optim.cosine_decay(lr, max(1, updates - warmup), 0.0)
    elif warmup:
        main = lambda _step: mx.array(lr, dtype=mx.float32)  # noqa: E731
    else:
        return lr
    if not warmup:
        return main
    warm = optim.linear_schedule(lr / warmup, lr, max(1, warmup - 1))
    return optim.join_schedules([warm, main], [warmup])


def enable_grad_checkpoint(model) -> None:
    """Recompute each block's activations in the backward pass instead of keeping them.

    Unlike mlx-lm's helper, which patches the block class for every model in the process,
    this swaps in a per-instance subclass, so other models are unaffected.
    """
    import mlx.core as mx

    for layer in model.layers:
        base = type(layer)
        if getattr(base, "_rvtune_checkpointed", False):
            continue
        call = base.__call__

        def checkpointed(self, *args, _call=call, **kwargs):
            def inner(params, *args, **kwargs):
                self.update(params)
                return _call(self, *args, **kwargs)

            return mx.checkpoint(inner)(self.trainable_parameters(), *args, **kwargs)

        layer.__class__ = type(f"Checkpointed{base.__name__}", (base,),
                               {"__call__": checkpointed, "_rvtune_checkpointed": True})


def make_step(model, optimizer, loss, grad_accumulation: int):
    """The default compiled training step and the state it updates.

    Returns ``(step, state)``; ``step(tokens, lengths, prev_grad, do_update)`` returns
    ``(loss, n_tokens, grad)`` where ``grad`` is the accumulated gradient (None after an
    update) and ``loss`` / ``n_tokens`` are those of the whole step's batch, over all
    processes.

    Data-parallel (a group of more than one process), each process holds a share of the
    batch with its own number of target tokens ``n_r``. Its gradient is weighted by
    ``n_r / N`` (``N`` = all target tokens of the step) before the gradients are summed,
    so the update is the gradient of the whole batch's token mean, exactly what one
    process would compute (a plain average of per-process means would weigh a token on a
    process with few tokens more). One process: no communication at all.
    """
    import mlx.core as mx
    import mlx.nn as nn
    from mlx.nn.utils import average_gradients
    from mlx.utils import tree_map

    value_and_grad = nn.value_and_grad(model, loss)
    state = [model.state, optimizer.state, mx.random.state]
    size = mx.distributed.init().size()

    @partial(mx.compile, inputs=state, outputs=state)
    def step(tokens, lengths, prev_grad, do_update):
        (value, ntoks), grad = value_and_grad(model, tokens, lengths)
        if size > 1:
            count = ntoks.astype(mx.float32)
            sums = mx.distributed.all_sum(mx.stack([value.astype(mx.float32) * count, count]))
            total = mx.maximum(sums[1], 1)
            # average_gradients divides by the process count: weight by n_r * size / N.
            weight = count * size / total
            grad = tree_map(lambda g: g * weight.astype(g.dtype), grad)
            value, ntoks = sums[0] / total, sums[1].astype(ntoks.dtype)
        if prev_grad is not None:
            grad = tree_map(lambda a, b: a + b, grad, prev_grad)
        if do_update:
            grad = average_gradients(grad)
            if grad_accumulation > 1:
                grad = tree_map(lambda g: g / grad_accumulation, grad)
            optimizer.update(model, grad)
            grad = None
        return value, ntoks, grad

    return step, state


def rank_seed(seed: int, step: int, rank: int) -> int:
    """The random seed of ``step`` on process ``rank`` of a data-parallel run: dropout masks
    differ between processes (each holds other rows) yet depend only on (seed, step, rank),
    so a resumed run repeats them."""
    import numpy as np

    return int(np.random.SeedSequence([seed, step, rank]).generate_state(1, np.uint64)[0]
               >> np.uint64(1))


class _StopOnCtrlC:
    """First Ctrl-C asks the loop to stop after the current step and save; a second one
    quits at once."""

    def __init__(self, log):
        self.log = log
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, _signum, _frame):
        if self.requested:
            signal.signal(signal.SIGINT, self._previous or signal.default_int_handler)
            raise KeyboardInterrupt
        self.requested = True
        self.log("Ctrl-C: stopping after this step and saving a checkpoint "
                 "(press Ctrl-C again to quit at once)")

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _maybe_fast_qmm(model, log) -> None:
    from . import qmm_vjp

    mode, rows = qmm_vjp.settings()
    if qmm_vjp.wanted(mode):
        least = qmm_vjp.backward_rows(mode)
        count = qmm_vjp.enable(model, forward_rows=rows, backward_rows=least)
        if count:
            when = f" from {least} rows per step" if least else ""
            dense = f", dense forward from {rows} rows" if rows else ""
            log(f"Fast quantized path on {count} layers (backward{when}{dense}); "
                "RVTUNE_FAST_QMM=off turns it off, =on uses it at every size")


def _new_window(mx) -> dict:
    # "start" is set by the window's first step, so validation and saving between two
    # windows count in neither.
    return {"loss": mx.array(0.0), "tokens": 0, "steps": 0, "time": 0.0, "start": None}


def _compile_key(cfg) -> str:
    import mlx.core as mx

    return f"{mx.default_device()}|{cfg.model}|bits {cfg.bits}|batch {cfg.batch_size}"


def compile_notice(cfg, what: str, remembered: bool = True) -> str:
    """What the user reads while ``what`` compiles: how long it took last time here, or
    that a first run compiles kernels (a minute or more on a fresh GPU machine)."""
    from .progress import compile_seconds, kernel_note

    seconds = compile_seconds(_compile_key(cfg)) if remembered else None
    if seconds is not None:
        return f"Compiling {what} (took {seconds:.1f}s last time on this machine) ..."
    note = kernel_note()
    if note:
        return f"Compiling {what} ({note}) ..."
    return (f"Compiling {what} (the first run on a machine also compiles its kernels: a "
            "minute or more on a GPU) ...")


def remember_compile(cfg, seconds: float) -> None:
    """Keep how long the first step took, for the next run's :func:`compile_notice`."""
    from .progress import remember_compile_seconds

    remember_compile_seconds(_compile_key(cfg), seconds)


#: What a CUDA device reports after a kernel fault: every later call (an allocation too)
#: fails with it, so it must not be read as "out of memory".
GPU_FAULTS = ("illegal memory access", "illegal address", "unspecified launch failure",
              "misaligned address", "illegal instruction", "hardware stack error")


def _is_gpu_fault(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(word in text for word in GPU_FAULTS)


def _is_oom(exc: BaseException) -> bool:
    if _is_gpu_fault(exc):
        return False
    text = str(exc).lower()
    return isinstance(exc, MemoryError) or any(
        word in text for word in ("out of memory", "malloc", "outofmemory",
                                  "maximum allowed buffer", "failed to allocate"))


def gpu_fault_message(exc: BaseException, it: int, run_dir, last_ckpt) -> str:
    """One line for a GPU kernel fault: what happened, that the settings are not the cause,
    and how to continue."""
    detail = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
    then = (f"continue from the last checkpoint ({last_ckpt.name}) with: rvtune run --resume "
            f"{run_dir}" if last_ckpt else "no checkpoint was written yet; run it again")
    return (f"the GPU reported a fault at step {it} ({detail}); this is a CUDA driver or MLX "
            f"failure, not a problem with the settings or the memory; {then} (if it recurs at "
            "the same step, report it with `rvtune run --debug`)")


def _stop_if_not_finite(loss_value: float, it: int, cfg, last_ckpt) -> None:
    """Stop at the first NaN/inf loss (a NaN gradient shows in the next step's loss; each
    checkpoint's own check keeps a NaN adapter from being saved)."""
    import math

    if math.isfinite(loss_value):
        return
    kept = (f"; the last good checkpoint, {last_ckpt}, is kept" if last_ckpt
            else "; no checkpoint was written yet")
    raise RvtuneError(f"step {it}: the training loss is {loss_value} (not finite), so "
                      f"training stopped{kept}. Try a lower --learning-rate (it is "
                      f"{cfg.learning_rate:g}), a --warmup, or check the data, in a new run")


def train(job, make_step=make_step, loss=masked_loss):
    """Run ``job`` (a :class:`rvtune.core.jobs.TrainJob`) and return a
    :class:`rvtune.core.jobs.TrainResult`. Only rank 0 writes files and prints."""
    import mlx.core as mx
    import mlx.optimizers as optim
    from mlx.utils import tree_flatten, tree_unflatten

    from rvtune.core.jobs import TrainResult

    from . import memory
    from .adapters import adapter_config, save_adapter_dir, save_npz
    from .checkpoint import latest_checkpoint, save_checkpoint
    from .lora import apply_lora
    from .model import (as_computed, check_bits, load_base, load_tokenizer, read_model_config,
                        resolve_model_path)
    from .progress import Progress, RunLog, plot_losses, truncate_metrics

    cfg = job.config
    cfg.check()
    if job.is_main and cfg.log_to:
        from .loggers import check_loggers

        check_loggers(cfg.log_to)
    world = mx.distributed.init()
    job.rank, job.world_size = world.rank(), world.size()
    main = job.is_main
    run_dir = Path(job.run_dir)
    data_dir = Path(job.data_dir)
    log = job.log if isinstance(job.log, RunLog) else RunLog(run_dir / "run.log", main)
    started = time.perf_counter()

    manifest_path = data_dir / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError):
        raise DataError(f"{manifest_path}: missing or unreadable; prepare the data first "
                        "(`rvtune prepare`)") from None
    train_rows = read_rows(data_dir / "train.jsonl")
    valid_rows = read_rows(data_dir / "valid.jsonl")
    if len(train_rows) < cfg.batch_size:
        raise UsageError(f"--batch-size {cfg.batch_size}: larger than the training set "
                         f"({len(train_rows)} rows in {data_dir / 'train.jsonl'}); lower "
                         "--batch-size or add data")
    if cfg.batch_size % job.world_size:
        raise UsageError(f"--batch-size {cfg.batch_size}: must be a multiple of the number "
                         f"of processes ({job.world_size}); each process takes batch-size / "
                         "processes rows of every step")
    from dataclasses import replace

    from .best import BEST_DIR, BestTracker, training_length

    per_epoch = -(-len(train_rows) // cfg.batch_size)
    cfg = job.config = replace(cfg, iters=training_length(cfg, len(train_rows), log))
    if cfg.epochs and cfg.warmup >= cfg.iters:
        raise UsageError(f"--warmup {cfg.warmup}: must be below the {cfg.iters} steps of "
                         f"--epochs {cfg.epochs}")
    if cfg.grad_accumulation > cfg.iters:
        raise UsageError(f"--grad-accumulation {cfg.grad_accumulation}: more than --iters "
                         f"{cfg.iters}, so no update would happen")

    model_path = resolve_model_path(cfg.model, log=job.log if job.rank == 0 else None)
    model_config = as_computed(read_model_config(model_path))  # what the estimate sizes
    check_bits(cfg.bits, cfg.group_size)
    tokenizer = load_tokenizer(model_path, cfg.model)
    has_bos = bool(manifest.get("has_bos"))
    encode = partial(encode_rows, tokenizer=tokenizer, has_bos=has_bos,
                     mask_prompt=cfg.mask_prompt, max_seq_length=cfg.max_seq_length,
                     train_on=cfg.train_on)
    train_data, valid_data = encode(train_rows), encode(valid_rows)
    for name, data in (("training", train_data), ("validation", valid_data)):
        if data.truncated:
            log(f"{data.truncated} of {len(data)} {name} rows are longer than "
                f"--max-seq-length {cfg.max_seq_length} and were truncated"
                + (f" ({data.no_target} lost their whole answer)" if data.no_target else ""))
    if train_data.no_target == len(train_data):
        raise DataError(f"--max-seq-length {cfg.max_seq_length}: every training prompt fills "
                        "it, so no answer token is left to learn; raise --max-seq-length")
    longest = max(len(ids) for ids in train_data.ids)

    try:
        estimate = memory.estimate(model_config, cfg, job.world_size, longest)
    except (KeyError, TypeError, ZeroDivisionError):
        estimate = None  # an architecture the estimate does not know
    available, source = memory.available_memory()
    if estimate is not None:
        log(f"Memory estimate (longest row {longest} tokens): {estimate.describe()}; "
            f"available {available / memory.GB:.1f} GB ({source})")
        if estimate.total > available and not cfg.force:
            raise RvtuneError(
                f"estimated peak memory {estimate.total / memory.GB:.1f} GB exceeds the "
                f"{available / memory.GB:.1f} GB available for --model {cfg.model} at batch "
                f"{cfg.batch_size} x {longest} tokens; "
                f"{memory.advice(model_config, cfg, available, job.world_size, longest)}; "
                "or pass --force to try anyway")

    log(f"Loading {cfg.model} ...")
    model, tokenizer, _config, quant = load_base(model_path, cfg.bits, cfg.group_size,
                                                 cfg.model, tokenizer=tokenizer)
    from .cpu import blas_note
    from .cuda import graph_note

    for note in (blas_note(), graph_note()):
        if note:
            log(note)
    if quant.on_load:
        log(f"Quantized to {quant.bits} bits (group size {quant.group_size}) on load")
    elif quant.bits:
        log(f"Model is stored quantized ({quant.bits} bits); --bits is not applied again")
    mx.random.seed(cfg.seed)
    info = apply_lora(model, cfg)
    if cfg.adapter_init and not job.resume:
        from .peft_in import init_from_adapter

        init_from_adapter(model, cfg.adapter_init, cfg, log)
    _maybe_fast_qmm(model, log)
    modules = ", ".join(f"{path} x{count}" for path, count in info.adapted.items())
    log(f"LoRA rank {cfg.rank}, alpha {cfg.alpha:g} -> scale {cfg.scale:g}, dropout "
        f"{cfg.dropout:g}, on {len(info.layers)} of {len(model.layers)} layers: {modules}")
    log(f"Trainable parameters: {info.trainable:,} of {info.total:,} "
        f"({100 * info.share:.3f}%)")

    batches = Batches(train_data, cfg.batch_size, cfg.seed, cfg.max_seq_length,
                      job.rank, job.world_size)
    valid_batches = None
    if len(valid_data) >= job.world_size:
        size = min(cfg.batch_size, len(valid_data) - len(valid_data) % job.world_size)
        valid_batches = Batches(valid_data, size, cfg.seed, cfg.max_seq_length,
                                job.rank, job.world_size)
    n_val = 0 if valid_batches is None else (
        len(valid_batches) if cfg.val_batches == -1 else min(cfg.val_batches, len(valid_batches)))
    from .packing import decide as decide_packing

    width = decide_packing(getattr(cfg, "pack", None), model, batches, log)
    batches.pack_width = width
    if valid_batches is not None and width:
        valid_batches.pack_width = max(width, max(len(ids) for ids in valid_data.ids))

    updates = cfg.iters // cfg.grad_accumulation
    optimizer = optim.Adam(learning_rate=lr_schedule(cfg, updates))
    ckpt_root = run_dir / CHECKPOINTS
    metrics_path = run_dir / "metrics.jsonl"
    start, trained_tokens = 0, 0
    tracker = BestTracker(metric=cfg.select_by, lower=cfg.select_by == "val_loss",
                          patience=cfg.early_stop)
    score = None
    if cfg.select_by != "val_loss" and valid_rows:
        from .best import GenerationScore

        score = GenerationScore(cfg.select_by, valid_rows, manifest, tokenizer)
    if job.resume:
        found = latest_checkpoint(ckpt_root, warn=log)
        if found is None:
            raise UsageError(f"--resume {run_dir}: no checkpoint in {ckpt_root} to resume "
                             "from; start a new run instead")
        path, adapters, opt_state, state = found
        model.load_weights(list(adapters.items()), strict=False)
        optimizer.state = tree_unflatten(list(opt_state.items()))
        start = int(state["step"])
        trained_tokens = int(state.get("trained_tokens", 0))
        tracker.restore(state.get("best"))
        key = state["rng"]
        mx.random.seed((int(key[0]) << 32) | int(key[1]))
        if main:
            truncate_metrics(metrics_path, start)
        log(f"Resuming from {path} (step {start} of {cfg.iters})")
        if start >= cfg.iters:
            log(f"Already at step {start}; raise --iters to train further")
    optimizer.init(model.trainable_parameters())
    if cfg.grad_checkpoint:
        enable_grad_checkpoint(model)
    step, state = make_step(model, optimizer, loss, cfg.grad_accumulation)

    # Validation runs compiled too (fused kernels, far fewer launches on a GPU); the model's
    # live state is its input, so it always sees the current adapter weights.
    eval_loss = mx.compile(partial(loss, model), inputs=[model.state])
    validated = []

    def evaluate() -> float:
        if not validated:
            validated.append(True)
            progress.note(compile_notice(cfg, "validation", remembered=False))
        model.eval()
        total, count = mx.array(0.0), mx.array(0)
        pending, previous = valid_batches.batch(0), None
        for index in range(n_val):
            tokens, lengths, _ = pending
            value, ntoks = eval_loss(tokens, lengths)
            total = total + value * ntoks
            count = count + ntoks
            mx.async_eval(total, count)
            if index + 1 < n_val:
                pending = valid_batches.batch(index + 1)
            if previous is not None:
                mx.eval(previous)  # at most one batch queued ahead of the device
            previous = total
        # The backend's own communication stream (CPU for ring/MPI, GPU for NCCL).
        total = mx.distributed.all_sum(total)
        count = mx.distributed.all_sum(count)
        model.train()
        return (total / mx.maximum(count, 1)).item()

    def save(it: int) -> Path | None:
        if not main:
            return None
        path = save_checkpoint(
            ckpt_root, it, dict(tree_flatten(model.trainable_parameters())),
            dict(tree_flatten(optimizer.state)),
            {"rng": mx.random.state[0].tolist(), "batch_order": batches.position(it),
             "trained_tokens": trained_tokens, "seed": cfg.seed, "iters": cfg.iters,
             "best": tracker.state(),
             "saved": time.strftime("%Y-%m-%dT%H:%M:%S")},
            keep=cfg.keep_checkpoints, adapter_config=adapter_settings(it))
        for callback in job.callbacks:
            callback.on_checkpoint(path, it)
        return path

    def adapter_settings(it: int) -> dict:
        local = Path(cfg.model).expanduser()
        base = str(local.resolve()) if local.exists() else cfg.model
        extra = {"rvtune": {
            "base_model": cfg.model, "alpha": cfg.alpha, "step": it,
            "target_modules": list(cfg.target_modules),
            "quantize_on_load": ({"bits": quant.bits, "group_size": quant.group_size}
                                 if quant.on_load else None),
            "formatter": manifest.get("formatter"),
            "stop_strings": manifest.get("stop_strings", []),
            "has_bos": has_bos}}
        return adapter_config(info, base, len(info.layers), extra)

    def report_val(it: int) -> float:
        tic = time.perf_counter()
        value = evaluate()
        record = {"step": it, "epoch": round(it / per_epoch, 4), "val_loss": value,
                  "val_seconds": time.perf_counter() - tic}
        if score is not None:
            model.eval()
            record[cfg.select_by] = score(model, tokenizer)
            model.train()
        if tracker.update(it, record[cfg.select_by]):
            record["best"] = True
            if main:
                save_adapter_dir(run_dir / BEST_DIR,
                                 dict(tree_flatten(model.trainable_parameters())),
                                 {**adapter_settings(it), "best": tracker.state()})
        progress.val(record)
        if main:
            for callback in job.callbacks:
                callback.on_val_report(record)
        return value

    from .loggers import Loggers, open_loggers

    loggers = open_loggers(cfg.log_to, run_dir, cfg.to_dict()) if main else Loggers()
    job.callbacks = [*job.callbacks, loggers]
    progress = Progress(metrics_path, cfg.iters, start, log, enabled=main,
                        per_epoch=per_epoch if cfg.epochs else None)
    last_train = last_val = None
    last_ckpt = None
    it = start
    interrupted = stopped_early = False
    grad = None
    window = _new_window(mx)
    loop_start, loop_first = time.perf_counter(), start
    # The base model's validation loss (step 0) is measured after the first training report,
    # on these step-0 adapter weights, so that the first report does not wait for it.
    initial = (model.trainable_parameters()
               if valid_batches is not None and start == 0 and n_val else None)
    shapes = set()  # batch shapes the step has been compiled for
    unchecked = None  # (loss, step) queued on the device, not yet checked for NaN
    model.train()
    try:
        with progress, loggers, _StopOnCtrlC(log) as stop:
            pending = batches.batch(start) if start < cfg.iters else None
            for it in range(start + 1, cfg.iters + 1):
                if window["start"] is None:
                    window["start"] = time.perf_counter()
                if job.world_size > 1:
                    mx.random.seed(rank_seed(cfg.seed, it, job.rank))
                tokens, lengths, ntok = pending
                compiling = tokens.shape not in shapes
                if compiling:
                    shapes.add(tokens.shape)
                    if len(shapes) == 1:
                        progress.note(compile_notice(cfg, "the training step"))
                        first_tic = time.perf_counter()
                value, _ntoks, grad = step(tokens, lengths, grad,
                                           it % cfg.grad_accumulation == 0)
                window["loss"] = window["loss"] + value
                # No host sync here: the device works on this step while the host checks the
                # previous step's loss and prepares the next batch.
                mx.async_eval(state, window["loss"], grad)
                if it < cfg.iters:
                    pending = batches.batch(it)
                if unchecked is not None:
                    _stop_if_not_finite(unchecked[0].item(), unchecked[1], cfg, last_ckpt)
                unchecked = (value, it)
                window["tokens"] += ntok
                window["steps"] += 1
                boundary = it % cfg.grad_accumulation == 0
                reporting = it % cfg.steps_per_report == 0 or it == cfg.iters
                if reporting or (compiling and len(shapes) == 1) or stop.requested or (
                        it % cfg.steps_per_eval == 0) or (boundary and it % cfg.save_every == 0):
                    mx.eval(state, window["loss"])
                    _stop_if_not_finite(value.item(), it, cfg, last_ckpt)
                    unchecked = None
                if compiling and len(shapes) == 1:
                    took = time.perf_counter() - first_tic
                    if main:
                        remember_compile(cfg, took)
                    progress.note(f"First step done in {took:.1f}s (compiling included); each "
                                  "new batch shape compiles once")
                progress.advance(it)
                if reporting:
                    # The step's loss is already the whole batch's (all processes).
                    last_train = window["loss"].item() / window["steps"]
                    window["time"] = time.perf_counter() - window["start"]
                    tokens_all = mx.distributed.all_sum(mx.array(window["tokens"])).item()
                    trained_tokens += int(tokens_all)
                    elapsed = time.perf_counter() - loop_start
                    record = {
                        "step": it, "epoch": round(it / per_epoch, 4), "loss": last_train,
                        "learning_rate": float(optimizer.learning_rate.item()),
                        "tokens_per_second": tokens_all / max(window["time"], 1e-9),
                        "iterations_per_second": window["steps"] / max(window["time"], 1e-9),
                        "trained_tokens": trained_tokens,
                        "peak_memory_gb": mx.get_peak_memory() / 1e9,
                        "compiled_shapes": len(shapes),
                        "eta_seconds": elapsed / (it - loop_first) * (cfg.iters - it),
                    }
                    progress.train(record)
                    if main:
                        for callback in job.callbacks:
                            callback.on_train_report(record)
                    window = _new_window(mx)
                    if initial is not None:
                        current = model.trainable_parameters()
                        model.update(initial)
                        last_val = report_val(0)
                        model.update(current)
                        initial = None
                if valid_batches is not None and n_val and (
                        it % cfg.steps_per_eval == 0 or it == cfg.iters):
                    last_val = report_val(it)
                    stopped_early = tracker.exhausted and it < cfg.iters
                boundary = it % cfg.grad_accumulation == 0
                if boundary and (it % cfg.save_every == 0 or it == cfg.iters or stopped_early):
                    last_ckpt = save(it)
                if stopped_early:
                    log(tracker.why_stopped(it))
                    break
                stopping = stop.requested
                if job.world_size > 1 and boundary:
                    # Ctrl-C may reach the processes at different steps (or only some of
                    # them): they stop together, at the first boundary after any saw it.
                    stopping = mx.distributed.all_sum(
                        mx.array(int(stopping), mx.int32)).item() > 0
                if stopping and boundary:
                    if last_ckpt is None or not last_ckpt.name.endswith(f"{it:07d}"):
                        last_ckpt = save(it)
                    log(f"Stopped at step {it}; checkpoint saved in {last_ckpt}. Continue "
                        f"with: rvtune run --resume {run_dir}")
                    interrupted = True
                    break
    except (RuntimeError, MemoryError) as exc:
        if _is_gpu_fault(exc):
            raise RvtuneError(gpu_fault_message(exc, it, run_dir, last_ckpt)) from exc
        if not _is_oom(exc):
            raise
        advice = (memory.advice(model_config, cfg, available, job.world_size, longest)
                  if estimate is not None else "lower --batch-size or --max-seq-length")
        raise RvtuneError(f"out of memory while training --model {cfg.model} at batch "
                          f"{cfg.batch_size} x {longest} tokens; {advice}") from None

    files = {}
    adapter_dir = None
    if main:
        if not interrupted and (it >= cfg.iters or stopped_early):
            weights = dict(tree_flatten(model.trainable_parameters()))
            config = adapter_settings(it)
            adapter_dir = save_adapter_dir(run_dir / "adapters", weights, config)
            files["adapters"] = adapter_dir
            files["adapters.npz"] = save_npz(run_dir / "adapters.npz", weights, config)
            if (run_dir / BEST_DIR).is_dir():
                files[BEST_DIR] = run_dir / BEST_DIR
        plot = plot_losses(metrics_path, run_dir / "loss.png")
        if plot:
            files["loss.png"] = plot
        files["metrics.jsonl"] = metrics_path
    if job.world_size > 1:
        # Nobody leaves before rank 0 has written everything: mlx.launch stops the whole
        # job as soon as one process exits with an error (130 after Ctrl-C, say).
        mx.eval(mx.distributed.all_sum(mx.array(1, mx.int32)))
    return TrainResult(
        adapter_dir=adapter_dir, steps=it, interrupted=interrupted, train_loss=last_train,
        val_loss=last_val, trainable_parameters=info.trainable, total_parameters=info.total,
        seconds=time.perf_counter() - started, checkpoint=last_ckpt, files=files,
        best_step=tracker.step, best_score=tracker.best, best_metric=tracker.metric,
        stopped_early=stopped_early, epochs=round(it / per_epoch, 4))
