"""The MLX training engine behind the ``mlx`` trainer: model loading, LoRA, data, loop,
checkpoints, memory estimate, progress, adapters and sampling. Imports MLX lazily per module."""


def before_mlx() -> None:
    """The backend settings that must precede ``import mlx.core``: an optimized BLAS for the
    CPU (``cpu.fast_blas``) and the CUDA graph cap (``cuda.limit_graph_memory``)."""
    from .cpu import fast_blas
    from .cuda import limit_graph_memory

    fast_blas()
    limit_graph_memory()
