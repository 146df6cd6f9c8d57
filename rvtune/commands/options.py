"""Option groups shared by several commands (``prepare``, ``run``, ``eval``)."""

import click

from rvtune.core.datasets import (
    DEFAULT_COMPLETION_FIELD,
    DEFAULT_DATASET,
    DEFAULT_PROMPT_FIELD,
)
# Where the option values become configs (click-free, shared with the Python API):
from rvtune.core.options import dataset_spec, parse_key_values, prepare_config  # noqa: F401


def stack(*decorators):
    """Combine click option decorators into one (applied in the order given)."""

    def apply(command):
        for decorator in reversed(decorators):
            command = decorator(command)
        return command

    return apply


def source_options(source: str = "--dataset", adapter: str = "--dataset-adapter",
                   default: str | None = DEFAULT_DATASET,
                   source_help: str = "A local file/dir/glob, a registered adapter name (e.g. "
                                      "'riscv'), or a Hugging Face dataset id."):
    """The options that name a dataset and how to read it; ``eval`` renames the first two."""
    return stack(
        click.option(source, default=default, show_default=default is not None,
                     help=source_help),
        click.option(adapter, "dataset_adapter", default=None,
                     help=f"Dataset adapter to use instead of choosing from {source}."),
        click.option("--prompt-field", default=DEFAULT_PROMPT_FIELD, show_default=True,
                     help="Column holding the prompt."),
        click.option("--completion-field", default=DEFAULT_COMPLETION_FIELD, show_default=True,
                     help="Column holding the target completion."),
        click.option("--split", default="train", show_default=True,
                     help="Split to read from a hub dataset."),
        click.option("--revision", default=None,
                     help="Hub dataset revision (branch, tag, commit)."),
        click.option("--config-name", default=None, help="Hub dataset configuration name."),
        click.option("--dataset-size", type=int, default=None,
                     help="Rows to generate for generated datasets (built-in 'riscv')."),
        click.option("--dataset-option", "dataset_option", multiple=True, metavar="KEY=VALUE",
                     help="Extra option passed to the dataset adapter (repeatable)."),
    )


dataset_options = source_options()

format_options = stack(
    click.option("--formatter", default="chatml", show_default=True,
                 help="Prompt formatter (see `rvtune plugins`): plain, chatml, chat-template..."),
    click.option("--system", default=None, help="System message for chat formatters."),
    click.option("--instruction-template", default=None,
                 help="Wrap each prompt, e.g. 'Write the RISC-V assembly for: {description}'."),
    click.option("--tokenizer", default=None,
                 help="Tokenizer (local dir or cached hub id) for --formatter chat-template."),
)

split_options = stack(
    click.option("--seed", type=int, default=0, show_default=True, help="Split and shuffle seed."),
    click.option("--valid-fraction", type=float, default=0.1, show_default=True,
                 help="Share of rows held out for validation."),
    click.option("--test-fraction", type=float, default=0.0, show_default=True,
                 help="Share of rows held out as a test split (test.jsonl)."),
    click.option("--on-bad-row", type=click.Choice(["fail", "skip"]), default="fail",
                 show_default=True, help="Stop at a bad row, or skip and count it."),
    click.option("--filter", "filters", multiple=True, metavar="NAME",
                 help="Drop rows a registered filter rejects, e.g. 'assembles' (the target "
                      "is not valid RISC-V assembly); repeatable (see `rvtune plugins`)."),
    click.option("--limit", type=int, default=None, help="Read at most this many rows."),
)
