"""LoRA setup: scale = alpha / rank, module names resolved to real paths, loud misses."""

import pytest

from rvtune.core.errors import UsageError
from rvtune.core.jobs import ALL_PROJECTIONS, TrainConfig


def fresh(tiny_model):
    from rvtune.training.model import load_base

    return load_base(tiny_model, 4, 64)[0]


def test_rank16_alpha16_gives_scale_1_and_all_seven_modules_in_every_layer(tiny_model):
    from mlx_lm.tuner.lora import LoRALinear

    from rvtune.training.lora import apply_lora

    model = fresh(tiny_model)
    info = apply_lora(model, TrainConfig(rank=16, alpha=16))
    assert info.scale == 1.0
    n_layers = len(model.layers)
    kinds = {path.rsplit(".", 1)[-1] for path in info.adapted}
    assert kinds == set(ALL_PROJECTIONS)
    assert all(count == n_layers for count in info.adapted.values())
    for layer in model.layers:
        adapters = [m for _, m in layer.named_modules() if isinstance(m, LoRALinear)]
        assert len(adapters) == 7
        assert all(m.scale == 1.0 for m in adapters)
        assert all(m.lora_a.shape[1] == 16 for m in adapters)
    assert 0 < info.trainable < info.total


def test_scale_follows_alpha_over_rank(tiny_model):
    from rvtune.training.lora import apply_lora

    info = apply_lora(fresh(tiny_model), TrainConfig(rank=8, alpha=32,
                                                     target_modules=("q_proj",)))
    assert info.scale == 4.0
    assert info.keys == ["self_attn.q_proj"]


def test_short_full_and_all_linear_names(tiny_model, loaded_tiny):
    from rvtune.training.lora import resolve_targets

    model = loaded_tiny[0]
    layers = list(range(len(model.layers)))
    assert resolve_targets(model, ["self_attn.v_proj", "up_proj"], layers) == [
        "self_attn.v_proj", "mlp.up_proj"]
    assert len(resolve_targets(model, ["all-linear"], layers)) == 7


def test_module_that_matches_nothing_fails(tiny_model):
    from rvtune.training.lora import apply_lora

    with pytest.raises(UsageError) as err:
        apply_lora(fresh(tiny_model), TrainConfig(target_modules=("q_proj", "qkv_proj")))
    message = str(err.value)
    assert "--target-modules qkv_proj" in message and "q_proj" in message
    assert "\n" not in message


def test_num_layers_takes_the_last_blocks(tiny_model):
    from rvtune.training.lora import apply_lora

    model = fresh(tiny_model)
    info = apply_lora(model, TrainConfig(num_layers=1))
    assert info.layers == [len(model.layers) - 1]
    assert "lora_a" not in model.layers[0].self_attn.q_proj
    with pytest.raises(UsageError, match="--num-layers 9"):
        apply_lora(fresh(tiny_model), TrainConfig(num_layers=9))
