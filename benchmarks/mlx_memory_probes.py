"""Minimal reproductions of where MLX holds memory in a QLoRA step, on the current device.

    python benchmarks/mlx_memory_probes.py [--rows 4096] [--width 4096]

Each probe prints one JSON line (``probe`` names it; MB are decimal, over the memory active
before the probe):

* ``dequantize``: the peak of one ``mx.dequantize`` of the 7B shape's lm_head (32768 x 4096,
  4-bit group 64) against its output. On the CPU it peaks at about 5x its output (the
  dequantization runs as a graph of whole-array steps); the fast quantized path dequantizes
  one weight at a time, so this sets its transient.
* ``lora_fp32_copy``: K chained LoRA branches ``x + ((x @ a) @ b)`` with a 16-bit ``x`` and
  float32 ``a``, ``b`` (mlx-lm's LoRA weights), differentiated and compiled: retained MB per
  branch, mlx-lm's expression against rvtune's lean branch
  (``rvtune.training.lora._lora_branch``), and the float32 copy's size. A peak, so it
  includes the backward pass's transients: on the CPU this chain showed no saving (the
  lean backward makes the float32 copy and dx transiently), while whole models did
  (docs/benchmarks.md, section 10: -17 of 27 MB of copies per block).
* ``graph_retention``: ``--chain`` transient buffers made one after another, each read once
  (``x[:, None] * v[None, :]`` then a sum: 134 MB in bf16), against the peak. Freed after
  their last use, two would be alive at a time; MLX's CUDA backend keeps every input of a
  recorded operation until its CUDA graph completes, so up to ``MLX_MAX_MB_PER_BUFFER``
  (millions of elements) of them stay alive (``rvtune/training/cuda.py``). Run it with and
  without that variable set.
* ``cross_entropy``: the peak of the gradient of ``nn.losses.cross_entropy`` over 16-bit
  logits (rows x vocabulary 32768) against the logits' size.
"""

import argparse
import json


def over(mx, fn):
    mx.eval(fn.__defaults__ or [])
    mx.clear_cache()
    mx.reset_peak_memory()
    base = mx.get_active_memory()
    out = fn()
    mx.eval(out)
    return (mx.get_peak_memory() - base) / 1e6


def graph_retention(mx, device, chain, n=8192):
    import os

    vs = [mx.random.normal((n,)).astype(mx.bfloat16) for _ in range(chain)]
    h = mx.random.normal((n,)).astype(mx.bfloat16)
    mx.eval(vs, h)

    def f():
        x = h
        for v in vs:
            x = (x[:, None] * v[None, :]).sum(axis=1) * 1e-4  # an n x n transient
        return x

    peak = over(mx, f)
    print(json.dumps({"probe": "graph_retention", "device": device,
                      "MLX_MAX_MB_PER_BUFFER": os.environ.get("MLX_MAX_MB_PER_BUFFER"),
                      "transients": chain, "transient_mb": round(n * n * 2 / 1e6, 1),
                      "peak_mb": round(peak, 1)}), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=4096)
    p.add_argument("--width", type=int, default=4096)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--chain", type=int, default=12)
    p.add_argument("--only", choices=["graph_retention"], help="run this probe alone")
    args = p.parse_args()

    import mlx.core as mx
    import mlx.nn as nn

    from rvtune.training.lora import _lora_branch

    device = str(mx.default_device())
    graph_retention(mx, device, args.chain)
    if args.only:
        return
    w = mx.random.normal((32768, 4096)).astype(mx.bfloat16)
    wq, s, b = mx.quantize(w, group_size=64, bits=4)
    del w
    mx.eval(wq, s, b)
    peak = over(mx, lambda: mx.dequantize(wq, s, b, group_size=64, bits=4, dtype=mx.bfloat16))
    print(json.dumps({"probe": "dequantize", "device": device, "output_mb": 32768 * 4096 * 2 / 1e6,
                      "peak_mb": round(peak, 1)}), flush=True)
    wq = s = b = None  # freed before the next probe

    n, d, r = args.rows, args.width, 16
    x = mx.random.normal((n, d)).astype(mx.bfloat16)
    weights = [(mx.random.normal((d, r)) * 0.01, mx.random.normal((r, d)) * 0.01)
               for _ in range(args.layers)]
    mx.eval(x, weights)
    lean = _lora_branch()

    def chain(k, lean_branch):
        def f(ws, x):
            for a, bb in ws[:k]:
                z = lean(x, a, bb) if lean_branch else (x @ a) @ bb
                x = x + z.astype(x.dtype)
            return x.astype(mx.float32).sum()
        g = mx.compile(mx.grad(f))
        return lambda: g(weights, x)

    result = {"probe": "lora_fp32_copy", "device": device, "rows": n, "width": d,
              "fp32_copy_mb": n * d * 4 / 1e6}
    for name, flag in (("mlx_lm", False), ("lean", True)):
        one, many = over(mx, chain(1, flag)), over(mx, chain(args.layers, flag))
        result[f"{name}_mb_per_branch"] = round((many - one) / (args.layers - 1), 1)
    print(json.dumps(result), flush=True)
    x = weights = None

    logits = mx.random.normal((args.rows, 32768)).astype(mx.bfloat16)
    targets = mx.random.randint(0, 32768, (args.rows,))
    mx.eval(logits, targets)
    g = mx.grad(lambda l: nn.losses.cross_entropy(l, targets).astype(mx.float32).sum())
    peak = over(mx, lambda: g(logits))
    print(json.dumps({"probe": "cross_entropy", "device": device,
                      "logits_mb": logits.nbytes / 1e6, "grad_peak_mb": round(peak, 1)}),
          flush=True)


if __name__ == "__main__":
    main()
