"""Random-weight models of real shapes for benchmarks (speed and memory depend on shapes)."""

SHAPES = {
    # mistralai/Mistral-7B-Instruct-v0.3
    "mistral-7b": dict(hidden_size=4096, num_hidden_layers=32, intermediate_size=14336,
                       num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                       vocab_size=32768, rope_theta=1e6),
    # small but not trivial: ~110M parameters, for CPU benchmarks
    "mistral-110m": dict(hidden_size=768, num_hidden_layers=8, intermediate_size=2048,
                         num_attention_heads=12, num_key_value_heads=4, head_dim=64,
                         vocab_size=32768, rope_theta=1e6),
    # HuggingFaceTB/SmolLM2-135M-Instruct (the smollm2 preset; tied embeddings)
    "smollm2-135m": dict(hidden_size=576, num_hidden_layers=30, intermediate_size=1536,
                         num_attention_heads=9, num_key_value_heads=3, head_dim=64,
                         vocab_size=49152, rope_theta=1e5, tie_word_embeddings=True),
    "mistral-tiny": dict(hidden_size=256, num_hidden_layers=4, intermediate_size=512,
                         num_attention_heads=8, num_key_value_heads=2, head_dim=32,
                         vocab_size=2048, rope_theta=1e6),
}


def config(shape: str, dtype: str = "bfloat16") -> dict:
    """An HF-style config.json dict for a Mistral-architecture model of ``shape``."""
    return {"model_type": "mistral", "architectures": ["MistralForCausalLM"],
            "rms_norm_eps": 1e-5, "tie_word_embeddings": False,
            "max_position_embeddings": 32768, "torch_dtype": dtype, **SHAPES[shape]}


def build(shape: str, bits: int = 4, group_size: int = 64, dtype: str = "bfloat16"):
    """A Mistral-architecture mlx_lm model with random weights, quantized when bits > 0."""
    import mlx.core as mx
    import mlx.nn as nn
    from mlx_lm.models import llama

    args = llama.ModelArgs.from_dict(config(shape))
    model = llama.Model(args)
    model.set_dtype(getattr(mx, dtype))
    if bits:
        nn.quantize(model, group_size=group_size, bits=bits)
    mx.eval(model.parameters())
    return model


def parameter_count(shape: str) -> int:
    """Parameters of the unquantized model (for the 4 x params x tokens FLOP count)."""
    s = SHAPES[shape]
    h, layers, inter, v = s["hidden_size"], s["num_hidden_layers"], s["intermediate_size"], s["vocab_size"]
    q = s["num_attention_heads"] * s["head_dim"]
    kv = s["num_key_value_heads"] * s["head_dim"]
    per_layer = h * q + 2 * h * kv + q * h + 3 * h * inter + 2 * h
    return layers * per_layer + (1 if s.get("tie_word_embeddings") else 2) * v * h + h
