"""The CUDA user's QLoRA step: transformers + PEFT + bitsandbytes NF4, for the side-by-side
with ``benchmarks/qlora_step.py`` (same shapes, same rows, same JSON keys where they apply).

    python benchmarks/peft_qlora_step.py --shape mistral-7b --batch 4 --seq 256
    python benchmarks/peft_qlora_step.py --shape mistral-7b --batch 4 --seq 256 --grad-checkpoint
    python benchmarks/peft_qlora_step.py --shape mistral-tiny --quant none   # CPU smoke test

Written as a user writes a QLoRA step (the recipe of the PEFT/bitsandbytes docs):

* a ``MistralForCausalLM`` of the real shape (``benchmarks/models.py``) with random weights
  (speed and memory depend on shapes, not values), built from ``MistralConfig`` without the
  Hub, bfloat16, ``attn_implementation="sdpa"``;
* 4-bit NF4 the faithful way (``--quant load``, the default): the random bf16 model is saved
  once with ``save_pretrained`` (to ``--cache``, reused by later runs) and loaded back with
  ``from_pretrained(quantization_config=BitsAndBytesConfig(load_in_4bit=True,
  bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16,
  bnb_4bit_use_double_quant=True))``, exactly the path of a real checkpoint.
  ``--quant replace`` instead swaps every projection of the blocks for a bitsandbytes
  ``Linear4bit`` (same NF4 and double quantization, no disk round trip; quicker on a cold
  machine; lm_head stays bf16 either way, as transformers leaves it). ``--quant none``
  trains LoRA on the bf16 (float32 on the CPU) model, for testing without a GPU;
* ``prepare_model_for_kbit_training`` (norms, embeddings and lm_head to float32, as it does
  for every user; it turns gradient checkpointing on only with ``--grad-checkpoint``), then
  ``peft.LoraConfig(r=16, lora_alpha=32, lora_dropout=0, all seven projections)``;
* AdamW at lr 2e-4 over the LoRA parameters; the forward pass under
  ``torch.autocast(bfloat16)``, as the Trainer's ``bf16=True`` runs it; the loss is
  transformers' own (``labels=``).

Rows: ``--batch`` rows of ``--seq`` random token ids with ``labels=input_ids`` (the model
runs the same ``batch x seq`` positions as qlora_step.py's rows of ``seq + 1`` tokens; the
loss covers ``seq - 1`` of them after transformers' shift); tokens/s counts ``batch x seq`` over ``--steps`` timed steps after ``--warmup`` (a device
sync at each end). ``peak_gb`` is ``torch.cuda.max_memory_allocated`` over the timed steps
(decimal GB, what the tensors hold, as MLX's peak); ``reserved_gb`` what PyTorch's caching
allocator held. Prints one JSON line last.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import models  # noqa: E402

KEYS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def mistral_config(shape: str, **extra):
    from transformers import MistralConfig

    s = dict(models.SHAPES[shape])
    return MistralConfig(**s, max_position_embeddings=32768, rms_norm_eps=1e-5,
                         tie_word_embeddings=bool(s.get("tie_word_embeddings", False)),
                         sliding_window=None, **extra)


def random_model(shape: str, device: str, dtype):
    """A randomly initialised MistralForCausalLM, built directly on ``device``."""
    import torch
    from transformers import MistralForCausalLM

    torch.manual_seed(0)
    config = mistral_config(shape)
    with torch.device(device):
        model = MistralForCausalLM(config).to(dtype)
    return model


def bnb_config():
    import torch
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                              bnb_4bit_compute_dtype=torch.bfloat16,
                              bnb_4bit_use_double_quant=True)


def load_quantized(shape: str, cache: Path, device: str):
    """``--quant load``: save the random bf16 model once, load it back in NF4."""
    import torch
    from transformers import MistralForCausalLM

    folder = cache / f"{shape}-bf16"
    if not (folder / "config.json").exists():
        model = random_model(shape, device, torch.bfloat16)
        folder.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(folder)
        del model
        if device == "cuda":
            torch.cuda.empty_cache()
    return MistralForCausalLM.from_pretrained(
        folder, quantization_config=bnb_config(), dtype=torch.bfloat16,
        attn_implementation="sdpa", device_map={"": 0} if device == "cuda" else {"": device})


def replace_with_linear4bit(model, device: str):
    """``--quant replace``: each projection of the blocks becomes a bnb Linear4bit (NF4,
    double quantization, bf16 compute), quantized as it moves to ``device``."""
    import bitsandbytes as bnb
    import torch

    for layer in model.model.layers:
        for parent in (layer.self_attn, layer.mlp):
            for name, module in list(parent.named_children()):
                if name not in KEYS:
                    continue
                q = bnb.nn.Linear4bit(module.in_features, module.out_features,
                                      bias=module.bias is not None,
                                      compute_dtype=torch.bfloat16, compress_statistics=True,
                                      quant_type="nf4", device="meta")
                # Quantized where the weight is (on a GPU: built there, no host round trip).
                q.weight = bnb.nn.Params4bit(module.weight.data, requires_grad=False,
                                             compress_statistics=True, quant_type="nf4")
                if module.bias is not None:
                    q.bias = torch.nn.Parameter(module.bias.data, requires_grad=False)
                setattr(parent, name, q.to(device))
                del module
    # What from_pretrained's bnb path records, so PEFT treats the model as 4-bit.
    model.is_loaded_in_4bit = True
    model.config.quantization_config = bnb_config()
    if device == "cuda":
        torch.cuda.empty_cache()
    return model


def build(args, device: str):
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if args.quant == "load":
        try:
            model = load_quantized(args.shape, Path(args.cache), device)
        except ImportError as exc:  # e.g. no accelerate for device_map: say so, swap layers
            print(f"--quant load failed ({exc}); using --quant replace", file=sys.stderr)
            args.quant = "replace"
    if args.quant != "load":
        dtype = torch.bfloat16 if device == "cuda" or args.quant == "replace" else torch.float32
        # On CUDA the random model is built on the GPU (a 7B CPU init takes minutes).
        where = device if args.quant == "none" or device == "cuda" else "cpu"
        model = random_model(args.shape, where, dtype)
        model.config._attn_implementation = "sdpa"
        if args.quant == "replace":
            model = replace_with_linear4bit(model, device)
        model = model.to(device)
    if args.quant != "none":
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=args.grad_checkpoint,
            gradient_checkpointing_kwargs={"use_reentrant": False})
    elif args.grad_checkpoint:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model.config.use_cache = False
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0,
                                             target_modules=KEYS, task_type="CAUSAL_LM"))
    return model


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", default="mistral-7b", choices=sorted(models.SHAPES))
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--grad-checkpoint", action="store_true")
    p.add_argument("--quant", choices=["load", "replace", "none"], default="load",
                   help="NF4 via save_pretrained + from_pretrained (default), by swapping in "
                        "Linear4bit layers, or no quantization")
    p.add_argument("--no-autocast", action="store_true",
                   help="no torch.autocast(bfloat16) around the forward pass")
    p.add_argument("--cache", default="/tmp/rvtune-peft-models",
                   help="where --quant load keeps the saved random bf16 model")
    args = p.parse_args()

    import numpy as np
    import torch

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    tic = time.perf_counter()
    model = build(args, device)
    model.train()
    load_s = time.perf_counter() - tic
    n4bit = sum(type(m).__name__ == "Linear4bit" for m in model.modules())
    optimizer = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=2e-4)
    vocab = models.SHAPES[args.shape]["vocab_size"]
    rng = np.random.default_rng(0)
    data = [torch.tensor(rng.integers(3, vocab, (args.batch, args.seq)), device=device)
            for _ in range(4)]
    autocast = not args.no_autocast and (cuda or args.quant != "none")

    def step(i):
        inputs = data[i % len(data)][:, :args.seq]
        with torch.autocast(device, dtype=torch.bfloat16, enabled=autocast):
            # As users write it: labels = input_ids, shifted inside transformers' loss.
            loss = model(input_ids=inputs, labels=inputs).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss

    for i in range(args.warmup):
        step(i)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    tic = time.perf_counter()
    for i in range(args.warmup, args.warmup + args.steps):
        loss = step(i)
    final = float(loss.detach())  # the one sync at the end
    elapsed = time.perf_counter() - tic
    tokens_per_s = args.batch * args.seq * args.steps / elapsed
    flops_per_token = 4 * models.parameter_count(args.shape)
    import peft
    import transformers

    versions = {"torch": torch.__version__, "transformers": transformers.__version__,
                "peft": peft.__version__}
    try:
        import bitsandbytes

        versions["bitsandbytes"] = bitsandbytes.__version__
    except ImportError:
        pass
    print(json.dumps({
        "impl": "peft+bnb" if args.quant != "none" else "peft (no quantization)",
        "shape": args.shape, "batch": args.batch, "seq": args.seq,
        "bits": 4 if args.quant != "none" else 0, "quant": args.quant,
        "dtype": "bfloat16" if (cuda or autocast) else "float32", "fast_qmm": "-",
        "forward_rows": None, "grad_checkpoint": args.grad_checkpoint, "device": device,
        "tokens_per_s": round(tokens_per_s, 1),
        "peak_gb": round(torch.cuda.max_memory_allocated() / 1e9, 2) if cuda else None,
        "reserved_gb": round(torch.cuda.max_memory_reserved() / 1e9, 2) if cuda else None,
        "model_tflops": round(tokens_per_s * flops_per_token / 1e12, 1),
        "linear4bit_layers": n4bit, "load_s": round(load_s, 1), "loss": round(final, 4), **versions}), flush=True)


if __name__ == "__main__":
    main()
