"""Built-in exporters: npz, mlx, peft, fused, gguf, gguf-lora (``rvtune export --format NAME``)."""

import rvtune
from rvtune.export.fused import FusedExporter
from rvtune.export.gguf import GgufExporter
from rvtune.export.gguf_lora import GgufLoraExporter
from rvtune.export.mlx import MlxExporter
from rvtune.export.npz import NpzExporter
from rvtune.export.peft import PeftExporter


@rvtune.hookimpl
def register_exporters(register):
    register(NpzExporter)
    register(MlxExporter)
    register(PeftExporter)
    register(FusedExporter)
    register(GgufExporter)
    register(GgufLoraExporter)
