"""A peak-memory estimate for a training config, made from ``config.json`` before loading.

It counts quantized weights, LoRA weights with their gradients and Adam moments, saved
activations for batch x sequence length (every block from the first adapted one, or one
block plus block inputs with gradient checkpointing), the float32 copies of the adapted
modules' inputs that mlx-lm's float32 LoRA weights cause in a 16-bit model, and the logits.
docs/memory.md explains each term and lists the measured peaks it is checked against
(``benchmarks/memory_points.py``).
"""

import os
from dataclasses import dataclass, replace

GB = 1e9  # decimal gigabytes, the unit of the training reports' peak_memory_gb
OVERHEAD = 1.10  # allocator slack, temporaries, the tokenizer and Python itself
#: Measured/counted ratio of activation memory. Once the float32 LoRA inputs are counted
#: (the earlier 1.9 stood in for them), the counted tensors match the peaks measured at
#: exact shapes: SmolLM2's shape on the CPU in float32 (8 x 65, 8 x 129) and the 7B shape
#: on an H200 (16 x 257, batch 8 and 2 x 4 of rows up to 115 tokens), all within 6%.
ACTIVATION_FACTOR = 1.0
#: With gradient checkpointing MLX keeps each block's input plus about two blocks' worth of
#: activations (the block being recomputed and its backward pass): measured on the CPU for
#: SmolLM2's shape (3.03 -> 1.57 GB at 8 x 129) and a 4-layer model (tests/training/
#: test_memory.py).
CHECKPOINT_BLOCKS = 2
#: ...except on CUDA with MLX's default graph size, where it kept almost all of them (22.0 ->
#: 19.5 GB for the 7B shape at 4 x 257 on an H200): each CUDA graph held every input of its
#: operations until it completed (rvtune/training/cuda.py). With rvtune's graph cap (the
#: default) checkpointing keeps what ``CHECKPOINT_BLOCKS`` counts: 7.2 GB at 4 x 257, and above
#: the cap ``graph_retention`` counts what the graphs keep; so this share now applies only off
#: CUDA, where the fast path runs only when forced (``RVTUNE_FAST_QMM=on``).
CHECKPOINT_KEEPS_FAST_PATH = 0.9
#: Measured/counted activations on CUDA with rvtune's graph cap, without checkpointing: the
#: 7B shape on an H200 at 4 x 257 (12.8 GB) and 16 x 257 (32.8 GB) and SmolLM2's at 8 x 49
#: (0.67 GB) fit 0.72-0.79 (docs/benchmarks.md, section 13). The counted tensors are an upper
#: bound there; the earlier CUDA points, which matched 1.0, included the graphs' retention.
CUDA_CAPPED_ACTIVATIONS = 0.75
#: Above rvtune's graph cap, MLX's CUDA graphs hold their inputs' transients until they have
#: run: the 7B shape's peak at 4 x 257 grew in a straight line with the cap C (M elements),
#: 12.14 (16), 12.82 (64), 14.18 (128), 16.03 (256), 20.21 (512), 27.41 GB (MLX's 1,000), the
#: same 14.3-14.6 GB more at 16 x 257: about this many graphs of C M 16-bit elements each, up
#: to one dense copy of every adapted block's weights (docs/benchmarks.md, section 15).
GRAPHS_RETAINED = 7.5
#: Share of the float32 LoRA-input copies still held with rvtune's lean LoRA branch (the
#: default, ``rvtune.training.lora.enable_lean_inputs``): measured on the CPU for a
#: quarter-width Mistral-7B shape in bfloat16 at 4 x 256 tokens, the branch saved 17 of the
#: 27 MB per block that the copies take (docs/benchmarks.md, section 10).
LEAN_COPY_SHARE = 0.37


@dataclass
class Estimate:
    """Bytes per component and in total."""

    weights: float
    lora: float
    activations: float
    logits: float
    total: float

    def describe(self) -> str:
        return (f"{self.total / GB:.2f} GB (weights {self.weights / GB:.2f}, LoRA + optimizer "
                f"{self.lora / GB:.2f}, activations {self.activations / GB:.2f}, logits "
                f"{self.logits / GB:.2f})")


def _dims(mc: dict) -> dict:
    text = mc.get("text_config") or {}
    get = lambda k, d=None: mc.get(k, text.get(k, d))  # noqa: E731
    hidden = get("hidden_size")
    heads = get("num_attention_heads")
    head_dim = get("head_dim") or hidden // heads
    return {"H": hidden, "I": get("intermediate_size", 4 * hidden), "L": get("num_hidden_layers"),
            "V": get("vocab_size"), "nh": heads, "nkv": get("num_key_value_heads") or heads,
            "hd": head_dim, "tie": bool(get("tie_word_embeddings", False)),
            "dtype": 2 if str(get("torch_dtype", "bfloat16")) in ("bfloat16", "float16")
            else 4}


