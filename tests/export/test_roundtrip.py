"""Round trips on the tiny model: every export reproduces the in-memory trained model's
logits on fixed inputs. Measured figures are printed (pytest -s) and recorded in
docs/export.md."""

import json

import numpy as np
import pytest

from export_helpers import (  # noqa: F401  (fixtures)
    TEXTS, logits_of, max_diff, tiny_model, trained_4bit, trained_full)

pytestmark = pytest.mark.slow
pytest.importorskip("mlx_lm")

EXACT = 1e-4  # same float32 arithmetic, only the loading path differs


def effect(trained):
    """How far the adapter moves the logits (so a tolerance can be judged against it)."""
    from rvtune.export.fused import base_logits

    model, tokenizer, ref, _ = trained
    base = base_logits(model, [list(tokenizer.encode(t)) for t in TEXTS])
    return max_diff(ref, base)


def test_npz_and_mlx_directory_reproduce_the_in_memory_model(trained_4bit):
    import mlx_lm

    import rvtune

    _model, tokenizer, ref, run = trained_4bit
    assert effect(trained_4bit) > 0.1  # the adapter really changes the outputs
    for path in (run / "adapters.npz", run / "adapters", run):
        model, tok = rvtune.load(adapter_path=path)
        d = max_diff(logits_of(model, tok), ref)
        print(f"rvtune.load({path.name}): max |dlogits| {d:.2e}")
        assert d <= EXACT, path
    # mlx-lm's own loader reads the directory (base quantized as the trainer did)
    from rvtune.training.model import load_base
    from mlx_lm.tuner.utils import load_adapters

    model, tok, _c, _q = load_base(json.loads((run / "adapters" / "adapter_config.json")
                                              .read_text())["model"], 4, 64)
    load_adapters(model, str(run / "adapters"))
    d = max_diff(logits_of(model, tok), ref)
    print(f"mlx_lm load_adapters(adapters/): max |dlogits| {d:.2e}")
    assert d <= EXACT
    assert mlx_lm  # imported: the public package is what users call


def test_exported_npz_and_mlx_equal_the_trainer_files(trained_4bit, tmp_path):
    from rvtune.core.jobs import ExportRequest
    from rvtune.export.adapter import read_mlx, read_npz
    from rvtune.export.mlx import MlxExporter
    from rvtune.export.npz import NpzExporter

    run = trained_4bit[3]
    original = read_mlx(run / "adapters")
    NpzExporter().export(ExportRequest(None, tmp_path / "a.npz", {"adapter": run / "adapters"}))
    MlxExporter().export(ExportRequest(None, tmp_path / "m", {"adapter": run / "adapters.npz"}))
    data = np.load(tmp_path / "a.npz", allow_pickle=False)  # plain numpy, no pickle
    assert "model.layers.0.self_attn.q_proj.lora_a" in data.files
    for again in (read_npz(tmp_path / "a.npz"), read_mlx(tmp_path / "m")):
        assert again.rank == original.rank and again.scale == original.scale
        assert again.keys == original.keys and again.model == original.model
        assert set(again.weights) == set(original.weights)
        for name, value in original.weights.items():
            np.testing.assert_array_equal(again.weights[name], value)
    config = json.loads((tmp_path / "m" / "adapter_config.json").read_text())
    assert config["num_layers"] == 2 and config["lora_parameters"]["keys"]


def test_fused_quantized_kept_and_dequantized_match(trained_4bit, tmp_path):
    from mlx_lm.utils import load

    from rvtune.export.fused import fuse_to_dir

    _m, _t, ref, run = trained_4bit
    size = effect(trained_4bit)
    for dequantize, extra in ((False, {}), (True, {}), (False, {"max_drift": 0.5})):
        out = tmp_path / f"fused-{dequantize}-{len(extra)}"
        report = fuse_to_dir({"adapter_path": run / "adapters.npz"}, out,
                             dequantize=dequantize, **extra)
        model, tok = load(str(out))  # plain mlx-lm, no rvtune involved
        d = max_diff(logits_of(model, tok), ref)
        config = json.loads((out / "config.json").read_text())
        print(f"fused dequantize={dequantize} {extra}: {report.summary()}; reloaded max "
              f"|dlogits| {d:.3g} (adapter effect {size:.3g})")
        assert d <= extra.get("max_drift", 0.1) * size
        assert ("quantization" in config) is not dequantize
        assert json.loads((out / "rvtune_fuse.json").read_text())["drift"] == report.drift
        if not dequantize:  # layers without an adapter keep the base's 4 bits
            assert config["quantization"]["bits"] == 4
            assert set(report.layers.values()) <= {"4-bit", "8-bit", "float32"}
            kinds = {k: v for k, v in config["quantization"].items() if isinstance(v, dict)}
            if extra:  # a looser check accepts re-quantized adapted layers
                assert set(report.layers.values()) <= {"4-bit", "8-bit"}
                eight = {p for p, k in report.layers.items() if k == "8-bit"}
                assert set(kinds) == eight  # per-layer entries only where bits differ
                assert not report.retried


