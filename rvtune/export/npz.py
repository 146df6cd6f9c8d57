"""``npz``: ``adapters.npz``, the classic single-file MLX adapter."""

from .base import Exporter, read_request_adapter


class NpzExporter(Exporter):
    """adapters.npz: one array per LoRA tensor (mlx-lm names) + its LoRA settings."""

    name = "npz"
    default_name = "adapters.npz"

    def write(self, request, out):
        from .adapter import write_npz

        adapter, _run = read_request_adapter(request)
        write_npz(adapter, out)
