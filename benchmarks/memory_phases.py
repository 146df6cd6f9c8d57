"""Where a QLoRA step's memory goes, by phase, on any MLX device (the CPU included).

    python benchmarks/memory_phases.py --layers 1 2 4 --batch 4 --seq 256
    RVTUNE_FAST_QMM=on python benchmarks/memory_phases.py --layers 2 --fast-qmm on
    python benchmarks/memory_phases.py --layers 2 --grad-checkpoint

A Mistral-7B-shaped model (hidden 4096, MLP 14336, 32/8 heads, vocabulary 32768) with only
``--layers`` blocks and random weights, 4-bit group 64, bfloat16, LoRA rank 16 on the seven
projections of every block, Adam. For each layer count it reports MLX's active and peak
memory (decimal GB) at each phase of an *uncompiled* step — weights loaded, forward pass
(logits alive), loss, backward (gradients), optimizer update — and the peak of rvtune's own
*compiled* training step (``rvtune.training.bench.measure_steps``), which is what training
pays. Differences between layer counts give the per-block cost; extrapolate to 32 layers as
``peak(L) + (32 - L) x per_block``. One JSON line per layer count; ``--table`` adds a
markdown table.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import models  # noqa: E402

KEYS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]
GB = 1e9


def build(layers, bits, dtype, shape="mistral-7b", div=1):
    import mlx.core as mx
    import mlx.nn as nn
    from mlx_lm.models import llama
    from mlx_lm.tuner.utils import linear_to_lora_layers

    cfg = {**models.config(shape, dtype), "num_hidden_layers": layers}
    for key in ("hidden_size", "intermediate_size", "num_attention_heads",
                "num_key_value_heads", "vocab_size"):
        cfg[key] //= div  # a narrower model of the same proportions (head_dim kept)
    model = llama.Model(llama.ModelArgs.from_dict(cfg))
    model.set_dtype(getattr(mx, dtype))
    if bits:
        nn.quantize(model, group_size=64, bits=bits)
    mx.eval(model.parameters())
    model.freeze()
    linear_to_lora_layers(model, layers, {"rank": 16, "scale": 1.0, "dropout": 0.0,
                                          "keys": KEYS})
    from rvtune.training.lora import enable_lean_inputs, lean_wanted

    if lean_wanted():
        # As apply_lora does for the full 7B width this model stands in for, even at --div 4
        # (RVTUNE_LEAN_LORA=off: not).
        enable_lean_inputs(model)
    mx.eval(model.parameters())
    return model, cfg


def rows(batch, seq, vocab, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    return [(rng.integers(3, vocab, seq + 1).tolist(), 1) for _ in range(max(batch * 2, 8))]


def phases(model, data, batch, loss_fn):
    """Active / peak memory after each phase of one uncompiled step."""
    import mlx.core as mx
    import mlx.nn as nn
    import mlx.optimizers as optim

    out = {}

    def mark(name, *arrays):
        mx.eval(*arrays)
        out[name] = {"active": round(mx.get_active_memory() / GB, 3),
                     "peak": round(mx.get_peak_memory() / GB, 3)}
        mx.reset_peak_memory()

    mx.clear_cache()
    mx.reset_peak_memory()
    mark("weights")
    tokens = mx.array([ids for ids, _ in data[:batch]])
    lengths = mx.array([[1, len(ids)] for ids, _ in data[:batch]])
    logits = model(tokens[:, :-1])
    mark("forward", logits)
    del logits
    value, _n = loss_fn(model, tokens, lengths)
    mark("loss", value)
    del value
    optimizer = optim.Adam(learning_rate=1e-5)
    optimizer.init(model.trainable_parameters())
    mark("optimizer_state", optimizer.state)
    (value, _n), grad = nn.value_and_grad(model, loss_fn)(model, tokens, lengths)
    mark("backward", value, grad)
    optimizer.update(model, grad)
    del grad
    mark("update", model.parameters(), optimizer.state)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--shape", default="mistral-7b", choices=sorted(models.SHAPES))
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--bits", type=int, default=4)
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--fast-qmm", choices=["auto", "on", "off"], default="off")
    p.add_argument("--forward-rows", type=int, default=1024,
                   help="with --fast-qmm on: dense forward from this many rows (0: never)")
    p.add_argument("--grad-checkpoint", action="store_true")
    p.add_argument("--div", type=int, default=1,
                   help="divide hidden, MLP, head counts and vocabulary by this (CPU: bf16 "
                        "matmuls are emulated, so a bf16 run needs a narrower model)")
    p.add_argument("--steps", type=int, default=1, help="timed compiled steps")
    p.add_argument("--no-phases", action="store_true", help="only the compiled step")
    p.add_argument("--table", action="store_true")
    args = p.parse_args()

    from rvtune.training import before_mlx

    before_mlx()  # as the CLI does: the CPU's BLAS, the CUDA graph cap
    import mlx.core as mx

    from rvtune.core.jobs import TrainConfig
    from rvtune.training import qmm_vjp
    from rvtune.training.bench import measure_steps
    from rvtune.training.data import masked_loss
    from rvtune.training.memory import estimate

    results = []
    for layers in args.layers:
        mx.random.seed(0)
        mx.clear_cache()
        model, cfg = build(layers, args.bits, args.dtype, args.shape, args.div)
        data = rows(args.batch, args.seq, cfg["vocab_size"])
        forward_rows = args.forward_rows or None
        if qmm_vjp.wanted(args.fast_qmm):
            qmm_vjp.enable(model, forward_rows=forward_rows,
                           backward_rows=qmm_vjp.backward_rows(args.fast_qmm))
        from rvtune.training.lora import lean_wanted

        result = {"layers": layers, "div": args.div, "lean_lora": lean_wanted(),
                  "batch": args.batch, "seq": args.seq, "bits": args.bits,
                  "dtype": args.dtype, "fast_qmm": args.fast_qmm,
                  "forward_rows": forward_rows if qmm_vjp.wanted(args.fast_qmm) else None,
                  "grad_checkpoint": args.grad_checkpoint, "device": str(mx.default_device())}
        if not args.no_phases:
            if args.grad_checkpoint:
                from rvtune.training.loop import enable_grad_checkpoint

                enable_grad_checkpoint(model)
            result["phases"] = phases(model, data, args.batch, masked_loss)
        mx.clear_cache()
        tic = time.perf_counter()
        tps, peak = measure_steps(model, data, batch_size=args.batch,
                                  max_seq_length=args.seq + 1, warmup=1, steps=args.steps,
                                  fast_qmm="off",  # already enabled above
                                  grad_checkpoint=args.grad_checkpoint and args.no_phases,
                                  forward_rows=forward_rows)
        result["compiled_peak_gb"] = round(peak, 3)
        result["tokens_per_s"] = round(tps, 1)
        result["seconds"] = round(time.perf_counter() - tic, 1)
        tc = TrainConfig(batch_size=args.batch, max_seq_length=args.seq + 1, bits=args.bits,
                         grad_checkpoint=args.grad_checkpoint)
        result["estimate_gb"] = round(estimate(cfg, tc, 1, args.seq + 1,
                                               fast_path=qmm_vjp.wanted(args.fast_qmm))
                                      .total / GB, 3)
        results.append(result)
        print(json.dumps(result), flush=True)
        del model
    if args.table:
        names = list(results[0].get("phases", {}))
        print("| layers | " + " | ".join(f"{n} active/peak" for n in names)
              + " | compiled step peak | estimate |")
        print("|---" * (len(names) + 3) + "|")
        for r in results:
            cells = [f"{v['active']:.2f} / {v['peak']:.2f}" for v in r.get("phases", {}).values()]
            print(f"| {r['layers']} | " + " | ".join(cells)
                  + f" | {r['compiled_peak_gb']:.2f} | {r['estimate_gb']:.2f} |")


if __name__ == "__main__":
    main()