def test_fuse_check_catches_the_requantization_trap(tiny_model, tmp_path):
    """A small delta forced back into 4 bits is washed out; the check notices and the
    export falls back to 16-bit layers instead of shipping the base model."""
    import mlx.core as mx

    from rvtune.export.fused import fuse_to_dir

    from export_helpers import save_like_trainer, train_in_memory

    model, tok, info, quant = train_in_memory(tiny_model, bits=4, steps=0)
    mx.random.seed(3)
    for _path, module in model.named_modules():
        if "lora_b" in module:
            module.lora_b = mx.random.normal(module.lora_b.shape) * 0.02
    ref = logits_of(model, tok)
    run = save_like_trainer(model, info, quant, tiny_model, tmp_path / "run")
    logs = []
    report = fuse_to_dir({"adapter_path": run / "adapters.npz"}, tmp_path / "fused",
                         max_delta_error=1e9, log=logs.append)  # accept 4-bit everywhere
    print(f"forced 4-bit: {logs[0] if logs else 'no retry'}; then {report.summary()}")
    assert report.retried and logs and "retrying" in logs[0]
    assert json.loads((tmp_path / "fused" / "rvtune_fuse.json").read_text())["retried"] is True
    assert "4-bit" not in report.layers.values()
    from mlx_lm.utils import load

    fused, tok2 = load(str(tmp_path / "fused"))
    assert max_diff(logits_of(fused, tok2), ref) <= report.allowed


def test_peft_export_matches_transformers_peft(trained_full, tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("peft")
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from rvtune.core.jobs import ExportRequest
    from rvtune.export.adapter import read_peft, read_npz
    from rvtune.export.peft import PeftExporter

    model, tokenizer, ref, run = trained_full
    out = PeftExporter().export(ExportRequest(None, tmp_path / "peft",
                                              {"adapter": run / "adapters.npz"}))
    config = json.loads((out / "adapter_config.json").read_text())
    npz = read_npz(run / "adapters.npz")
    assert config["r"] == npz.rank and config["lora_alpha"] == npz.scale * npz.rank
    assert config["layers_to_transform"] == [1]  # adapters on the last block only
    assert "self_attn.q_proj" in config["target_modules"]

    base = AutoModelForCausalLM.from_pretrained(config["base_model_name_or_path"],
                                                dtype=torch.float32)
    peft_model = PeftModel.from_pretrained(base, str(out)).eval()
    got = []
    with torch.no_grad():
        for text in TEXTS:
            ids = torch.tensor([list(tokenizer.encode(text))])
            got.append(peft_model(ids).logits[0].numpy())
        with peft_model.disable_adapter():
            plain = [peft_model(torch.tensor([list(tokenizer.encode(t))])).logits[0].numpy()
                     for t in TEXTS]
    d, size = max_diff(got, ref), max_diff(plain, ref)
    print(f"PEFT on torch vs MLX: max |dlogits| {d:.2e} (adapter effect {size:.3g})")
    assert size > 0.05 and d <= 1e-4
    back = read_peft(out)  # and the PEFT directory reads back losslessly
    for name, value in npz.weights.items():
        np.testing.assert_allclose(back.weights[name], value, rtol=0, atol=0)


def test_gguf_holds_expected_tensors_and_metadata(trained_full, tmp_path):
    gguf = pytest.importorskip("gguf")
    from rvtune.core.jobs import ExportRequest
    from rvtune.export.adapter import read_npz
    from rvtune.export.gguf import GgufExporter

    model, tokenizer, _ref, run = trained_full
    out = GgufExporter().export(ExportRequest(
        None, tmp_path / "m.gguf", {"adapter": run / "adapters.npz", "modelfile": True}))
    reader = gguf.GGUFReader(str(out))
    tensors = {t.name: t for t in reader.tensors}
    config = json.loads((run / "adapters" / "adapter_config.json").read_text())
    base_cfg = json.loads((__import__("pathlib").Path(config["model"]) / "config.json")
                          .read_text())
    layers = base_cfg["num_hidden_layers"]
    expected = {"token_embd.weight", "output_norm.weight", "output.weight"}
    for i in range(layers):
        expected |= {f"blk.{i}.{n}.weight" for n in (
            "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down",
            "attn_norm", "ffn_norm")}
    assert set(tensors) == expected
    assert tensors["blk.0.attn_q.weight"].tensor_type == gguf.GGMLQuantizationType.F16
    assert tensors["output_norm.weight"].tensor_type == gguf.GGMLQuantizationType.F32

    def field(name):
        f = reader.fields[name]
        value = f.parts[f.data[0]]
        return bytes(value).decode() if f.types[0] == gguf.GGUFValueType.STRING else value[0]

    assert field("general.architecture") == "llama"
    assert field("llama.block_count") == layers
    assert field("llama.embedding_length") == base_cfg["hidden_size"]
    assert field("llama.attention.head_count_kv") == base_cfg["num_key_value_heads"]
    assert field("llama.rope.dimension_count") == base_cfg["head_dim"]
    # as many tokens as embedding rows: the tokenizer's 1,026 padded with unused ones
    assert len(reader.fields["tokenizer.ggml.tokens"].data) == base_cfg["vocab_size"]
    assert len(tokenizer.get_vocab()) < base_cfg["vocab_size"]

    # The adapter is in: blk.1.attn_v (not permuted) = base + scale * (a @ b).T
    from mlx.utils import tree_flatten

    adapter = read_npz(run / "adapters.npz")
    lora = dict(model.named_modules())["model.layers.1.self_attn.v_proj"]
    w0 = np.array(lora.linear.weight)
    a = adapter.weights["model.layers.1.self_attn.v_proj.lora_a"]
    b = adapter.weights["model.layers.1.self_attn.v_proj.lora_b"]
    fused = w0 + adapter.scale * (a @ b).T
    stored = np.array(tensors["blk.1.attn_v.weight"].data, dtype=np.float32).reshape(fused.shape)
    # float16 rounding is far below the adapter's change
    assert np.linalg.norm(stored - fused) < 0.1 * np.linalg.norm(fused - w0)
    assert dict(tree_flatten(model.parameters()))  # the model object itself is untouched
    text = (out.parent / "Modelfile").read_text()
    assert text.startswith("FROM ./m.gguf") and '{{ .Prompt }}' in text
    assert 'PARAMETER stop "<|im_end|>"' in text
