"""The MLX training engine behind the ``mlx`` trainer: model loading, LoRA, data, loop,
checkpoints, memory estimate, progress, adapters and sampling. Imports MLX lazily per module."""
