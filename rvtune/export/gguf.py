"""``gguf``: the fine-tuned model as one GGUF file for llama.cpp and Ollama, with an optional
``Modelfile``.

The adapter is fused into a dequantized (16-bit) copy of the base first (the ``fused``
export's checked path, in a temporary directory), then written by
:func:`rvtune.export.gguf_write.write_model_gguf`: llama.cpp's tensor names and q/k row order,
its hyper-parameters, the tokenizer as a real llama.cpp vocabulary (:mod:`.gguf_vocab`) and
the run's prompt format as ``tokenizer.chat_template``. ``--outtype`` picks f16 (default),
q8_0 or f32.
"""

import json
import shutil
import tempfile
from pathlib import Path

from rvtune.core.errors import UsageError

from .base import Exporter
from .gguf_write import OUTTYPES, check_architecture


def outtype_of(request) -> str:
    from .base import options

    outtype = options(request).get("outtype") or "f16"
    if outtype not in OUTTYPES:
        raise UsageError(f"--outtype {outtype}: choose one of {', '.join(OUTTYPES)}")
    return outtype


def export_gguf(source: dict, target: Path, name: str, outtype: str = "f16", fmt=None,
                log=print, **fuse_options):
    """Fuse (dequantized) into a temporary directory beside ``target``, then write GGUF."""
    from .fused import fuse_to_dir
    from .gguf_write import write_model_gguf

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        report = fuse_to_dir(source, work / "fused", dequantize=True, log=log,
                             **fuse_options)
        write_model_gguf(work / "fused", target, name, outtype,
                         fmt.formatter if fmt else None, fmt.stop_strings if fmt else ())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report


def modelfile_text(gguf_name: str, formatter, has_bos: bool, bos_token: str | None,
                   adapter_name: str | None = None) -> str:
    """An Ollama ``Modelfile``: the GGUF (and adapter), the run's prompt layout and its
    stop strings."""
    marker = "\x00PROMPT\x00"
    rendered = formatter.render_prompt(marker)
    if has_bos and bos_token and rendered.startswith(bos_token):
        rendered = rendered[len(bos_token):]  # llama.cpp adds BOS itself
    if '"""' in rendered:
        raise UsageError("the run's prompt layout contains '\"\"\"', which a Modelfile "
                         "TEMPLATE cannot hold; write the Modelfile by hand")
    template = rendered.replace(marker, "{{ .Prompt }}")
    source = gguf_name if Path(gguf_name).is_absolute() else f"./{gguf_name}"
    lines = [f"FROM {source}"]
    if adapter_name:
        lines.append(f"ADAPTER ./{adapter_name}")
    lines.append(f'TEMPLATE """{template}"""')
    for stop in formatter.stop_strings:
        if stop:
            lines.append(f"PARAMETER stop {json.dumps(stop)}")
    lines.append("PARAMETER temperature 0")
    return "\n".join(lines) + "\n"


def write_modelfile(path: Path, gguf_name: str, fmt, adapter_name: str | None = None):
    from rvtune.core.atomic import atomic_open

    # Only chat-template formatters put BOS text in the prompt; theirs says which.
    bos = getattr(getattr(fmt.formatter, "tokenizer", None), "bos_token", None)
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(modelfile_text(gguf_name, fmt.formatter, fmt.has_bos, bos, adapter_name))


class GgufExporter(Exporter):
    """GGUF for llama.cpp / Ollama (Llama, Mistral): f16, q8_0 or f32; optional Modelfile."""

    name = "gguf"
    default_name = "model-f16.gguf"

    def default_out(self, opts: dict) -> str:
        return f"model-{opts.get('outtype') or 'f16'}.gguf"

    def outputs(self, out: Path, opts: dict) -> list:
        return [out] + ([out.parent / "Modelfile"] if opts.get("modelfile") else [])

    def write(self, request, out):
        from rvtune.inference import prompt_format

        from .base import log_of, model_config, options, read_request_adapter, source
        from .fused import fuse_options

        log = log_of(request)
        src = source(request)
        adapter, run = read_request_adapter(request)
        outtype = outtype_of(request)
        config = model_config(adapter.model)
        if config is not None:  # fail before any heavy work when we can
            check_architecture(config, adapter.model)
        if out.suffix != ".gguf":
            raise UsageError(f"--out {out}: a GGUF file name must end in .gguf")
        name = run.path.name if run is not None else Path(adapter.model or "model").name
        fmt = prompt_format(run, adapter)
        report = export_gguf(src, out, name, outtype, fmt, log=log, **fuse_options(request))
        log(report.summary())
        if options(request).get("modelfile"):
            write_modelfile(out.parent / "Modelfile", out.name, fmt)
