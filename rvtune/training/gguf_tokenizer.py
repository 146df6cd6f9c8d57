"""The Hugging Face tokenizer files for a GGUF model, built from its ``tokenizer.ggml.*``
metadata with the ``tokenizers`` package alone (no torch, no transformers GGUF loader).

Two vocabularies are read, the ones llama and mistral GGUF files carry:

- ``gpt2``: byte-level BPE (SmolLM2, Llama 3, GPT-2). Tokens are stored in the byte-level
  alphabet, merges in rank order; ``tokenizer.ggml.pre`` names llama.cpp's pre-tokenizer,
  whose splitting rule is rebuilt here (``smollm`` splits digits one by one first, as SmolLM2
  was trained);
- ``llama``: SentencePiece BPE with byte fallback (Llama 2, Mistral). Merges are taken from
  the file or, as llama.cpp does, implied by the scores: a piece that two other pieces join
  into is merged at the rank of its score.

Tokens typed CONTROL (3) become special added tokens, USER_DEFINED (4) plain added tokens
(always matched whole). The chat template, the special tokens and ``add_bos_token`` go to
``tokenizer_config.json``. See docs/gguf-models.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from rvtune.core.errors import DataError, UsageError

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

# llama.cpp's pre-tokenizer rules (llama-vocab.cpp), by the name the GGUF stores.
_GPT2_SPLIT = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
_LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_TEKKEN_SPLIT = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
                 r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"
                 r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
#: tokenizer.ggml.pre -> (split regex, split digits one by one first)
PRE_TOKENIZERS = {
    "default": (_GPT2_SPLIT, False),
    "gpt-2": (_GPT2_SPLIT, False),
    "gpt2": (_GPT2_SPLIT, False),
    "smollm": (_GPT2_SPLIT, True),
    "llama-bpe": (_LLAMA3_SPLIT, False),
    "llama3": (_LLAMA3_SPLIT, False),
    "llama-v3": (_LLAMA3_SPLIT, False),
    "smaug-bpe": (_LLAMA3_SPLIT, False),
    "dbrx": (_LLAMA3_SPLIT, False),
    "falcon3": (_LLAMA3_SPLIT, False),
    "pixtral": (_LLAMA3_SPLIT, False),
    "tekken": (_TEKKEN_SPLIT, False),
}
#: split regex -> the name rvtune's GGUF export writes for it (the reverse of the above)
LLAMACPP_PRE = {_GPT2_SPLIT: "gpt-2", _LLAMA3_SPLIT: "llama-bpe", _TEKKEN_SPLIT: "tekken"}


def field(reader, key: str, default=None):
    """The value of GGUF metadata ``key`` (``default`` when absent)."""
    found = reader.fields.get(key)
    if found is None:
        return default
    value = found.contents()
    return default if value is None else value


def write_tokenizer(reader, path: Path, out: Path, vocab_size: int, log=None) -> None:
    """Write ``tokenizer.json`` and ``tokenizer_config.json`` for GGUF ``path`` into ``out``.

    ``reader`` is the file's ``gguf.GGUFReader``; ``vocab_size`` the embedding's rows (the
    vocabulary may not be larger). Raises :class:`UsageError` / :class:`DataError` with one
    line for a vocabulary kind rvtune cannot rebuild or inconsistent metadata.
    """
    kind = field(reader, "tokenizer.ggml.model")
    tokens = field(reader, "tokenizer.ggml.tokens")
    if kind is None or not tokens:
        raise DataError(f"{path}: has no tokenizer (tokenizer.ggml.model/tokens missing); "
                        "pass the Hugging Face model directory instead")
    if len(tokens) > vocab_size:
        raise DataError(f"{path}: the vocabulary has {len(tokens)} tokens but the embedding "
                        f"only {vocab_size} rows; the file is inconsistent")
    types = list(field(reader, "tokenizer.ggml.token_type", [NORMAL] * len(tokens)))
    if len(types) != len(tokens):
        raise DataError(f"{path}: tokenizer.ggml.token_type has {len(types)} entries for "
                        f"{len(tokens)} tokens; the file is inconsistent")
    special = {name: field(reader, f"tokenizer.ggml.{key}_token_id")
               for name, key in (("bos", "bos"), ("eos", "eos"), ("unk", "unknown"),
                                 ("pad", "padding"))}
    special = {k: int(v) for k, v in special.items() if v is not None and 0 <= v < len(tokens)}
    if kind == "gpt2":
        tokenizer = _byte_level(reader, path, tokens, types, log)
        add_bos_default = False
    elif kind == "llama":
        tokenizer = _sentencepiece(reader, path, tokens, types, special)
        add_bos_default = True  # llama.cpp's default for SentencePiece vocabularies
    else:
        raise UsageError(f"{path}: GGUF tokenizer '{kind}' is not supported (supported: gpt2, "
                         "llama); pass the Hugging Face model directory instead")
    _add_tokens(tokenizer, tokens, types)
    add_bos = bool(field(reader, "tokenizer.ggml.add_bos_token", add_bos_default))
    add_eos = bool(field(reader, "tokenizer.ggml.add_eos_token", False))
    _post_processor(tokenizer, tokens, special, add_bos and "bos" in special,
                    add_eos and "eos" in special)
    out = Path(out)
    tokenizer.save(str(out / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "add_bos_token": add_bos,
        "add_eos_token": add_eos,
        "clean_up_tokenization_spaces": False,
        "model_max_length": int(field(reader, f"{field(reader, 'general.architecture')}"
                                               ".context_length", 4096)),
    }
    for name, token_id in special.items():
        config[f"{name}_token"] = tokens[token_id]
    template = field(reader, "tokenizer.chat_template")
    if template:
        config["chat_template"] = template
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "special_tokens_map.json").write_text(json.dumps(
        {f"{name}_token": tokens[i] for name, i in special.items()}, indent=2) + "\n")


def _first_ids(tokens, types=None, only=None) -> dict:
    """token -> the id of its first occurrence (of type ``only``, when given)."""
    ids = {}
    for index, token in enumerate(tokens):
        if only is None or types[index] == only:
            ids.setdefault(token, index)
    return ids


def _merges(reader, path: Path) -> list:
    merges = []
    for number, merge in enumerate(field(reader, "tokenizer.ggml.merges", []), 1):
        left, sep, right = merge.partition(" ")
        if not sep or not left or not right:
            raise DataError(f"{path}: tokenizer.ggml.merges entry {number} ({merge!r}) is not "
                            "two tokens separated by a space; the file is damaged")
        merges.append((left, right))
    return merges


def _byte_level(reader, path: Path, tokens, types, log):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    merges = _merges(reader, path)
    if not merges:
        raise DataError(f"{path}: a byte-level (gpt2) vocabulary without merges; the file is "
                        "incomplete")
    tokenizer = Tokenizer(models.BPE(vocab=_first_ids(tokens), merges=merges, fuse_unk=False))
    pre = field(reader, "tokenizer.ggml.pre", "default")
    if pre not in PRE_TOKENIZERS:
        if log:
            log(f"{path.name}: pre-tokenizer '{pre}' is not known to rvtune; splitting text as "
                "GPT-2 does (token ids may differ from llama.cpp's for some text)")
        pre = "default"
    split, digits = PRE_TOKENIZERS[pre]
    steps = [pre_tokenizers.Digits(individual_digits=True)] if digits else []
    if split == _GPT2_SPLIT:  # ByteLevel's own regex: the form Hugging Face models ship
        steps.append(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True))
    else:
        steps += [pre_tokenizers.Split(Regex(split), behavior="isolated"),
                  pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    tokenizer.pre_tokenizer = steps[0] if len(steps) == 1 else pre_tokenizers.Sequence(steps)
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def _sentencepiece(reader, path: Path, tokens, types, special):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    merges = _merges(reader, path)
    if not merges:
        scores = field(reader, "tokenizer.ggml.scores")
        if scores is None or len(scores) != len(tokens):
            raise DataError(f"{path}: a SentencePiece (llama) vocabulary with neither merges "
                            "nor one score per token; the file is incomplete")
        merges = implied_merges(tokens, types, scores)
    unk = tokens[special["unk"]] if "unk" in special else None
    tokenizer = Tokenizer(models.BPE(vocab=_first_ids(tokens), merges=merges, unk_token=unk,
                                     fuse_unk=True, byte_fallback=True))
    prefix = bool(field(reader, "tokenizer.ggml.add_space_prefix", True))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement="\u2581", prepend_scheme="first" if prefix else "never", split=False)
    steps = [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()]
    if prefix:
        steps.append(decoders.Strip(" ", 1, 0))
    tokenizer.decoder = decoders.Sequence(steps)
    return tokenizer


def implied_merges(tokens, types, scores) -> list:
    """The BPE merges a SentencePiece vocabulary implies: every way a NORMAL piece splits into
    two NORMAL pieces, best-scored piece first (ties: by the pieces' ids)."""
    ids = _first_ids(tokens, types, NORMAL)
    ranked = []
    for token, index in ids.items():
        for cut in range(1, len(token)):
            left, right = token[:cut], token[cut:]
            if left in ids and right in ids:
                ranked.append((-float(scores[index]), ids[left], ids[right], left, right))
    ranked.sort()
    return [(left, right) for *_, left, right in ranked]


def _add_tokens(tokenizer, tokens, types) -> None:
    from tokenizers import AddedToken

    control = [AddedToken(t, special=True, normalized=False)
               for t, kind in zip(tokens, types) if kind == CONTROL]
    user = [AddedToken(t, special=False, normalized=False)
            for t, kind in zip(tokens, types) if kind == USER_DEFINED]
    if control:
        tokenizer.add_special_tokens(control)
    if user:
        tokenizer.add_tokens(user)


def _post_processor(tokenizer, tokens, special, add_bos: bool, add_eos: bool) -> None:
    from tokenizers import processors

    if not add_bos and not add_eos:
        return
    bos = [tokens[special["bos"]]] if add_bos else []
    eos = [tokens[special["eos"]]] if add_eos else []
    single = " ".join(bos + ["$A"] + eos)
    pair = " ".join(bos + ["$A"] + eos + bos + ["$B:1"] + eos)
    used = {tokens[special[k]]: special[k] for k, on in (("bos", add_bos), ("eos", add_eos))
            if on}
    tokenizer.post_processor = processors.TemplateProcessing(
        single=single, pair=pair, special_tokens=list(used.items()))
