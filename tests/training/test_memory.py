"""The peak-memory estimate and the advice it gives."""

from rvtune.core.jobs import TrainConfig
from rvtune.training import memory

MISTRAL_7B = {"model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336,
              "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
              "head_dim": 128, "vocab_size": 32768, "tie_word_embeddings": False,
              "torch_dtype": "bfloat16"}


def test_reference_recipe_estimate_is_plausible():
    est = memory.estimate(MISTRAL_7B, TrainConfig())
    gb = memory.GB
    assert 3.3 * gb < est.weights < 4.3 * gb  # 7.2B weights at 4 bits + scales
    lora_params = 32 * 16 * (2 * (4096 + 4096) + 2 * (4096 + 1024) + 3 * (4096 + 14336))
    assert est.lora == lora_params * 16
    plain = memory.estimate(MISTRAL_7B, TrainConfig(bits=0))
    assert plain.weights > 3.5 * est.weights
    short = memory.estimate(MISTRAL_7B, TrainConfig(), seq_length=128)
    assert 6 * gb < short.total < 12 * gb  # what the RISC-V rows (about 100 tokens) need


def test_checkpointing_batch_and_length_lower_the_estimate():
    base = memory.estimate(MISTRAL_7B, TrainConfig())
    assert memory.estimate(MISTRAL_7B, TrainConfig(grad_checkpoint=True)).total < base.total
    assert memory.estimate(MISTRAL_7B, TrainConfig(batch_size=1)).total < base.total
    assert memory.estimate(MISTRAL_7B, TrainConfig(max_seq_length=512)).total < base.total


def test_what_fits_names_options_that_fit():
    config = TrainConfig()
    total = memory.estimate(MISTRAL_7B, config).total
    limit = total * 0.8
    fits = memory.what_fits(MISTRAL_7B, config, limit)
    assert fits and all("GB" in f for f in fits)
    assert any(f.startswith("--grad-checkpoint") or f.startswith("--batch-size")
               for f in fits)
    assert "even the smallest" in memory.advice(MISTRAL_7B, config, 1.0)


def test_available_memory_is_positive():
    value, source = memory.available_memory()
    assert value > 0 and source