def module_shapes(d: dict) -> dict:
    """(in, out) of each projection of a Mistral/Llama block."""
    H, I, nh, nkv, hd = d["H"], d["I"], d["nh"], d["nkv"], d["hd"]
    return {"q_proj": (H, nh * hd), "k_proj": (H, nkv * hd), "v_proj": (H, nkv * hd),
            "o_proj": (nh * hd, H), "gate_proj": (H, I), "up_proj": (H, I), "down_proj": (I, H)}


def _lora_inputs(d: dict, targets: set) -> dict:
    """Width of each distinct input that adapted modules read (q/k/v share one, gate/up
    share one)."""
    inputs = {}
    if targets & {"q_proj", "k_proj", "v_proj"}:
        inputs["attention"] = d["H"]
    if "o_proj" in targets:
        inputs["o_proj"] = d["nh"] * d["hd"]
    if targets & {"gate_proj", "up_proj"}:
        inputs["mlp"] = d["H"]
    if "down_proj" in targets:
        inputs["down_proj"] = d["I"]
    return inputs


def _fast_path_here(bits: int) -> bool:
    if not bits:
        return False
    try:
        from . import qmm_vjp

        return qmm_vjp.wanted(qmm_vjp.settings()[0])
    except Exception:  # no MLX, or a bad RVTUNE_FAST_QMM (reported where it is used)
        return False


def _lean_here(hidden: int) -> bool:
    try:
        from .lora import lean_wanted

        return lean_wanted(hidden)
    except Exception:  # a bad RVTUNE_LEAN_LORA (reported where it is used)
        return True


def _cuda_graph_here() -> int:
    """Millions of input elements per CUDA graph here; 0 when MLX does not run on CUDA."""
    from .cuda import graph_size, on_cuda

    try:
        return graph_size() if on_cuda() else 0
    except ImportError:  # no MLX
        return 0


def graph_retention(graph_m: int, dense_elements: float, dtype: int) -> float:
    """Bytes MLX's CUDA graphs of ``graph_m`` M input elements keep beyond rvtune's cap
    (see :data:`GRAPHS_RETAINED`), at most ``dense_elements`` 16-bit weights' worth."""
    from .cuda import GRAPH_MB

    extra = GRAPHS_RETAINED * max(0, graph_m - GRAPH_MB) * 2**20 * dtype
    return min(extra, dense_elements * dtype)


