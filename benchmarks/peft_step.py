"""transformers + PEFT LoRA training steps on rvtune's prepared rows, for the side-by-side.

    python benchmarks/peft_step.py --model MODEL_DIR --data DATA_DIR --batch 8 [--compile]

MODEL_DIR is a Hugging Face-layout directory (config.json, model.safetensors, tokenizer.json;
rvtune's cached conversion of a GGUF is one). The rows of DATA_DIR/train.jsonl (``text`` and
``prefix``, as `rvtune prepare` writes them) are tokenized as rvtune does (EOS appended, the
prompt masked with -100), sorted by length, cut into batches padded to a multiple of 16 and
visited in a seeded order, like rvtune's batches. LoRA rank 16, alpha 32, dropout 0 on the
seven projections; AdamW at 2e-4; bfloat16 weights on CUDA (float32 on the CPU); eager
attention unless --attn says otherwise; ``--compile`` wraps the model in torch.compile.
tokens/s counts the rows' real tokens (as rvtune's reports do) over the timed steps, with one
device sync at each end (none per step). Prints one JSON line.
"""

import argparse
import json
import random
import time
from pathlib import Path

KEYS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def batches(rows, tokenizer, batch_size, seed=0):
    import torch

    eos = tokenizer.eos_token_id
    encoded = []
    for row in rows:
        ids = tokenizer(row["text"], add_special_tokens=False)["input_ids"]
        if not ids or ids[-1] != eos:
            ids.append(eos)
        prompt = len(tokenizer(row.get("prefix", ""), add_special_tokens=False)["input_ids"])
        encoded.append((ids, prompt))
    encoded.sort(key=lambda item: len(item[0]))
    chunks = [encoded[i:i + batch_size] for i in range(0, len(encoded) - batch_size + 1,
                                                      batch_size)]
    random.Random(seed).shuffle(chunks)
    out = []
    for chunk in chunks:
        width = -(-max(len(ids) for ids, _ in chunk) // 16) * 16
        input_ids = torch.full((len(chunk), width), eos, dtype=torch.long)
        labels = torch.full((len(chunk), width), -100, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for j, (ids, prompt) in enumerate(chunk):
            input_ids[j, :len(ids)] = torch.tensor(ids)
            labels[j, max(prompt, 1):len(ids)] = torch.tensor(ids[max(prompt, 1):])
            mask[j, :len(ids)] = 1
        out.append((input_ids, mask, labels, sum(len(ids) for ids, _ in chunk)))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--attn", default="eager")
    p.add_argument("--compile", action="store_true")
    args = p.parse_args()

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    dtype = torch.bfloat16 if cuda else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype,
                                                 attn_implementation=args.attn).to(device)
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0,
                                             target_modules=KEYS, task_type="CAUSAL_LM"))
    model.train()
    if args.compile:
        model = torch.compile(model)
    optimizer = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=2e-4)
    rows = [json.loads(line) for line in
            (Path(args.data) / "train.jsonl").read_text().splitlines() if line.strip()]
    data = batches(rows, tokenizer, args.batch)

    def step(i):
        input_ids, mask, labels, n = data[i % len(data)]
        loss = model(input_ids=input_ids.to(device), attention_mask=mask.to(device),
                     labels=labels.to(device)).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss, n

    tic = time.perf_counter()
    for i in range(args.warmup):
        step(i)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    warm_s = time.perf_counter() - tic
    tokens = 0
    tic = time.perf_counter()
    for i in range(args.warmup, args.warmup + args.steps):
        loss, n = step(i)
        tokens += n
    final = float(loss.detach())  # the one sync at the end
    elapsed = time.perf_counter() - tic
    print(json.dumps({
        "impl": "transformers+peft" + (" compile" if args.compile else ""), "attn": args.attn,
        "batch": args.batch, "dtype": str(dtype).replace("torch.", ""), "device": device,
        "tokens_per_s": round(tokens / elapsed, 1),
        "steps_per_s": round(args.steps / elapsed, 2),
        "peak_gb": round(torch.cuda.max_memory_allocated() / 1e9, 2) if cuda else None,
        "warmup_s": round(warm_s, 1), "loss": round(final, 4)}), flush=True)


if __name__ == "__main__":
    main()
