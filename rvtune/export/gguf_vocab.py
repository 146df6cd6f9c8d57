"""A Hugging Face ``tokenizer.json`` as llama.cpp's GGUF vocabulary.

Two kinds are written, chosen by looking at the tokenizer:

- byte-level BPE (GPT-2, SmolLM2, the tiny preset): ``tokenizer.ggml.model = gpt2``, the
  tokens as stored (byte-level characters), the merges in rank order, and
  ``tokenizer.ggml.pre`` naming llama.cpp's pre-tokenizer regex (``gpt-2`` for a plain
  ``ByteLevel`` pre-tokenizer, ``smollm`` when digits are split one by one first);
- SentencePiece BPE with byte fallback (Llama 2, Mistral): ``tokenizer.ggml.model = llama``,
  ``<0xNN>`` byte tokens typed BYTE, and scores, read from ``tokenizer.model`` with the
  ``sentencepiece`` package when both are there, else from the merge ranks (the piece made by
  merge *r* scores ``-r``, which orders llama.cpp's merges exactly as the BPE merges).

Token types follow llama.cpp: NORMAL 1, UNKNOWN 2, CONTROL 3 (special added tokens),
USER_DEFINED 4 (other added tokens, always matched whole), UNUSED 5, BYTE 6. When the
embedding has more rows than the tokenizer has tokens, the vocabulary is padded with
``[PAD<id>]`` tokens typed UNUSED so that both agree, as llama.cpp requires.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from rvtune.core.errors import UsageError

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
_BYTE_TOKEN = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")
_HINT = ("export --format fused and convert it with llama.cpp's convert_hf_to_gguf.py "
         "instead")


@dataclass
class GgufVocab:
    """What goes under ``tokenizer.ggml.*``."""

    model: str                      # "gpt2" or "llama"
    tokens: list
    types: list
    scores: list | None = None
    merges: list = field(default_factory=list)
    pre: str | None = None
    special: dict = field(default_factory=dict)  # "bos" / "eos" / "unk" / "pad" -> id
    add_bos: bool = False
    add_eos: bool = False
    add_space_prefix: bool | None = None

    def write_to(self, writer) -> None:
        """Add the vocabulary's key/values to a ``gguf.GGUFWriter``."""
        writer.add_tokenizer_model(self.model)
        if self.pre:
            writer.add_tokenizer_pre(self.pre)
        writer.add_token_list(self.tokens)
        writer.add_token_types(self.types)  # INT32 array, as llama.cpp reads it
        if self.scores is not None:
            writer.add_token_scores(self.scores)
        if self.merges:
            writer.add_token_merges(self.merges)
        setters = {"bos": writer.add_bos_token_id, "eos": writer.add_eos_token_id,
                   "unk": writer.add_unk_token_id, "pad": writer.add_pad_token_id}
        for key, token_id in self.special.items():
            setters[key](token_id)
        writer.add_add_bos_token(self.add_bos)
        writer.add_add_eos_token(self.add_eos)
        if self.add_space_prefix is not None:
            writer.add_add_space_prefix(self.add_space_prefix)


def read_vocab(model_dir, rows: int, stop_strings=()) -> GgufVocab:
    """The GGUF vocabulary of the tokenizer in ``model_dir``, padded to ``rows`` tokens.

    Added tokens equal to a stop string (``<|im_end|>``) are typed CONTROL: llama.cpp ends
    generation at such a token and would retype it anyway."""
    model_dir = Path(model_dir)
    path = model_dir / "tokenizer.json"
    if not path.exists():
        raise UsageError(f"{model_dir}: has no tokenizer.json; GGUF export needs a fast "
                         "(tokenizer.json) Hugging Face tokenizer")
    data = json.loads(path.read_text(encoding="utf-8"))
    config = _tokenizer_config(model_dir)
    model = data.get("model") or {}
    if model.get("type") != "BPE":
        raise UsageError(f"{path}: a {model.get('type')} tokenizer; rvtune writes GGUF "
                         f"vocabularies for BPE tokenizers only; {_HINT}")
    added = {int(t["id"]): t for t in data.get("added_tokens") or []}
    by_id = {int(i): tok for tok, i in model["vocab"].items()}
    by_id.update({i: t["content"] for i, t in added.items()})
    size = max(by_id) + 1
    if size > rows:
        raise UsageError(f"{path}: the tokenizer has {size} tokens but the model's embedding "
                         f"has only {rows} rows; the tokenizer does not belong to this model")
    tokens = [by_id.get(i, f"[PAD{i}]") for i in range(rows)]
    unk = model.get("unk_token")
    types = [_token_type(i, tokens[i], i in by_id, added.get(i), unk) for i in range(rows)]
    for i, tok in enumerate(tokens):
        if types[i] == USER_DEFINED and tok in stop_strings:
            types[i] = CONTROL
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges") or []]
    ids = {tok: i for i, tok in enumerate(tokens) if types[i] != UNUSED}
    if model.get("byte_fallback"):
        vocab = GgufVocab("llama", tokens, types,
                          scores=_spm_scores(model_dir, tokens, merges, ids),
                          add_space_prefix=_space_prefix(data, path))
    else:
        vocab = GgufVocab("gpt2", tokens, types, merges=merges,
                          pre=_byte_level_pre(data.get("pre_tokenizer"), path))
        for i, tok in enumerate(tokens):
            if types[i] == BYTE:  # "<0x0A>" is ordinary text in a byte-level vocabulary
                types[i] = NORMAL
    vocab.special = _special_ids(config, ids, unk)
    vocab.add_bos, vocab.add_eos = _adds(data, config, vocab.special)
    return vocab


