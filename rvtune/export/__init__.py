"""Exports of a trained adapter: one module per format, plus shared loading.

- :mod:`.adapter` — the in-memory adapter and its npz / mlx / PEFT readers and writers
- :mod:`.loading` — find a run, load its base model, put any adapter on it
- :mod:`.base` — what every exporter shares (request handling, default output paths)
- :mod:`.npz`, :mod:`.mlx`, :mod:`.peft`, :mod:`.fused`, :mod:`.gguf` — the formats

Nothing here imports MLX at module level; the exporter classes are registered by
``rvtune.plugins.exporters`` through the ``register_exporters`` hook.
"""

import sys
import types


class _ExportModule(types.ModuleType):
    """``rvtune.export`` is this package and, called, the Python API's export
    (:func:`rvtune.api.export`): ``rvtune.export(run="runs/a", format="mlx")``."""

    def __call__(self, **options):
        from rvtune.api import export

        return export(**options)


sys.modules[__name__].__class__ = _ExportModule
