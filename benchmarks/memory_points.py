"""The memory estimate against every measured peak we have (docs/memory.md, Calibration).

    python benchmarks/memory_points.py

Each point is a measured peak (decimal GB, MLX's ``get_peak_memory``) with its source; the
script prints ``rvtune.training.memory.estimate`` for the same settings and the ratio, so a
change to the estimate shows at once what it does to every configuration. Add a point after
each new measurement (``benchmarks/gpu_speed.sh`` and ``bench_memory.py`` print both sides).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import models  # noqa: E402

# (label, shape, dtype, bits, batch, seq (padded tokens per row), options, measured GB, source)
POINTS = [
    ("CPU, SmolLM2 shape, 8 x 65, --bits 0", "smollm2-135m", "float32", 0, 8, 65, {}, 1.78,
     "qlora_step.py --impl rvtune --shape smollm2-135m --dtype float32 --bits 0 --batch 8 "
     "--seq 64, 2-core x86_64, 2026-12-03"),
    ("CPU, SmolLM2 shape, 8 x 129, --bits 0", "smollm2-135m", "float32", 0, 8, 129, {}, 3.03,
     "same, --seq 128"),
    ("CPU, SmolLM2 shape, 8 x 129, --bits 0, --grad-checkpoint", "smollm2-135m", "float32", 0,
     8, 129, {"grad_checkpoint": True}, 1.57, "same, --grad-checkpoint"),
    ("H200, SmolLM2, batch 8 (rows <= 125), --bits 4", "smollm2-135m", "float16", 4, 8, 128,
     {}, 1.56, "issue 21: rvtune run --preset smollm2 --rank 16, 2026-12-03"),
    ("H200, SmolLM2, batch 64, --bits 4", "smollm2-135m", "float16", 4, 64, 128, {}, 11.2,
     "issue 21"),
    ("H200, SmolLM2, batch 8, --bits 0", "smollm2-135m", "float16", 0, 8, 128, {}, 1.69,
     "issue 21"),
    ("H200, SmolLM2, batch 64, --bits 0", "smollm2-135m", "float16", 0, 64, 128, {}, 10.2,
     "issue 21"),
    ("H200, 7B shape, 4 x 257", "mistral-7b", "bfloat16", 4, 4, 257, {}, 22.0,
     "docs/benchmarks.md section 6"),
    ("H200, 7B shape, 16 x 257", "mistral-7b", "bfloat16", 4, 16, 257, {}, 53.1, "same"),
    ("H200, 7B shape, rvtune run batch 8 (rows <= 115)", "mistral-7b", "bfloat16", 4, 8, 128,
     {}, 16.8, "same"),
    ("H200 x2, 7B shape, --nproc 2, 4 rows per GPU", "mistral-7b", "bfloat16", 4, 4, 128, {},
     11.4, "same"),
    ("H200, 7B shape, 4 x 257, --grad-checkpoint", "mistral-7b", "bfloat16", 4, 4, 257,
     {"grad_checkpoint": True}, 19.5, "same"),
    # docs/benchmarks.md section 12 (gpu_memory.sh, 2026-12-03 evening); "lean" = rvtune's
    # lean LoRA branch on (its default at this width), "mlx-lm" = plain mlx-lm's step.
    ("H200, 7B shape, 4 x 257, lean", "mistral-7b", "bfloat16", 4, 4, 257,
     {"lean": True, "graph": 1000}, 27.41, "gpu_memory.sh rvtune-4x256"),
    ("H200, 7B shape, 4 x 257", "mistral-7b", "bfloat16", 4, 4, 257, {"graph": 1000}, 28.31,
     "qlora_step.py with RVTUNE_LEAN_LORA=off"),
    ("H200, 7B shape, 4 x 257, --grad-checkpoint, lean", "mistral-7b", "bfloat16", 4, 4, 257,
     {"grad_checkpoint": True, "lean": True, "graph": 1000}, 23.03,
     "gpu_memory.sh rvtune-4x256-ckpt"),
    ("H200, 7B shape, 16 x 257, lean", "mistral-7b", "bfloat16", 4, 16, 257,
     {"lean": True, "graph": 1000}, 47.11, "gpu_memory.sh rvtune-16x256"),
    ("H200, 7B shape, 4 x 257, mlx-lm", "mistral-7b", "bfloat16", 4, 4, 257, {"mlx-lm": True},
     21.96, "gpu_memory.sh mlx-lm-4x256"),
    ("H200, 7B shape, 16 x 257, mlx-lm", "mistral-7b", "bfloat16", 4, 16, 257, {"mlx-lm": True},
     53.34, "gpu_memory.sh mlx-lm-16x256"),
    # docs/benchmarks.md section 13 (gpu_memory.sh PART=1/2, 2026-12-04): "capped" = MLX's
    # CUDA graphs capped at 64 (rvtune's default since then, rvtune/training/cuda.py). The
    # section-12 points above ran with MLX's default graph ("graph": 1000). The H200 points
    # without "graph" (sections 6 and 10, issue 21) ran earlier code, before the dense forward
    # and the lean branch, on MLX's default graph too; they are estimated as the estimate
    # stood then (no graph term) and are kept as history, not as calibration.
    ("H200, 7B shape, 4 x 257, lean, capped", "mistral-7b", "bfloat16", 4, 4, 257,
     {"lean": True, "graph": 64}, 12.81, "gpu_memory.sh rvtune-4x256"),
    ("H200, 7B shape, 4 x 257, --grad-checkpoint, lean, capped", "mistral-7b", "bfloat16", 4,
     4, 257, {"grad_checkpoint": True, "lean": True, "graph": 64}, 7.22,
     "gpu_memory.sh rvtune-4x256-ckpt"),
    ("H200, 7B shape, 16 x 257, lean, capped", "mistral-7b", "bfloat16", 4, 16, 257,
     {"lean": True, "graph": 64}, 32.79, "gpu_memory.sh rvtune-16x256"),
    ("H200, 7B shape, 4 x 257, mlx-lm, capped", "mistral-7b", "bfloat16", 4, 4, 257,
     {"mlx-lm": True, "graph": 64}, 14.21, "gpu_memory.sh mlx-lm-4x256-graph64"),
    ("H200, SmolLM2 shape, 8 x 49, --bits 4, capped", "smollm2-135m", "bfloat16", 4, 8, 49,
     {"graph": 64}, 0.67, "gpu_memory.sh smollm2-b8"),
    # docs/benchmarks.md sections 13 and 15: other graph sizes (RVTUNE_CUDA_GRAPH_MB=N).
    ("H200, 7B shape, 4 x 257, lean, graph 16", "mistral-7b", "bfloat16", 4, 4, 257,
     {"lean": True, "graph": 16}, 12.14, "qlora_step.py, RVTUNE_CUDA_GRAPH_MB=16"),
    ("H200, 7B shape, 4 x 257, lean, graph 128", "mistral-7b", "bfloat16", 4, 4, 257,
     {"lean": True, "graph": 128}, 14.18, "qlora_step.py, RVTUNE_CUDA_GRAPH_MB=128"),
    ("H200, 7B shape, 16 x 257, lean, graph 128", "mistral-7b", "bfloat16", 4, 16, 257,
     {"lean": True, "graph": 128}, 34.05, "same"),
    ("H200, 7B shape, 4 x 257, --grad-checkpoint, lean, graph 128", "mistral-7b", "bfloat16",
     4, 4, 257, {"grad_checkpoint": True, "lean": True, "graph": 128}, 8.38, "same"),
    ("H200, 7B shape, 4 x 257, lean, graph 256", "mistral-7b", "bfloat16", 4, 4, 257,
     {"lean": True, "graph": 256}, 16.03, "qlora_step.py, RVTUNE_CUDA_GRAPH_MB=256"),
    ("H200, 7B shape, 4 x 257, lean, graph 512", "mistral-7b", "bfloat16", 4, 4, 257,
     {"lean": True, "graph": 512}, 20.21, "qlora_step.py, RVTUNE_CUDA_GRAPH_MB=512"),
]


def estimate_gb(point, graph: int | None = None) -> float:
    """The estimate (GB) for one of :data:`POINTS`; ``graph`` (M elements per CUDA graph)
    None: as the point ran."""
    from rvtune.core.jobs import TrainConfig
    from rvtune.training.memory import GB, estimate

    label, shape, dtype, bits, batch, seq, options, _measured, _source = point
    options = dict(options)
    lean, plain = options.pop("lean", False), options.pop("mlx-lm", False)
    ran_with = options.pop("graph", 0)
    cfg = TrainConfig(batch_size=batch, bits=bits, rank=16, max_seq_length=max(seq, 512),
                      **options)
    # rvtune's H200 runs had the fast quantized path on (CUDA), the CPU runs not; points
    # without "lean" were measured before the lean LoRA branch (mlx-lm's LoRA inputs).
    fast = label.startswith("H200") and bits > 0 and not plain
    return estimate(models.config(shape, dtype), cfg, 1, seq, fast_path=fast, lean_lora=lean,
                    cuda_graph_m=ran_with if graph is None else graph).total / GB


def main():
    print("| configuration | measured (GB) | estimate (GB) | estimate / measured |")
    print("|---|---|---|---|")
    for point in POINTS:
        label, measured, est = point[0], point[7], estimate_gb(point)
        print(f"| {label} | {measured:.2f} | {est:.2f} | {est / measured:.2f} |")


if __name__ == "__main__":
    main()
