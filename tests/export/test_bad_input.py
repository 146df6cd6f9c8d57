"""Bad input gives one-line errors and leaves nothing half-written."""

import json
import shutil
import zipfile

import numpy as np
import pytest

from rvtune.core.errors import DataError, RvtuneError, UsageError
from rvtune.export.adapter import read_adapter, read_mlx, read_npz, read_peft

from export_helpers import (  # noqa: F401  (fixtures)
    tiny_model, trained_4bit, trained_full)


def one_line(exc) -> str:
    message = str(exc.value)
    assert "\n" not in message and len(message) < 400, message
    return message


def test_pickled_npz_is_refused(tmp_path):
    path = tmp_path / "adapters.npz"
    np.savez(path, **{"model.layers.0.self_attn.q_proj.lora_a": np.array([{"x": 1}],
                                                                          dtype=object)})
    with pytest.raises(DataError) as err:
        read_npz(path)
    assert "pickled" in one_line(err) and str(path) in str(err.value)


def test_truncated_or_corrupt_files(trained_4bit, tmp_path):
    run = trained_4bit[3]
    npz = tmp_path / "adapters.npz"
    npz.write_bytes((run / "adapters.npz").read_bytes()[:500])
    with pytest.raises(DataError) as err:
        read_npz(npz)
    assert "truncated or damaged" in one_line(err)

    mlx_dir = tmp_path / "mlx"
    shutil.copytree(run / "adapters", mlx_dir)
    data = (mlx_dir / "adapters.safetensors").read_bytes()
    (mlx_dir / "adapters.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError) as err:
        read_mlx(mlx_dir)
    assert "adapters.safetensors" in one_line(err)

    (mlx_dir / "adapter_config.json").write_text("{not json")
    with pytest.raises(DataError) as err:
        read_mlx(mlx_dir)
    assert "not valid JSON" in one_line(err)

    no_settings = tmp_path / "plain.npz"
    with zipfile.ZipFile(run / "adapters.npz") as zin, zipfile.ZipFile(no_settings, "w") as zout:
        for item in zin.namelist():
            if "__rvtune_config__" not in item:
                zout.writestr(item, zin.read(item))
    with pytest.raises(DataError) as err:
        read_npz(no_settings)
    assert "no LoRA settings" in one_line(err)


def test_adapter_that_does_not_fit_the_model(trained_4bit, tiny_model, tmp_path):
    import rvtune

    run = trained_4bit[3]
    adapter = read_npz(run / "adapters.npz")
    # wrong shapes: a rank-8 adapter whose lora_b was cut to the wrong output size
    name = "model.layers.0.self_attn.q_proj.lora_b"
    adapter.weights[name] = adapter.weights[name][:, :10]
    from rvtune.export.adapter import write_npz

    write_npz(adapter, tmp_path / "shape.npz")
    with pytest.raises(DataError) as err:
        rvtune.load(str(tiny_model), adapter_path=tmp_path / "shape.npz")
    assert f"'{name}' has shape (8, 10)" in one_line(err)

    # a module the model does not have
    adapter = read_npz(run / "adapters.npz")
    adapter.weights = {k.replace("layers.0.", "layers.7."): v for k, v in adapter.weights.items()}
    write_npz(adapter, tmp_path / "names.npz")
    with pytest.raises(DataError) as err:
        rvtune.load(str(tiny_model), adapter_path=tmp_path / "names.npz")
    assert "names no module" in one_line(err)


def test_unreadable_peft_variants(tmp_path):
    (tmp_path / "adapter_model.bin").write_bytes(b"pickle")
    (tmp_path / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "r": 4, "lora_alpha": 8}))
    with pytest.raises(DataError) as err:
        read_peft(tmp_path)
    assert "refuses" in one_line(err)
    (tmp_path / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "r": 4, "lora_alpha": 8, "use_dora": True}))
    with pytest.raises(DataError) as err:
        read_peft(tmp_path)
    assert "DoRA" in one_line(err)
    with pytest.raises(UsageError) as err:
        read_adapter(tmp_path / "missing")
    assert "no such adapter" in one_line(err)


