"""Where one training step's time goes: data preparation, building the compiled call, the
device work, host syncs, and compiling a new batch shape.

    python benchmarks/profile_step.py [--model tiny|smollm2|DIR|FILE.gguf] [--bits 4]
        [--batch 8] [--steps 40] [--pack | --no-pack] [--num-layers -1] [--rank 16]

Builds the step exactly as `rvtune run` does (training.loop.make_step over
training.data.masked_loss, LoRA from training.lora, the fast quantized path where it is on)
on the built-in RISC-V rows (prepared once into a temp directory), then times, per step:
``prep`` (Batches.batch: numpy arrays + mx.array), ``call`` (calling the compiled step,
which only builds the lazy graph once a shape is compiled), ``eval`` (mx.eval of the
update: the device work), ``item`` (reading the loss on the host after that). The first
step of each new batch shape is reported separately as compile time. The last column runs
the same steps pipelined as the trainer now does (mx.async_eval, next batch prepared while
the device works, the loss read only at report steps).
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path


def load(args):
    from rvtune.core.jobs import TrainConfig
    from rvtune.training.lora import apply_lora
    from rvtune.training.model import load_base, resolve_model_path

    if args.model == "tiny":
        from rvtune.training.tiny import tiny_model_path
        path = tiny_model_path()
    elif args.model == "smollm2":
        from rvtune.training.presets import smollm2_gguf
        path = resolve_model_path(str(smollm2_gguf()))
    else:
        path = resolve_model_path(args.model)
    model, tokenizer, config, _quant = load_base(path, args.bits, 64)
    cfg = TrainConfig(model=str(path), bits=args.bits, rank=args.rank, alpha=2.0 * args.rank,
                      num_layers=args.num_layers, batch_size=args.batch,
                      max_seq_length=args.max_seq_length, pack=args.pack)
    apply_lora(model, cfg)
    return model, tokenizer, config, cfg


def data(tokenizer, cfg, rows):
    from rvtune.core.datasets import DatasetSpec
    from rvtune.core.prepare import PrepareConfig, prepare
    from rvtune.training.data import encode_rows, read_rows

    out = Path(tempfile.mkdtemp(prefix="rvtune-profile-")) / "data"
    prepare(PrepareConfig(dataset=DatasetSpec(source="riscv", size=rows, seed=0),
                          out=str(out), formatter="chatml", seed=0))
    return encode_rows(read_rows(out / "train.jsonl"), tokenizer, has_bos=False,
                       mask_prompt=True, max_seq_length=cfg.max_seq_length)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="tiny")
    p.add_argument("--bits", type=int, default=4)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--rows", type=int, default=1000)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--num-layers", type=int, default=-1)
    p.add_argument("--max-seq-length", type=int, default=512)
    p.add_argument("--pack", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("--count-nodes", action="store_true",
                   help="Also count the operations of one compiled step's graph, by kind "
                        "(each one not a view is a kernel launch on a GPU).")
    args = p.parse_args()

    from rvtune.training import before_mlx

    before_mlx()  # as the CLI does, before MLX is imported (BLAS, CUDA graph cap)
    import mlx.core as mx
    import mlx.optimizers as optim

    from rvtune.training.data import Batches, masked_loss
    from rvtune.training.loop import _maybe_fast_qmm, make_step
    from rvtune.training.packing import decide

    model, tokenizer, _config, cfg = load(args)
    _maybe_fast_qmm(model, lambda line: print("#", line, file=sys.stderr))
    encoded = data(tokenizer, cfg, args.rows)
    batches = Batches(encoded, args.batch, 0, cfg.max_seq_length)
    batches.pack_width = decide(args.pack, model, batches,
                                lambda line: print("#", line, file=sys.stderr))
    model.train()
    optimizer = optim.Adam(learning_rate=1e-5)
    step, state = make_step(model, optimizer, masked_loss, 1)

    shapes, compile_s = set(), []
    parts = {"prep": [], "call": [], "eval": [], "item": []}
    total = tokens = 0
    for i in range(args.steps):
        t0 = time.perf_counter()
        toks, lengths, n = batches.batch(i)
        t1 = time.perf_counter()
        value, _ntoks, _grad = step(toks, lengths, None, True)
        t2 = time.perf_counter()
        mx.eval(state, value)
        t3 = time.perf_counter()
        value.item()
        t4 = time.perf_counter()
        if toks.shape not in shapes:
            shapes.add(toks.shape)
            compile_s.append(t4 - t0)
            continue
        for key, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            parts[key].append(dt * 1000)
        total += t4 - t0
        tokens += n

    # The same steps pipelined (every shape is compiled by now).
    tic = time.perf_counter()
    pending = batches.batch(0)
    window = mx.array(0.0)
    for i in range(args.steps):
        toks, lengths, n = pending
        value, _ntoks, _grad = step(toks, lengths, None, True)
        window = window + value
        mx.async_eval(state, window)
        pending = batches.batch(i + 1)
    window.item()
    piped = (time.perf_counter() - tic) / args.steps * 1000

    nodes = count_nodes(step, state, batches) if args.count_nodes else None
    med = {k: round(statistics.median(v), 2) for k, v in parts.items() if v}
    print(json.dumps({
        "model": args.model, "bits": args.bits, "batch": args.batch, "pack": args.pack,
        "device": str(mx.default_device()), "steps_timed": len(parts["eval"]),
        "shapes": len(shapes), "compile_s_first": round(compile_s[0], 2),
        "compile_s_other_shapes_median": round(statistics.median(compile_s[1:]), 2)
        if len(compile_s) > 1 else None,
        "median_ms": med, "step_ms_serial": round(total / max(len(parts["eval"]), 1) * 1000, 2),
        "step_ms_pipelined": round(piped, 2),
        "tokens_per_s_serial": round(tokens / max(total, 1e-9)), "graph_nodes": nodes}))


# Operations that only change an array's view (no kernel, unless a copy is forced).
VIEWS = {"Reshape", "Transpose", "Flatten", "Unflatten", "Slice", "ExpandDims", "Squeeze",
         "Broadcast", "AsStrided", "StopGradient"}


def count_nodes(step, state, batches) -> dict:
    """How many operations one compiled step's graph holds (fused kernels count once)."""
    import collections
    import os
    import re

    import mlx.core as mx
    from mlx.utils import tree_flatten

    toks, lengths, _n = batches.batch(0)
    value, _ntoks, _grad = step(toks, lengths, None, True)
    outs = [v for _, v in tree_flatten(state) if isinstance(v, mx.array)] + [value]
    path = os.path.join(tempfile.mkdtemp(prefix="rvtune-graph-"), "step.dot")
    mx.export_to_dot(path, *outs)
    mx.eval(outs)
    kinds = collections.Counter(
        label.split()[0] for label in re.findall(r'label ?="([^"]*)"', Path(path).read_text()))
    views = sum(n for kind, n in kinds.items() if kind in VIEWS)
    fused = sum(n for kind, n in kinds.items() if kind.startswith("Compiled"))
    return {"total": sum(kinds.values()), "views": views, "fused": fused,
            "top": dict(kinds.most_common(12))}


if __name__ == "__main__":
    main()
