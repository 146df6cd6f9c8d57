"""The adapters.npz helper shared with the exporters."""

import json

import numpy as np
import pytest

from rvtune.training.adapters import CONFIG_KEY, load_npz, save_npz


def test_npz_round_trip_without_pickle(tmp_path):
    weights = {"model.layers.0.self_attn.q_proj.lora_a": np.ones((8, 2), np.float32),
               "model.layers.0.self_attn.q_proj.lora_b": np.zeros((2, 8), np.float32)}
    config = {"lora_parameters": {"rank": 2, "scale": 1.0, "keys": ["self_attn.q_proj"]}}
    path = save_npz(tmp_path / "adapters.npz", weights, config)
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == set(weights) | {CONFIG_KEY}
        assert data[CONFIG_KEY].dtype == np.uint8
        assert json.loads(bytes(data[CONFIG_KEY])) == config
    loaded, cfg = load_npz(path)
    assert cfg == config
    assert np.array_equal(loaded["model.layers.0.self_attn.q_proj.lora_a"], weights[
        "model.layers.0.self_attn.q_proj.lora_a"])


def test_npz_takes_mlx_arrays_including_bfloat16(tmp_path):
    mx = pytest.importorskip("mlx.core")
    path = save_npz(tmp_path / "a.npz", {"x.lora_a": mx.ones((3,), dtype=mx.bfloat16)}, {})
    loaded, _ = load_npz(path)
    assert loaded["x.lora_a"].dtype == np.float32 and loaded["x.lora_a"].tolist() == [1, 1, 1]
