"""QLoRA training-step speed and memory: plain mlx-lm vs rvtune, on any MLX device.

    python benchmarks/qlora_step.py --shape mistral-7b --batch 4 --seq 256 --impl mlx-lm
    python benchmarks/qlora_step.py --shape mistral-7b --batch 4 --seq 256 --impl rvtune

Random weights of the real shape (speed and memory depend on shapes, not values); 4-bit,
group 64; LoRA rank 16 (scale 1) on all seven projections of every layer; Adam, lr 1e-5.
``mlx-lm`` runs mlx_lm.tuner.trainer.train itself and reads its own tokens/s report;
``rvtune`` runs rvtune's training loop (with its fast quantized backward where enabled).
Prints one JSON line; ``--matmul`` also measures the card's bf16 matmul throughput.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import models  # noqa: E402

KEYS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def matmul_tflops(n=8192, reps=20):
    """Measured bf16 matmul throughput of this device (TFLOP/s)."""
    import mlx.core as mx

    a = mx.random.normal((n, n)).astype(mx.bfloat16)
    b = mx.random.normal((n, n)).astype(mx.bfloat16)
    mx.eval(a, b)
    for _ in range(3):
        mx.eval(a @ b)
    tic = time.perf_counter()
    for _ in range(reps):
        c = a @ b
        mx.eval(c)
    return 2 * n**3 * reps / (time.perf_counter() - tic) / 1e12


class Dataset:
    """Random token rows of exactly seq+1 tokens (no padding)."""

    def __init__(self, n, seq, vocab, seed=0):
        import numpy as np

        rng = np.random.default_rng(seed)
        self.rows = [(rng.integers(3, vocab, seq + 1).tolist(), 0) for _ in range(n)]

    def __getitem__(self, i):
        return self.rows[i]

    def __len__(self):
        return len(self.rows)


def add_lora(model, rank=16, scale=1.0):
    from mlx_lm.tuner.utils import linear_to_lora_layers

    model.freeze()
    linear_to_lora_layers(model, len(model.layers),
                          {"rank": rank, "scale": scale, "dropout": 0.0, "keys": KEYS})


def bench_mlx_lm(model, data, args):
    import mlx.optimizers as optim
    from mlx_lm.tuner.callbacks import TrainingCallback
    from mlx_lm.tuner.trainer import TrainingArgs, train

    reports = []

    class Keep(TrainingCallback):
        def on_train_loss_report(self, info):
            reports.append(info)

    # Two report windows of --steps each: the first holds compilation, the second is kept.
    targs = TrainingArgs(batch_size=args.batch, iters=2 * args.steps,
                         steps_per_report=args.steps, steps_per_eval=10**9,
                         steps_per_save=10**9, max_seq_length=args.seq + 1,
                         grad_checkpoint=args.grad_checkpoint,
                         adapter_file=str(Path(args.tmp) / "bench_adapters.safetensors"))
    train(model, optim.Adam(learning_rate=1e-5), data, None, args=targs,
          training_callback=Keep())
    last = reports[-1]
    return last["tokens_per_second"], last["peak_memory"]


def bench_rvtune(model, data, args):
    from rvtune.training.bench import measure_steps

    return measure_steps(model, data, batch_size=args.batch, max_seq_length=args.seq + 1,
                         warmup=args.warmup, steps=args.steps, fast_qmm=args.fast_qmm,
                         grad_checkpoint=args.grad_checkpoint,
                         forward_rows=args.forward_rows)


def breakdown(model, data, args):
    """Milliseconds per step for the forward pass alone and forward + backward, compiled."""
    import mlx.core as mx
    import mlx.nn as nn

    from rvtune.training import qmm_vjp
    from rvtune.training.data import masked_loss

    if qmm_vjp.wanted(args.fast_qmm):
        qmm_vjp.enable(model, forward_rows=args.forward_rows)
    rows = [data[i][0] for i in range(args.batch)]
    tokens = mx.array(rows)
    lengths = mx.array([[1, len(r)] for r in rows])
    forward = mx.compile(lambda t, l: masked_loss(model, t, l)[0])
    grad_fn = nn.value_and_grad(model, masked_loss)
    both = mx.compile(lambda t, l: grad_fn(model, t, l))
    out = {}
    for name, fn in (("forward_ms", forward), ("forward_backward_ms", both)):
        for _ in range(2):
            mx.eval(fn(tokens, lengths))
        tic = time.perf_counter()
        for _ in range(args.steps):
            mx.eval(fn(tokens, lengths))
        out[name] = round((time.perf_counter() - tic) / args.steps * 1000, 1)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", default="mistral-7b", choices=sorted(models.SHAPES))
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--impl", choices=["mlx-lm", "rvtune"], default="mlx-lm")
    p.add_argument("--fast-qmm", choices=["auto", "on", "off"], default="auto")
    p.add_argument("--forward-rows", type=int, default=None,
                   help="with the fast path: dequantize + dense matmul in the forward pass "
                        "too when batch x tokens >= this (omitted or 0: quantized forward; "
                        "rvtune run's default is 1024)")
    p.add_argument("--grad-checkpoint", action="store_true")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--bits", type=int, default=4, help="0 = LoRA on unquantized weights")
    p.add_argument("--dtype", default="bfloat16",
                   help="weights' dtype (use float32 on CPU: bf16 matmuls are emulated there)")
    p.add_argument("--matmul", action="store_true")
    p.add_argument("--breakdown", action="store_true",
                   help="time the forward pass and forward + backward (no optimizer)")
    p.add_argument("--tmp", default="/tmp")
    args = p.parse_args()

    from rvtune.training.cpu import fast_blas
    from rvtune.training.cuda import limit_graph_memory

    fast_blas()  # as the CLI does: MLX's CPU matmuls through OpenBLAS where installed
    # rvtune caps what a CUDA graph keeps alive (training/cuda.py); plain mlx-lm runs with
    # MLX's defaults, as its users do, unless MLX_MAX_MB_PER_BUFFER is set for both.
    graph_mb = limit_graph_memory() if args.impl == "rvtune" else os.environ.get(
        "MLX_MAX_MB_PER_BUFFER")
    import mlx.core as mx

    mx.random.seed(0)
    model = models.build(args.shape, bits=args.bits, dtype=args.dtype)
    add_lora(model)
    data = Dataset(max(64, args.batch * 8), args.seq, models.SHAPES[args.shape]["vocab_size"])
    if args.breakdown:
        print(json.dumps({"shape": args.shape, "batch": args.batch, "seq": args.seq,
                          "fast_qmm": args.fast_qmm, "forward_rows": args.forward_rows,
                          **breakdown(model, data, args)}), flush=True)
        return
    mx.reset_peak_memory()
    fn = bench_mlx_lm if args.impl == "mlx-lm" else bench_rvtune
    tokens_per_s, peak_gb = fn(model, data, args)
    flops_per_token = 4 * models.parameter_count(args.shape)
    result = {"impl": args.impl, "shape": args.shape, "batch": args.batch, "seq": args.seq,
              "bits": args.bits, "dtype": args.dtype,
              "fast_qmm": args.fast_qmm if args.impl == "rvtune" else "-",
              "forward_rows": args.forward_rows,
              "grad_checkpoint": args.grad_checkpoint, "device": str(mx.default_device()),
              "graph_mb": graph_mb,
              "tokens_per_s": round(tokens_per_s, 1), "peak_gb": round(peak_gb, 2),
              "model_tflops": round(tokens_per_s * flops_per_token / 1e12, 1)}
    from rvtune.core.jobs import TrainConfig
    from rvtune.training.memory import GB, estimate

    cfg = TrainConfig(batch_size=args.batch, max_seq_length=args.seq + 1, bits=args.bits,
                      grad_checkpoint=args.grad_checkpoint)
    # Plain mlx-lm runs neither rvtune's fast quantized path nor its lean LoRA branch.
    from rvtune.training import qmm_vjp

    ours = args.impl == "rvtune"
    result["estimate_gb"] = round(estimate(
        models.config(args.shape, args.dtype), cfg, 1, args.seq + 1,
        fast_path=ours and args.bits > 0 and qmm_vjp.wanted(args.fast_qmm),
        lean_lora=None if ours else False).total / GB, 2)
    if args.matmul:
        peak = matmul_tflops()
        result["matmul_tflops"] = round(peak, 1)
        result["share_of_matmul_peak"] = round(result["model_tflops"] / peak, 3)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
