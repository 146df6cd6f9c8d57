"""``rvtune generate`` and ``rvtune chat``: a run's (or any) adapter on its base model, with
the prompt layout the run trained with."""

import sys

import click

from .options import stack as _stack


load_options = _stack(
    click.option("--run", "run_dir", type=click.Path(file_okay=False), default=None,
                 help="Run directory [default: the current directory if it is a run, else "
                      "the newest under ./runs, unless --model/--adapter are given]."),
    click.option("--model", default=None,
                 help="Base model [default: the one the run / adapter was trained on]."),
    click.option("--adapter", default=None, type=click.Path(),
                 help="adapters.npz, an MLX or PEFT adapter directory, or a run directory."),
    click.option("--checkpoint", default=None, metavar="best|last|STEP",
                 help="Which adapter of the run: best (the lowest validation loss; the "
                      "default when the run kept one), last, or a checkpoint's step."),
    click.option("--bits", type=int, default=None,
                 help="Quantize the base to this many bits (0 = full precision) "
                      "[default: as the run trained]."),
    click.option("--formatter", default=None,
                 help="Prompt formatter [default: the run's / adapter's, else chatml]."),
    click.option("--system", default=None, help="System message [default: the run's]."),
    click.option("--instruction-template", default=None,
                 help="Wrap the prompt, e.g. 'Write RISC-V for: {description}' "
                      "[default: the run's]."),
    click.option("--raw", is_flag=True, help="Send the text as it is, without formatting."),
    click.option("--max-tokens", type=int, default=256, show_default=True,
                 help="Most tokens to generate."),
    click.option("--temp", type=float, default=0.0, show_default=True,
                 help="Sampling temperature (0 = greedy)."),
    click.option("--top-p", type=float, default=1.0, show_default=True,
                 help="Nucleus sampling: keep the most likely tokens up to this probability."),
    click.option("--seed", type=int, default=0, show_default=True, help="Sampling seed."),
    click.option("--show-prompt", is_flag=True, help="Print the rendered prompt first (stderr)."),
)


class Session:
    """A loaded model plus the prompt layout and sampling settings of one command."""

    def __init__(self, params: dict):
        from rvtune.export.loading import find_run, load_with_adapter
        from rvtune.inference import prompt_format

        run = params["run_dir"]
        if run is None and params["model"] is None and params["adapter"] is None:
            run = find_run(checkpoint=params["checkpoint"])
        self.loaded = load_with_adapter(model=params["model"], adapter_path=params["adapter"],
                                        run=run, bits=params["bits"],
                                        checkpoint=params["checkpoint"])
        self.format = prompt_format(self.loaded.run, self.loaded.adapter,
                                    formatter=params["formatter"], system=params["system"],
                                    instruction_template=params["instruction_template"],
                                    raw=params["raw"])
        self.params = params

    def answer(self, prompt: str, stream=True) -> str:
        from rvtune.inference import generate

        text = self.format.render(prompt)
        if self.params["show_prompt"]:
            click.echo(text, err=True)
        p = self.params
        return generate(self.loaded.model, self.loaded.tokenizer, text,
                        max_tokens=p["max_tokens"], temp=p["temp"], top_p=p["top_p"],
                        seed=p["seed"], stop_strings=self.format.stop_strings,
                        has_bos=self.format.has_bos,
                        on_text=(lambda piece: click.echo(piece, nl=False)) if stream else None)


def _check_prompt(prompt: str, params: dict) -> None:
    """Refuse what cannot be answered before the model loads (seconds to minutes)."""
    from rvtune.core.datasets import MAX_FIELD_CHARS
    from rvtune.core.errors import UsageError

    if not prompt.strip():
        raise UsageError("PROMPT is empty; give the text to answer (or '-' to read stdin)")
    if len(prompt) > MAX_FIELD_CHARS:
        raise UsageError(f"PROMPT is {len(prompt):,} characters, over the {MAX_FIELD_CHARS:,} "
                         "rvtune accepts; shorten it")
    from rvtune.inference import check_sampling

    check_sampling(params["max_tokens"], params["temp"], params["top_p"])


@click.command()
@load_options
@click.argument("prompt")
def generate(prompt, **params):
    """Generate an answer to PROMPT ('-' reads it from stdin) with a trained adapter.

    The prompt is rendered the way the run trained (formatter, instruction template, system
    message) and generation stops at its stop strings.
    """
    if prompt == "-":
        prompt = sys.stdin.read().strip()
    _check_prompt(prompt, params)
    Session(params).answer(prompt)
    click.echo()


@click.command()
@load_options
def chat(**params):
    """Chat with a trained adapter: each line you type is one prompt; /quit or Ctrl-D ends.

    Each request is answered on its own, the way the model was trained (single-turn).
    """
    from rvtune.core.errors import RvtuneError

    _check_prompt("-", params)
    session = Session(params)
    where = session.loaded.run.path if session.loaded.run else (
        session.loaded.adapter.source if session.loaded.adapter else session.loaded.model_path)
    click.echo(f"rvtune chat: {where} (formatter {session.format.formatter.name}); "
               "/quit to leave", err=True)
    while True:
        click.echo(">>> ", nl=False, err=True)
        line = sys.stdin.readline()
        if not line:
            click.echo(err=True)
            return
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit", "/q"):
            return
        try:
            _check_prompt(line, params)
        except RvtuneError as exc:
            click.echo(f"Error: {exc}", err=True)
            continue
        session.answer(line)
        click.echo()