def _tokenizer_config(model_dir: Path) -> dict:
    path = model_dir / "tokenizer_config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except json.JSONDecodeError:
        raise UsageError(f"{path}: not valid JSON; the model directory is damaged") from None


def _token_type(i, token, known, added, unk) -> int:
    if not known:
        return UNUSED
    if token == unk:
        return UNKNOWN
    if added is not None:
        return CONTROL if added.get("special") else USER_DEFINED
    if _BYTE_TOKEN.match(token):
        return BYTE
    return NORMAL


def _byte_level_pre(pre, path: Path) -> str:
    """llama.cpp's name for the pre-tokenizer regex of a byte-level BPE tokenizer."""
    from rvtune.training.gguf_tokenizer import LLAMACPP_PRE

    steps = pre.get("pretokenizers", []) if pre and pre.get("type") == "Sequence" else [pre]
    steps = [s or {} for s in steps]
    kinds = [s.get("type") for s in steps]
    digits = bool(kinds) and kinds[0] == "Digits" and steps[0].get("individual_digits")
    rest = steps[1:] if digits else steps
    last = steps[-1] if steps else {}
    if kinds and kinds[-1] == "ByteLevel" and not last.get("add_prefix_space", False):
        if len(rest) == 1 and last.get("use_regex", True):
            return "smollm" if digits else "gpt-2"
        if len(rest) == 2 and rest[0].get("type") == "Split" and not last.get("use_regex", True):
            name = LLAMACPP_PRE.get((rest[0].get("pattern") or {}).get("Regex"))
            if digits and name == "gpt-2":
                return "smollm"
            if name and not digits:
                return name
    raise UsageError(f"{path}: its pre-tokenizer ({' + '.join(map(str, kinds))}) is not one "
                     "rvtune maps to llama.cpp (ByteLevel = gpt-2, Digits + ByteLevel = "
                     f"smollm, Split(Llama 3 / Tekken regex) + ByteLevel); {_HINT}")


def _space_prefix(data: dict, path: Path) -> bool:
    """Whether a SentencePiece-style tokenizer puts '▁' before the text."""
    def steps(node):
        if not node:
            return []
        inner = node.get("pretokenizers") or node.get("normalizers")
        return [s for n in inner for s in steps(n)] if inner else [node]

    for step in steps(data.get("pre_tokenizer")):
        if step.get("type") == "Metaspace":
            return step.get("prepend_scheme", "always") != "never" and \
                step.get("add_prefix_space", True)
    normal = steps(data.get("normalizer"))
    if any(s.get("type") == "Replace" and s.get("content") == "\u2581" for s in normal):
        return any(s.get("type") == "Prepend" for s in normal)
    raise UsageError(f"{path}: a byte-fallback BPE tokenizer without SentencePiece's '\u2581' "
                     f"spaces (Metaspace); {_HINT}")


def _spm_scores(model_dir: Path, tokens: list, merges: list, ids: dict) -> list:
    """SentencePiece scores: from ``tokenizer.model`` when readable, else merge ranks."""
    real = _sentencepiece_scores(model_dir / "tokenizer.model", tokens)
    if real is not None:
        return real
    rank = {}
    for r, merge in enumerate(merges):
        left, _, right = merge.partition(" ")
        rank.setdefault(left + right, r)
    worst = float(len(merges))
    # Pieces no merge makes score below every merged piece, in vocabulary order.
    return [-float(rank[t]) if t in rank else -(worst + i) if t in ids else -1e9
            for i, t in enumerate(tokens)]


def _sentencepiece_scores(path: Path, tokens: list) -> list | None:
    if not path.exists():
        return None
    try:
        import sentencepiece
    except ImportError:
        return None
    processor = sentencepiece.SentencePieceProcessor(model_file=str(path))
    n = processor.get_piece_size()
    if n > len(tokens) or any(processor.id_to_piece(i) != tokens[i] for i in range(n)):
        return None  # not the model tokenizer.json was made from
    return [float(processor.get_score(i)) for i in range(n)] + \
        [-1e9] * (len(tokens) - n)


def _token_text(value) -> str | None:
    if isinstance(value, dict):
        return value.get("content")
    return value


def _special_ids(config: dict, ids: dict, unk) -> dict:
    out = {}
    for key, name in (("bos", "bos_token"), ("eos", "eos_token"), ("pad", "pad_token")):
        text = _token_text(config.get(name))
        if text in ids:
            out[key] = ids[text]
    text = _token_text(config.get("unk_token")) or unk
    if text in ids:
        out["unk"] = ids[text]
    return out


def _adds(data: dict, config: dict, special: dict) -> tuple[bool, bool]:
    """Whether encoding adds BOS / EOS: tokenizer_config's flags, else the post-processor."""
    first = last = None
    post = data.get("post_processor") or {}
    for step in post.get("processors", [post]):
        if step.get("type") == "TemplateProcessing":
            single = step.get("single") or []
            tokens = [p["SpecialToken"]["id"] for p in single if "SpecialToken" in p]
            if single and "SpecialToken" in single[0]:
                first = step.get("special_tokens", {}).get(tokens[0], {}).get("ids", [None])[0]
            if single and "SpecialToken" in single[-1]:
                last = step.get("special_tokens", {}).get(tokens[-1], {}).get("ids", [None])[0]
    add_bos = config.get("add_bos_token")
    add_eos = config.get("add_eos_token")
    if add_bos is None:
        add_bos = first is not None and first == special.get("bos")
    if add_eos is None:
        add_eos = last is not None and last == special.get("eos")
    return bool(add_bos), bool(add_eos)
