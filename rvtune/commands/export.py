"""``rvtune export``: write a run's adapter as npz, mlx, peft, a fused model or GGUF."""

import click

HINTS = {
    "npz": "numpy.load(PATH, allow_pickle=False), or rvtune.load(MODEL, adapter_path=PATH)",
    "mlx": "mlx_lm.load(MODEL, adapter_path=PATH) or mlx_lm.generate --adapter-path PATH",
    "peft": "PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(MODEL), PATH)",
    "fused": "mlx_lm.load(PATH) or mlx_lm.generate --model PATH",
    "gguf": "llama-completion -m PATH -p PROMPT (or llama-cli / llama-server -m PATH), or "
            "`ollama create NAME -f Modelfile` with --modelfile",
    "gguf-lora": "llama-completion -m BASE.gguf --lora PATH -p PROMPT, or "
                 "`ollama create NAME -f Modelfile` with --modelfile",
}


@click.command()
@click.option("--run", "run_dir", type=click.Path(file_okay=False), default=None,
              help="Run directory [default: the current directory if it is a run, else the "
                   "newest under ./runs].")
@click.option("--format", "fmt", default=None, metavar="FORMAT",
              help="npz, mlx, peft, fused, gguf, gguf-lora (or an exporter plugin; see "
                   "`rvtune plugins`).")
@click.option("--out", type=click.Path(), default=None,
              help="Where to write [default: RUN/exports/<adapters.npz | mlx-adapter | "
                   "peft-adapter | fused-model | model-OUTTYPE.gguf | adapter.gguf>].")
@click.option("--fuse", is_flag=True, help="Shorthand for --format fused.")
@click.option("--adapter", type=click.Path(exists=False), default=None,
              help="Export this adapter (adapters.npz, MLX or PEFT directory) instead of a "
                   "run's.")
@click.option("--from-peft", "from_peft", type=click.Path(file_okay=False), default=None,
              metavar="DIR",
              help="Convert this Hugging Face PEFT LoRA directory into rvtune/MLX form "
                   "(--format mlx by default, or npz), checked against its base model.")
@click.option("--model", default=None,
              help="Base model [default: the one the run / adapter was trained on].")
@click.option("--checkpoint", default=None, metavar="best|last|STEP",
              help="Which adapter of the run: best (the lowest validation loss; the default "
                   "when the run kept one), last, or a checkpoint's step.")
@click.option("--dequantize", is_flag=True,
              help="fused: write a plain 16-bit model instead of keeping the base's "
                   "quantization.")
@click.option("--outtype", type=click.Choice(["f16", "q8_0", "f32"]), default=None,
              help="gguf: tensor type of the model file (q8_0: llama.cpp's 8-bit blocks); "
                   "gguf-lora: of the base model written beside the adapter [default: f16].")
@click.option("--modelfile", is_flag=True,
              help="gguf, gguf-lora: also write an Ollama Modelfile beside it.")
@click.option("--max-delta-error", type=float, default=None,
              help="fused/gguf: most a stored layer may differ from base + adapter, as a share "
                   "of the adapter's own change [default: 0.1].")
@click.option("--max-drift", type=float, default=None,
              help="fused/gguf: most the fused logits may drift from base + adapter, as a "
                   "share of the adapter's effect on them [default: 0.1].")
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
def export(run_dir, fmt, out, fuse, adapter, from_peft, model, checkpoint, dequantize,
           outtype, modelfile, max_delta_error, max_drift, overwrite):
    """Export a trained adapter: npz, mlx, peft, fused (merged model), gguf or gguf-lora.

    `rvtune export --fuse` fuses the run in the current directory (or the newest run) into
    RUN/exports/fused-model. Every export is written to a temporary path and renamed into
    place: a failed export leaves nothing half-written and keeps what was there.
    """
    from rvtune.export.pipeline import export as run_export

    result = run_export(run=run_dir, format=fmt, out=out, fuse=fuse, adapter=adapter,
                        from_peft=from_peft, model=model, checkpoint=checkpoint,
                        dequantize=dequantize, outtype=outtype, modelfile=modelfile,
                        max_delta_error=max_delta_error, max_drift=max_drift,
                        overwrite=overwrite, log=click.echo)
    click.echo(f"Exported {result.format} to {result.path}")
    if result.format in HINTS:
        click.echo(f"  load it with: {HINTS[result.format]}")