def estimate(model_config: dict, config, world_size: int = 1,
             seq_length: int | None = None, fast_path: bool | None = None,
             lean_lora: bool | None = None, cuda_graph_m: int | None = None) -> Estimate:
    """Estimate peak bytes for training ``config`` (a :class:`TrainConfig`) on this model.

    ``seq_length`` is the longest padded batch the data will produce (batches are padded to
    their longest row, not to ``--max-seq-length``); it defaults to ``--max-seq-length``.
    ``fast_path`` says whether the fast quantized backward (``qmm_vjp``) runs; None: as it
    would on this machine; ``lean_lora`` whether the LoRA branch keeps no float32 input
    copies (``RVTUNE_LEAN_LORA``); None: as set here (auto: from 2,048 wide);
    ``cuda_graph_m`` the CUDA graph size it runs with (M input elements,
    ``rvtune.training.cuda``; 0: not on CUDA); None: as here.
    """
    seq = min(seq_length or config.max_seq_length, config.max_seq_length)
    d = _dims(model_config)
    shapes = module_shapes(d)
    stored = model_config.get("quantization") or {}
    bits = stored.get("bits") or config.bits
    group = stored.get("group_size") or config.group_size
    dtype = d["dtype"]

    def weight_bytes(n):
        if not bits:
            return n * dtype
        return n * bits / 8 + n / group * 2 * dtype  # packed weights + scales and biases

    per_block = sum(i * o for i, o in shapes.values())
    embed = d["V"] * d["H"]
    weights = (d["L"] * weight_bytes(per_block) + weight_bytes(embed)
               + (0 if d["tie"] else weight_bytes(embed)) + (2 * d["L"] + 1) * d["H"] * dtype)

    layers = d["L"] if config.num_layers == -1 else min(config.num_layers, d["L"])
    targets = {t.rsplit(".", 1)[-1] for t in config.target_modules}
    if "all-linear" in targets:
        targets = set(shapes)
    lora_params = layers * sum(config.rank * (i + o) for name, (i, o) in shapes.items()
                               if name in targets)
    # fp32 weights + gradient + Adam's two moments, + an accumulated gradient
    lora = lora_params * 4 * (4 + (1 if config.grad_accumulation > 1 else 0))

    tokens = max(1, config.batch_size // world_size) * seq
    H, I, nh, nkv, hd = d["H"], d["I"], d["nh"], d["nkv"], d["hd"]
    per_token_block = dtype * (6 * H + 2 * nh * hd + 2 * nkv * hd + 4 * I
                               + 3 * config.rank * len(targets))
    if config.dropout:
        per_token_block += dtype * sum(shapes[t][0] for t in targets if t in shapes)
    if dtype < 4:
        # mlx-lm's LoRA weights are float32, so each distinct input of an adapted module is
        # promoted to a float32 copy that the backward pass keeps; rvtune's lean branch
        # recomputes it in the backward pass, and MLX then holds only part of it.
        # (With checkpointing only the recomputed blocks hold them, and there the lean
        # branch saved nothing measurable: their full size is counted.)
        if lean_lora is None:
            lean_lora = _lean_here(d["H"])
        lean = lean_lora and not config.grad_checkpoint
        per_token_block += ((LEAN_COPY_SHARE if lean else 1.0) * 4
                            * sum(_lora_inputs(d, targets).values()))
    attention = dtype * 2 * nh * seq  # scores and probabilities
    block = tokens * (per_token_block + attention) * ACTIVATION_FACTOR
    # Only blocks from the first adapted one up keep activations for the backward pass.
    if cuda_graph_m is None:
        cuda_graph_m = _cuda_graph_here()
    on_cuda = cuda_graph_m > 0  # calibrated at rvtune's cap, the graphs' retention added below
    if config.grad_checkpoint:
        fast = _fast_path_here(bits) if fast_path is None else fast_path
        activations = layers * tokens * H * dtype + CHECKPOINT_BLOCKS * block
        if fast and not on_cuda:
            activations = max(activations, CHECKPOINT_KEEPS_FAST_PATH * layers * block)
    else:
        activations = layers * block * (CUDA_CAPPED_ACTIVATIONS if on_cuda else 1.0)
    if on_cuda:
        activations += graph_retention(cuda_graph_m, layers * per_block, dtype)
    logits = tokens * d["V"] * dtype * 3  # logits, their softmax and gradient (model dtype)
    total = (weights + lora + activations + logits) * OVERHEAD
    return Estimate(weights, lora, activations, logits, total)


def available_memory() -> tuple[float, str]:
    """Bytes training may use here and where that number comes from."""
    try:
        import mlx.core as mx

        info = mx.device_info()
    except Exception:
        info = {}
    for key in ("max_recommended_working_set_size", "memory_size", "total_memory"):
        if info.get(key):
            return float(info[key]), f"device {key}"
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024, "MemAvailable"
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")), "physical"
    except (ValueError, OSError, AttributeError):
        return float("inf"), "unknown"


def what_fits(model_config: dict, config, limit: float, world_size: int = 1,
              seq_length: int | None = None) -> list:
    """Option changes (as CLI flags) whose estimate fits under ``limit``, cheapest first."""
    tries = []
    if not config.grad_checkpoint:
        tries.append(("--grad-checkpoint", {"grad_checkpoint": True}))
    b = config.batch_size // 2
    while b >= 1:
        tries.append((f"--batch-size {b}", {"batch_size": b}))
        b //= 2
    s = min(seq_length or config.max_seq_length, config.max_seq_length) // 2
    while s >= 256:
        tries.append((f"--max-seq-length {s}", {"max_seq_length": s}))
        s //= 2
    r = config.rank // 2
    while r >= 4:
        tries.append((f"--rank {r}", {"rank": r}))
        r //= 2
    fits, seen_kinds = [], set()
    for flag, change in tries:
        kind = next(iter(change))
        if kind in seen_kinds:
            continue
        est = estimate(model_config, replace(config, **change), world_size, seq_length)
        if est.total <= limit:
            fits.append(f"{flag} ({est.total / GB:.1f} GB)")
            seen_kinds.add(kind)
    if not fits:  # no single change is enough: combine the strongest ones
        combined = replace(config, grad_checkpoint=True, batch_size=1,
                           max_seq_length=min(config.max_seq_length, 512))
        est = estimate(model_config, combined, world_size, seq_length)
        if est.total <= limit:
            fits.append(f"--grad-checkpoint --batch-size 1 --max-seq-length "
                        f"{combined.max_seq_length} together ({est.total / GB:.1f} GB)")
    return fits


def advice(model_config: dict, config, limit: float, world_size: int = 1,
           seq_length: int | None = None) -> str:
    """One clause telling what fits, for errors about memory."""
    fits = what_fits(model_config, config, limit, world_size, seq_length)
    if fits:
        return "what fits: " + ", or ".join(fits)
    return ("even the smallest settings do not fit; use a smaller model or a lower --bits, "
            "or lower --batch-size, --max-seq-length and --rank and turn on --grad-checkpoint")