@pytest.mark.slow
def test_gguf_for_an_unsupported_architecture(tiny_model, trained_full, tmp_path):
    from rvtune.core.jobs import ExportRequest
    from rvtune.export.gguf import GgufExporter

    other = tmp_path / "qwen-like"
    shutil.copytree(tiny_model, other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "model_type": "qwen2"}))
    out = tmp_path / "out" / "m.gguf"
    with pytest.raises(UsageError) as err:
        GgufExporter().export(ExportRequest(None, out, {
            "adapter": trained_full[3] / "adapters.npz", "model": str(other)}))
    assert "model_type 'qwen2'" in one_line(err) and "supported: llama, mistral" in str(err.value)
    assert not out.parent.exists() or not any(out.parent.iterdir())


@pytest.mark.slow
def test_failed_fuse_leaves_nothing_and_keeps_the_old_output(trained_4bit, tiny_model,
                                                             tmp_path):
    from rvtune.export.adapter import write_npz
    from rvtune.export.fused import fuse_to_dir

    adapter = read_npz(trained_4bit[3] / "adapters.npz")
    name = "model.layers.1.mlp.up_proj.lora_a"
    adapter.weights[name] = adapter.weights[name][:5]
    write_npz(adapter, tmp_path / "bad.npz")
    target = tmp_path / "out" / "fused"
    target.mkdir(parents=True)
    (target / "old.txt").write_text("previous export")
    with pytest.raises(RvtuneError):
        fuse_to_dir({"adapter_path": tmp_path / "bad.npz"}, target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["fused"]
    assert (target / "old.txt").read_text() == "previous export"

    # the drift check failing also writes nothing
    with pytest.raises(RvtuneError) as err:
        fuse_to_dir({"adapter_path": trained_4bit[3] / "adapters.npz"}, tmp_path / "strict",
                    dequantize=True, max_drift=1e-12)
    assert "nothing was written" in one_line(err)
    assert not (tmp_path / "strict").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".strict")]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["npz", "mlx", "peft", "fused", "gguf", "gguf-lora"])
def test_every_export_checks_the_adapter_against_the_base_first(trained_full, tiny_model,
                                                                tmp_path, fmt):
    """Wrong shapes, a block the model lacks, a module it lacks: one line, nothing written,
    whatever the format, and from the base's config alone when its weights are missing."""
    from rvtune.core.jobs import ExportRequest
    from rvtune.core.plugins import registry
    from rvtune.export.adapter import write_npz

    exporter = registry().get("exporter", fmt)
    run = trained_full[3]
    name = "model.layers.1.self_attn.q_proj.lora_b"
    config_only = tmp_path / "config-only"
    config_only.mkdir()
    shutil.copy(tiny_model / "config.json", config_only / "config.json")
    cases = (
        (lambda w: {**w, name: w[name][:, :10]}, str(tiny_model),
         f"tensor '{name}' has shape (8, 10) but {tiny_model} needs (8, 64) there"),
        (lambda w: {**w, name: w[name][:, :10]}, str(config_only),
         f"tensor '{name}' has shape (8, 10) but {config_only} needs (8, 64) there"),
        (lambda w: {k.replace("layers.1.", "layers.5."): v for k, v in w.items()},
         str(tiny_model), "is for block 5 but"),
        (lambda w: {k.replace("q_proj", "qkv_proj"): v for k, v in w.items()},
         str(tiny_model), "names no linear layer of"),
    )
    for i, (change, model, expected) in enumerate(cases):
        adapter = read_npz(run / "adapters.npz")
        adapter.weights = change(adapter.weights)
        adapter.model = model
        write_npz(adapter, tmp_path / f"bad{i}.npz")
        out = tmp_path / "out" / f"{i}.{'gguf' if fmt.startswith('gguf') else fmt}"
        with pytest.raises(DataError) as err:
            exporter().export(ExportRequest(None, out, {"adapter": tmp_path / f"bad{i}.npz"}))
        assert expected in one_line(err)
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
