"""``mlx``: the adapter directory modern mlx-lm reads (``mlx_lm.load(..., adapter_path=)``)."""

from .base import Exporter, read_request_adapter, total_layers_of


class MlxExporter(Exporter):
    """mlx-lm adapter directory: adapters.safetensors + adapter_config.json."""

    name = "mlx"
    default_name = "mlx-adapter"

    def write(self, request, out):
        from .adapter import write_mlx

        adapter, _run = read_request_adapter(request)
        write_mlx(adapter, out, total_layers_of(adapter.model))
