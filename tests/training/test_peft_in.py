"""PEFT adapters into rvtune: one built by peft itself on the tiny model gives the same logits
in MLX as in transformers; rvtune's own PEFT export comes back; `--adapter-init` starts a
run from one; tensors that do not fit are one line naming tensor and both shapes."""

import json

import pytest
from click.testing import CliRunner

from rvtune.cli import cli
from rvtune.core.errors import DataError

pytestmark = pytest.mark.slow

TEXTS = ("<|im_start|>user\nAdd a0 and a1 into a2.<|im_end|>\n<|im_start|>assistant\n",
         "User: load a word from 8(sp) into t0\nAssistant: lw t0, 8(sp)")
TARGETS = ["q_proj", "v_proj", "down_proj"]


@pytest.fixture(scope="module")
def peft_dir(tiny_model, tmp_path_factory):
    """A LoRA adapter made and saved by peft on the tiny model (random A and B), and the
    logits transformers computes with it."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("peft")
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model), torch_dtype=torch.float32)
    model = get_peft_model(base, LoraConfig(r=8, lora_alpha=32, target_modules=TARGETS,
                                            lora_dropout=0.0, init_lora_weights=False))
    out = tmp_path_factory.mktemp("peft") / "adapter"
    model.save_pretrained(str(out))
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    with torch.no_grad():
        logits = [model(torch.tensor([tokenizer.encode(t)])).logits[0].numpy() for t in TEXTS]
    return out, logits


def mlx_logits(model, tokenizer):
    import mlx.core as mx
    import numpy as np

    return [np.array(model(mx.array([tokenizer.encode(t)]))[0].astype(mx.float32))
            for t in TEXTS]


def max_diff(a, b):
    import numpy as np

    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


def export(*args):
    return CliRunner().invoke(cli, ["export", *map(str, args)], catch_exceptions=False)


def test_peft_made_by_peft_gives_the_transformers_logits(peft_dir, tiny_model, tmp_path):
    import rvtune

    path, torch_logits = peft_dir
    result = export("--from-peft", path, "--out", tmp_path / "mlx")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "mlx" / "adapter_config.json").read_text())
    assert config["lora_parameters"]["rank"] == 8 and config["lora_parameters"]["scale"] == 4.0
    for adapter in (tmp_path / "mlx", path):
        model, tokenizer = rvtune.load(str(tiny_model), adapter_path=str(adapter), bits=0)
        assert max_diff(mlx_logits(model, tokenizer), torch_logits) < 1e-4


def test_rvtune_written_peft_comes_back_with_the_same_logits(peft_dir, tiny_model, tmp_path):
    import numpy as np
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import rvtune
    from rvtune.export.adapter import read_adapter

    path, torch_logits = peft_dir
    assert export("--from-peft", path, "--out", tmp_path / "first").exit_code == 0
    result = export("--adapter", tmp_path / "first", "--format", "peft", "--out",
                    tmp_path / "peft")
    assert result.exit_code == 0, result.output
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model), torch_dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    again = PeftModel.from_pretrained(base, str(tmp_path / "peft")).eval()
    with torch.no_grad():
        logits = [again(torch.tensor([tokenizer.encode(t)])).logits[0].numpy() for t in TEXTS]
    assert max_diff(logits, torch_logits) < 1e-5
    assert export("--from-peft", tmp_path / "peft", "--out", tmp_path / "back").exit_code == 0
    first, back = read_adapter(tmp_path / "first"), read_adapter(tmp_path / "back")
    for name, value in first.weights.items():
        np.testing.assert_array_equal(value, back.weights[name])
    a = mlx_logits(*rvtune.load(str(tiny_model), adapter_path=str(tmp_path / "first"), bits=0))
    b = mlx_logits(*rvtune.load(str(tiny_model), adapter_path=str(tmp_path / "back"), bits=0))
    assert max_diff(a, b) < 1e-5


def test_a_tensor_that_does_not_fit_the_base_is_one_line(peft_dir, tmp_path):
    import shutil

    from safetensors.numpy import load_file, save_file

    path, _ = peft_dir
    bad = tmp_path / "bad"
    shutil.copytree(path, bad)
    tensors = load_file(str(bad / "adapter_model.safetensors"))
    name = next(n for n in sorted(tensors) if "lora_A" in n and "q_proj" in n)
    tensors[name] = tensors[name][:, :32].copy()  # as if the base were narrower
    save_file(tensors, str(bad / "adapter_model.safetensors"))
    result = CliRunner().invoke(cli, ["export", "--from-peft", str(bad), "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code != 0
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    assert "tensor 'model.layers.0.self_attn.q_proj.lora_a' has shape (32, 8)" in errors[0]
    assert "needs (64, 8) there" in errors[0]
    assert not (tmp_path / "out").exists()


def test_adapter_init_starts_from_the_peft_adapter(peft_dir, make_job, tmp_path):
    import numpy as np

    from rvtune.export.adapter import read_adapter
    from rvtune.plugins.mlx_trainer import MlxTrainer

    path, _ = peft_dir
    options = dict(bits=0, rank=8, target_modules=tuple(TARGETS), iters=1, save_every=1,
                   learning_rate=1e-12, adapter_init=str(path))
    same = make_job(run_dir=tmp_path / "same", alpha=32.0, **options)
    MlxTrainer().train(same)
    assert any("Starting from adapter" in line and "6 LoRA layers" in line
               for line in same.lines)
    start, end = read_adapter(path), read_adapter(tmp_path / "same" / "adapters")
    for name, value in start.weights.items():
        np.testing.assert_allclose(end.weights[name], value, atol=1e-6)

    scaled = make_job(run_dir=tmp_path / "scaled", alpha=8.0, **options)  # scale 1, not 4
    MlxTrainer().train(scaled)
    end = read_adapter(tmp_path / "scaled" / "adapters")
    for name, value in start.weights.items():
        factor = 4.0 if name.endswith("lora_b") else 1.0
        np.testing.assert_allclose(end.weights[name], value * factor, atol=1e-5)

    with pytest.raises(DataError, match=r"tensor 'model.layers.0.mlp.down_proj.lora_a' has "
                                        r"shape \(128, 8\) but this run's LoRA needs "
                                        r"\(128, 4\) \(--rank 4\)"):
        MlxTrainer().train(make_job(run_dir=tmp_path / "rank", **{**options, "rank": 4}))
