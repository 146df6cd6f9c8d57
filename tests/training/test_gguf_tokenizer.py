"""The tokenizer rvtune rebuilds from a GGUF file's metadata (no torch): it encodes and
decodes exactly as the Hugging Face tokenizer the file was written from, for both the
byte-level (gpt2) and the SentencePiece (llama) vocabularies."""

import json

import pytest

from gguf_files import write_gguf
from spm_model import spm_model_dir

TEXTS = [
    "add s1 and s2 and put the result in t0",
    "addi a0, a0, 1234\nsw t1, -8(sp)\n  beq x0, x0, loop",
    "Load ünïcode 😀 and 1234 numbers  twice\n\n\tx = y;",
    "  leading spaces, trailing ones  ",
    "",
]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("RVTUNE_CACHE", str(path))
    return path


def _same_tokenizer(original_dir, converted_dir, texts):
    from transformers import AutoTokenizer

    want = AutoTokenizer.from_pretrained(str(original_dir))
    got = AutoTokenizer.from_pretrained(str(converted_dir))
    for text in texts:
        ids = want(text).input_ids
        assert got(text).input_ids == ids, text
        assert got.decode(ids, skip_special_tokens=True) == want.decode(
            ids, skip_special_tokens=True), text
    assert (got.bos_token, got.eos_token) == (want.bos_token, want.eos_token)
    return got


def test_byte_level_vocabulary_matches_the_original(tiny_model, tmp_path, cache):
    from rvtune.training.from_gguf import gguf_model_dir

    out = gguf_model_dir(str(write_gguf(tiny_model, tmp_path / "tiny.gguf", "Q8_0")))
    tok = json.loads((tiny_model / "tokenizer.json").read_text())
    specials = [t["content"] for t in tok["added_tokens"] if t["special"]]
    texts = TEXTS + [f"{specials[0]}mv a0, a1{specials[-1]}"]
    got = _same_tokenizer(tiny_model, out, texts)
    assert got.convert_ids_to_tokens(got(specials[0]).input_ids)[-1] == specials[0]


def test_sentencepiece_vocabulary_matches_the_original(tmp_path, cache):
    """rvtune's own GGUF export of a Mistral-style tokenizer stores scores, not merges: the
    import has to recover the merges from the scores."""
    import gguf

    from rvtune.export.gguf_write import write_model_gguf
    from rvtune.training.from_gguf import gguf_model_dir

    model_dir = spm_model_dir(tmp_path, with_model_file=False)
    path = write_model_gguf(model_dir, tmp_path / "spm.gguf", "spm")
    reader = gguf.GGUFReader(str(path))
    assert "tokenizer.ggml.merges" not in reader.fields
    out = gguf_model_dir(str(path))
    got = _same_tokenizer(model_dir, out, TEXTS)
    assert got("sw t1").input_ids[0] == got.bos_token_id  # add_bos_token carried over


def test_unsupported_tokenizer_kind_says_what_is_supported(tiny_model, tmp_path, cache):
    from rvtune.core.errors import UsageError
    from rvtune.training.from_gguf import gguf_model_dir

    path = write_gguf(tiny_model, tmp_path / "tiny.gguf", "F32")
    key = b"tokenizer.ggml.model"
    raw = path.read_bytes()
    at = raw.index(key) + len(key) + 4 + 8  # the key, its value type, the string's length
    assert raw[at:at + 4] == b"gpt2"
    path.write_bytes(raw[:at] + b"bert" + raw[at + 4:])
    with pytest.raises(UsageError, match=r"tokenizer 'bert' is not supported \(supported: "
                                         r"gpt2, llama\)"):
        gguf_model_dir(str(path))
    assert not list((cache / "gguf").glob("*-v*"))  # nothing half-converted is kept


@pytest.mark.parametrize("pre,name", [("default", "gpt-2"), ("smollm", "smollm"),
                                      ("llama3", "llama-bpe"), ("tekken", "tekken")])
def test_pre_tokenizer_survives_import_and_export(tiny_model, tmp_path, cache, pre, name):
    """tokenizer.ggml.pre -> tokenizer.json on import -> the same llama.cpp rule on export."""
    from transformers import AutoTokenizer

    from rvtune.export.gguf_vocab import _byte_level_pre
    from rvtune.training.from_gguf import gguf_model_dir

    out = gguf_model_dir(str(write_gguf(tiny_model, tmp_path / "t.gguf", "Q8_0", pre=pre)))
    data = json.loads((out / "tokenizer.json").read_text())
    assert _byte_level_pre(data["pre_tokenizer"], out) == name
    pieces = AutoTokenizer.from_pretrained(str(out)).tokenize("li a0, 2048")
    assert ("2" in pieces) == (pre in ("smollm", "tekken"))  # digits one by one


def test_unknown_pre_tokenizer_warns_and_splits_like_gpt2(tiny_model, tmp_path, cache):
    from rvtune.training.from_gguf import gguf_model_dir

    lines = []
    path = write_gguf(tiny_model, tmp_path / "t.gguf", "F32", pre="some-new-model")
    out = gguf_model_dir(str(path), log=lines.append)
    assert any("pre-tokenizer 'some-new-model' is not known" in line for line in lines)
    _same_tokenizer(tiny_model, out, TEXTS)


def test_gguf_conversion_needs_no_torch(tiny_model, tmp_path, cache):
    """The README's install has no torch (CI's has): conversion and the tokenizer must work
    with torch unimportable, as they did not when transformers' GGUF reader built it."""
    import os
    import subprocess
    import sys

    path = write_gguf(tiny_model, tmp_path / "t.gguf", "Q8_0")
    code = ("import sys; sys.modules['torch'] = None\n"  # `import torch` raises ImportError
            "from rvtune.training.from_gguf import gguf_model_dir\n"
            "from transformers import AutoTokenizer\n"
            f"out = gguf_model_dir({str(path)!r})\n"
            "print(AutoTokenizer.from_pretrained(str(out))('sw t1, 8(sp)').input_ids)\n"
            "assert sys.modules['torch'] is None\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "RVTUNE_CACHE": str(cache)}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().startswith("[")
