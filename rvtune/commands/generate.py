"""``rvtune generate`` and ``rvtune chat``: a run's (or any) adapter on its base model, with
the prompt layout the run trained with."""

import signal
import sys
import threading
from contextlib import contextmanager

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

    def answer(self, prompt: str, stream=True, history=(), stopped=None, **sampling) -> str:
        """The model's answer; ``sampling`` overrides the command's ``temp``/``seed``/..."""
        from rvtune.inference import generate

        text = self.format.render_turn(list(history), prompt)
        if self.params["show_prompt"]:
            click.echo(text, err=True)
        p = {**self.params, **sampling}
        return generate(self.loaded.model, self.loaded.tokenizer, text,
                        max_tokens=p["max_tokens"], temp=p["temp"], top_p=p["top_p"],
                        seed=p["seed"], stop_strings=self.format.stop_strings,
                        has_bos=self.format.has_bos, stopped=stopped,
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
@click.option("--check-samples", type=int, default=0, show_default=True, metavar="K",
              help="Checked decoding: when the answer fails the evaluator's check (riscv: it "
                   "does not assemble), sample up to K more answers and print the first that "
                   "passes (the greedy answer if none does). 0 = off.")
@click.option("--check-temperature", type=float, default=0.8, show_default=True,
              help="Sampling temperature of --check-samples.")
@click.option("--evaluator", default="riscv", show_default=True,
              help="Whose check --check-samples applies (an evaluator with an accepts method).")
@click.argument("prompt")
def generate(prompt, check_samples, check_temperature, evaluator, **params):
    """Generate an answer to PROMPT ('-' reads it from stdin) with a trained adapter.

    The prompt is rendered the way the run trained (formatter, instruction template, system
    message) and generation stops at its stop strings. With --check-samples K an answer that
    does not assemble is replaced by the first of K sampled answers that does.
    """
    if prompt == "-":
        prompt = sys.stdin.read().strip()
    _check_prompt(prompt, params)
    checker = _checker(evaluator, check_samples, check_temperature)
    session = Session(params)
    if checker is None:
        session.answer(prompt)
    else:
        click.echo(_checked_answer(session, prompt, checker, check_samples, check_temperature),
                   nl=False)
    click.echo()


def _checker(name: str, samples: int, temperature: float):
    """The evaluator whose ``accepts`` checks answers, ready before the model loads (a
    missing assembler is said first), or None with checking off."""
    from rvtune.evaluation import scoring

    scoring.check_decoding_options(samples, temperature)
    if not samples:
        return None
    checker = scoring.make_evaluator(name)
    scoring.require_accepts(checker, "drop --check-samples or pick another --evaluator")
    if hasattr(checker, "prepare"):
        checker.prepare()
    return checker


def _checked_answer(session: Session, prompt: str, checker, samples: int,
                    temperature: float) -> str:
    """The answer at the command's settings if ``checker`` accepts it, else the first of
    ``samples`` answers sampled at ``temperature`` (seeds seed+1, seed+2, ...) that it accepts;
    what happened is said on stderr."""
    first = session.answer(prompt, stream=False)
    if checker.accepts([first])[0]:
        return first
    for round_ in range(1, samples + 1):
        answer = session.answer(prompt, stream=False, temp=temperature,
                                seed=session.params["seed"] + round_)
        if checker.accepts([answer])[0]:
            click.echo(f"(checked decoding: the first answer failed the {checker.name} check; "
                       f"sample {round_} of {samples} passed)", err=True)
            return answer
    click.echo(f"(checked decoding: no answer of {samples + 1} passed the {checker.name} "
               "check; showing the first)", err=True)
    return first


@contextmanager
def _ctrl_c_stops():
    """While an answer is written, Ctrl-C sets an event that generation checks after every
    token (a KeyboardInterrupt could land where it is swallowed, e.g. in a callback); the
    usual handler is back afterwards."""
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda _signum, _frame: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


CHAT_HELP = """\
/help            this list
/reset           forget the conversation so far (start a new one)
/quit, /exit     leave (Ctrl-D too)
Ctrl-C           stop the answer being written; the session goes on
Anything else is a message to the model."""


@click.command()
@load_options
def chat(**params):
    """Chat with a trained adapter: each line you type is a message; /help lists commands.

    With a formatter that lays out conversations (chatml, plain, chat-template) earlier turns
    are sent along with each message (/reset forgets them); otherwise each line is answered
    on its own. Ctrl-C stops an answer without leaving; /quit or Ctrl-D leaves.
    """
    from rvtune.core.errors import RvtuneError

    _check_prompt("-", params)
    session = Session(params)
    where = session.loaded.run.path if session.loaded.run else (
        session.loaded.adapter.source if session.loaded.adapter else session.loaded.model_path)
    multi_turn = session.format.multi_turn()
    turns = "multi-turn" if multi_turn else "one message at a time"
    click.echo(f"rvtune chat: {where} (formatter {session.format.formatter.name}, {turns}); "
               "/help for commands", err=True)
    history: list[dict] = []
    while True:
        click.echo(">>> ", nl=False, err=True)
        try:
            line = sys.stdin.readline()
        except KeyboardInterrupt:
            click.echo("\n(/quit or Ctrl-D to leave)", err=True)
            continue
        if not line:
            click.echo(err=True)
            return
        line = line.strip()
        if not line:
            continue
        if line.startswith("/"):
            command = line.split()[0]
            if command in ("/quit", "/exit", "/q"):
                return
            if command == "/help":
                click.echo(CHAT_HELP, err=True)
            elif command == "/reset":
                history.clear()
                click.echo("(conversation cleared)", err=True)
            else:
                click.echo(f"unknown command {command}; /help lists them", err=True)
            continue
        try:
            _check_prompt(line, params)
        except RvtuneError as exc:
            click.echo(f"Error: {exc}", err=True)
            continue
        with _ctrl_c_stops() as stop:
            try:
                reply = session.answer(line, history=history, stopped=stop.is_set)
            except KeyboardInterrupt:  # landed outside the token loop
                stop.set()
        if stop.is_set():
            click.echo("\n(stopped)", err=True)
            continue
        click.echo()
        if multi_turn:  # else history stays empty: each line is answered on its own
            history += [{"role": "user", "content": line}, {"role": "assistant", "content": reply}]
