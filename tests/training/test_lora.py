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


@pytest.mark.parametrize("fast_qmm", [False, True])
def test_lean_lora_inputs_give_the_same_loss_and_gradients(fast_qmm):
    """The LoRA branch that keeps no float32 copy of its input (a 16-bit model's default)
    against mlx-lm's own expression: same loss and gradients, compiled, with and without the
    fast quantized path."""
    import mlx.core as mx
    import mlx.nn as nn
    from mlx.utils import tree_flatten
    from mlx_lm.models import llama
    from mlx_lm.tuner.utils import linear_to_lora_layers

    from rvtune.training import qmm_vjp
    from rvtune.training.data import masked_loss
    from rvtune.training.lora import enable_lean_inputs

    shape = {"model_type": "mistral", "hidden_size": 128, "intermediate_size": 256,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
             "head_dim": 32, "vocab_size": 256, "rms_norm_eps": 1e-5, "rope_theta": 1e6,
             "tie_word_embeddings": False}
    keys = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
            "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]

    def build(lean):
        mx.random.seed(0)
        model = llama.Model(llama.ModelArgs.from_dict(shape))
        model.set_dtype(mx.bfloat16)
        nn.quantize(model, group_size=64, bits=4)
        model.freeze()
        linear_to_lora_layers(model, 2, {"rank": 8, "scale": 2.0, "dropout": 0.0,
                                         "keys": keys})
        for _, module in model.named_modules():
            if "lora_b" in module:  # non-zero, so every gradient path carries signal
                module.lora_b = mx.random.normal(module.lora_b.shape) * 0.05
        if lean:
            assert enable_lean_inputs(model) == 14
        if fast_qmm:
            qmm_vjp.enable(model, forward_rows=1)
        mx.eval(model.parameters())
        return model

    tokens = mx.random.randint(3, 256, (4, 33), key=mx.random.key(5))
    lengths = mx.array([[1, 33], [3, 30], [1, 20], [5, 33]])
    results = []
    for lean in (False, True):
        model = build(lean)
        step = mx.compile(lambda t, l, m=model: nn.value_and_grad(m, masked_loss)(m, t, l))
        (loss, _n), grad = step(tokens, lengths)
        mx.eval(loss, grad)
        results.append((loss.item(), dict(tree_flatten(grad))))
    (loss_a, grad_a), (loss_b, grad_b) = results
    assert loss_a == pytest.approx(loss_b, rel=1e-6)
    assert set(grad_a) == set(grad_b) and len(grad_a) == 28
    for key in grad_a:
        assert grad_b[key].dtype == mx.float32
        scale = mx.abs(grad_a[key]).max().item()
        assert scale > 0
        assert mx.abs(grad_a[key] - grad_b[key]).max().item() <= 1e-4 * scale, key


def test_lean_lora_is_chosen_by_width_and_can_be_forced(tiny_model, monkeypatch):
    from rvtune.training.lora import LEAN_MIN_HIDDEN, apply_lora, hidden_size, lean_wanted

    # auto (the default): the tiny model is narrow, so mlx-lm's own layer trains it
    model = fresh(tiny_model)
    assert hidden_size(model) < LEAN_MIN_HIDDEN
    apply_lora(model, TrainConfig(rank=4, alpha=4))
    assert type(model.layers[0].self_attn.q_proj).__name__ == "LoRALinear"
    assert lean_wanted(4096) and lean_wanted(LEAN_MIN_HIDDEN) and not lean_wanted(576)
    monkeypatch.setenv("RVTUNE_LEAN_LORA", "on")
    model = fresh(tiny_model)
    apply_lora(model, TrainConfig(rank=4, alpha=4))
    assert type(model.layers[0].self_attn.q_proj).__name__ == "LeanLoRALinear"
    monkeypatch.setenv("RVTUNE_LEAN_LORA", "off")
    model = fresh(tiny_model)
    apply_lora(model, TrainConfig(rank=4, alpha=4))
    assert type(model.layers[0].self_attn.q_proj).__name__ == "LoRALinear"
    monkeypatch.setenv("RVTUNE_LEAN_LORA", "maybe")
    with pytest.raises(UsageError, match="RVTUNE_LEAN_LORA=maybe"):
        apply_lora(fresh(tiny_model), TrainConfig(rank=4, alpha=4))
