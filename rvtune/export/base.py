"""What every exporter shares: reading the request, the adapter, the base model's shape."""

import json
from pathlib import Path

from rvtune.core.errors import UsageError

EXPORTS_DIR = "exports"


class Exporter:
    """Base class: ``name``, ``default_name`` (output under ``RUN/exports/``) and ``write``."""

    name = ""
    default_name = ""

    def export(self, request) -> Path:
        """Check the adapter against its base model, write the export for ``request`` (a
        :class:`rvtune.core.jobs.ExportRequest`) atomically and return the path written."""
        from .check import check_against_base

        out = Path(request.out)
        adapter, _run = read_request_adapter(request)
        check_against_base(adapter)
        self.write(request, out)
        for path in self.outputs(out, options(request)):
            readable(path)
        return out

    def write(self, request, out: Path) -> None:
        raise NotImplementedError

    def default_out(self, opts: dict) -> str:
        """The output's name under ``RUN/exports/`` for these options."""
        return self.default_name

    def outputs(self, out: Path, opts: dict) -> list:
        """Every path the export writes (``out`` and anything beside it)."""
        return [out]


def readable(path: Path) -> None:
    """Give written files the mode every other rvtune output has (0644 under the usual
    umask; temporary files may have been created private)."""
    import os

    path = Path(path)
    if not path.exists():
        return
    mask = os.umask(0)
    os.umask(mask)
    for item in [path, *(path.rglob("*") if path.is_dir() else [])]:
        item.chmod((0o777 if item.is_dir() else 0o666) & ~mask)


def options(request) -> dict:
    return dict(getattr(request, "options", None) or {})


def log_of(request):
    return options(request).get("log") or (lambda message: None)


def run_of(request):
    """The :class:`~rvtune.export.loading.RunInfo` of the request, or None."""
    from .loading import read_run, run_of_adapter

    if request.run_dir is not None:
        return read_run(request.run_dir, options(request).get("checkpoint"))
    adapter = options(request).get("adapter")
    return run_of_adapter(adapter) if adapter else None


def source(request) -> dict:
    """Keyword arguments of :func:`rvtune.export.loading.load_with_adapter` for a request."""
    opts = options(request)
    run = run_of(request)
    adapter = opts.get("adapter")
    if run is None and adapter is None:
        raise UsageError("nothing to export: pass --run RUN_DIR, or --adapter PATH (with "
                         "--model when the adapter does not name its base model)")
    return {"model": opts.get("model"), "adapter_path": adapter, "run": run}


def read_request_adapter(request):
    """The adapter a request names, and the run it belongs to."""
    from .adapter import read_adapter

    src = source(request)
    run = src["run"]
    path = src["adapter_path"] or run.adapter_path
    adapter = read_adapter(path)
    if run is not None and run.model and not adapter.model:
        adapter.model = run.model
    if src["model"]:
        adapter.model = src["model"]
    return adapter, run


def model_config(model: str | None) -> dict | None:
    """The base model's ``config.json`` when it is on disk (no weights are loaded)."""
    if not model:
        return None
    try:
        from rvtune.training.model import resolve_model_path

        return json.loads((resolve_model_path(model) / "config.json").read_text())
    except Exception:  # not cached or not local: the export still works without it
        return None


def total_layers_of(model: str | None) -> int | None:
    from .loading import total_layers

    config = model_config(model)
    return total_layers(config) if config else None
