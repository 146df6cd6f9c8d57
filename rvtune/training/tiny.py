"""The offline ``tiny`` preset: a small Mistral-architecture model with random weights and a
BPE tokenizer trained locally on the built-in RISC-V dataset.

It proves the pipeline end to end without a download; it is not a useful model. Built once
into ``$RVTUNE_CACHE`` (default ``~/.cache/rvtune``) and reused.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

#: Bump when the recipe changes so old caches are not reused.
TINY_VERSION = 1
TINY_NAME = f"tiny-mistral-v{TINY_VERSION}"
VOCAB_SIZE = 1024
CORPUS_ROWS = 3000
ARCH = {
    "architectures": ["MistralForCausalLM"],
    "model_type": "mistral",
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "rms_norm_eps": 1e-5,
    "rope_theta": 1000000.0,
    "max_position_embeddings": 4096,
    "tie_word_embeddings": False,
    "torch_dtype": "float32",
}
CHAT_MARKERS = ("<|im_start|>", "<|im_end|>")
SPECIAL = ("<unk>", "<s>", "</s>", "[INST]", "[/INST]")
# Mistral's layout ([INST] ... [/INST] answer</s>), so `--formatter chat-template` works too.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'system' %}{% set ns_system = message['content'] %}"
    "{% elif message['role'] == 'user' %}[INST] {{ message['content'] }} [/INST]"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] }}{{ eos_token }}"
    "{% endif %}{% endfor %}"
)

#: The preset's training settings (the reference recipe's shape, sized for a laptop CPU).
TINY_SETTINGS = {
    "dataset": "riscv",
    "dataset_size": 1500,
    "iters": 200,
    "batch_size": 4,
    "learning_rate": 2e-3,
    "warmup": 10,
    "lr_schedule": "cosine",
    "max_seq_length": 256,
    "steps_per_report": 10,
    "steps_per_eval": 50,
    "val_batches": 8,
    "save_every": 100,
}

NOTICE = ("tiny preset: a random-weight toy model proves the pipeline works end to end; "
          "its answers are not useful RISC-V code")


def cache_root() -> Path:
    """Where rvtune caches built artefacts: ``$RVTUNE_CACHE`` or ``~/.cache/rvtune``."""
    return Path(os.environ.get("RVTUNE_CACHE") or Path.home() / ".cache" / "rvtune").expanduser()


def tiny_model_path(build: bool = True, log=None) -> Path:
    """The cached tiny model directory, built first if missing (and ``build``)."""
    path = cache_root() / TINY_NAME
    if (path / "config.json").exists() or not build:
        return path
    if log:
        log(f"Building the tiny model once into {path} ...")
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{TINY_NAME}.", dir=path.parent))
    try:
        build_tiny(work)
        try:
            os.rename(work, path)
        except OSError:
            if not (path / "config.json").exists():  # not a concurrent build that won
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return path


def _corpus(rows: int):
    from rvtune.riscv.generate import generate_rows

    for row in generate_rows(size=rows, seed=0):
        instructions = row["instructions"]
        if isinstance(instructions, list):
            instructions = "\n".join(instructions)
        yield f"User: {row['description']}\nAssistant: {instructions}"
        yield f"<|im_start|>user\n{row['description']}<|im_end|>\n<|im_start|>assistant\n"


def build_tokenizer(out: Path, texts) -> "object":
    """Train a byte-level BPE tokenizer on ``texts`` and save it as a Hugging Face tokenizer."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors
    from tokenizers.trainers import BpeTrainer
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=list(SPECIAL),
                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                         show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    # Chat markers stay whole but are ordinary text, so they survive decoding and the
    # formatter's stop strings see them.
    tok.add_tokens([AddedToken(m, special=False, normalized=False) for m in CHAT_MARKERS])
    bos = tok.token_to_id("<s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos)])
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        chat_template=CHAT_TEMPLATE, model_max_length=ARCH["max_position_embeddings"])
    wrapped.save_pretrained(str(out))
    return wrapped


def build_tiny(out: Path) -> None:
    """Write tokenizer files, ``config.json`` and random ``model.safetensors`` into ``out``."""
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.models.llama import Model, ModelArgs

    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(out, _corpus(CORPUS_ROWS))
    vocab = -(-len(tokenizer) // 64) * 64
    config = {**ARCH, "vocab_size": vocab, "bos_token_id": tokenizer.bos_token_id,
              "eos_token_id": tokenizer.eos_token_id,
              "rvtune": {"preset": "tiny", "version": TINY_VERSION, "note": NOTICE}}
    mx.random.seed(0)
    model = Model(ModelArgs.from_dict(config))
    weights = dict(tree_flatten(model.parameters()))
    mx.eval(weights)
    mx.save_safetensors(str(out / "model.safetensors"), weights, metadata={"format": "mlx"})
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "README.md").write_text(f"# {TINY_NAME}\n\n{NOTICE}.\n")
