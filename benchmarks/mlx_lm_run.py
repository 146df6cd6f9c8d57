"""Plain `python -m mlx_lm lora` on rvtune's prepared rows, reduced to one JSON line.

    python benchmarks/mlx_lm_run.py --model MODEL_DIR --data DATA_DIR --batch 8 --iters 150

LoRA rank 16, scale 2 (alpha 32) on the seven projections of every layer, Adam at 2e-4, no
validation or saving in the timed run. mlx-lm's own training loop runs unchanged; only its
reporting callback is swapped for one that keeps each report (``tokens_per_second``,
``peak_memory``). tokens/s is the median of the reports after the first (compilation). Its
tokens are the rows' real tokens, like rvtune's reports.
"""

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

KEYS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--iters", type=int, default=150)
    p.add_argument("--report", type=int, default=25)
    args = p.parse_args()

    import mlx_lm.lora as lora
    from mlx_lm.tuner.callbacks import TrainingCallback

    reports = []

    class Keep(TrainingCallback):
        def on_train_loss_report(self, info):
            reports.append({k: float(v) for k, v in info.items()})

    work = Path(tempfile.mkdtemp(prefix="rvtune-mlx-lm-"))
    config = work / "lora.yaml"
    config.write_text(json.dumps({"lora_parameters": {  # JSON is valid YAML
        "rank": 16, "scale": 2.0, "dropout": 0.0, "keys": KEYS}}))
    lora.get_reporting_callbacks = lambda *a, **k: Keep()
    sys.argv = ["mlx_lm.lora", "--model", args.model, "--train", "--data", args.data,
                "-c", str(config), "--fine-tune-type", "lora", "--num-layers", "-1",
                "--batch-size", str(args.batch), "--iters", str(args.iters),
                "--learning-rate", "2e-4", "--steps-per-report", str(args.report),
                "--steps-per-eval", "1000000", "--val-batches", "1",
                "--save-every", "1000000", "--max-seq-length", "512",
                "--adapter-path", str(work / "adapters")]
    lora.main()
    tps = [r["tokens_per_second"] for r in reports]
    its = [r.get("iterations_per_second", 0.0) for r in reports]
    print(json.dumps({
        "impl": "mlx-lm", "model": args.model, "batch": args.batch,
        "tokens_per_s": round(statistics.median(tps[1:] or tps), 1),
        "steps_per_s": round(statistics.median(its[1:] or its), 2),
        "peak_gb": round(max(r.get("peak_memory", 0.0) for r in reports), 2),
        "windows": [round(t) for t in tps]}), flush=True)


if __name__ == "__main__":
    main()
