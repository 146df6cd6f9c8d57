"""``rvtune prepare``: turn a dataset into train/valid/test jsonl files."""

import click

from rvtune.core.config import config_options, print_config_if_asked

from .options import dataset_options, format_options, prepare_config, split_options


def print_summary(result) -> None:
    """The short report ``prepare`` prints after preparing data."""
    from rvtune.core.options import prepare_report

    for line in prepare_report(result):
        click.echo(line)


@click.command()
@config_options
@dataset_options
@format_options
@split_options
@click.option("--out", default="data", show_default=True, type=click.Path(file_okay=False),
              help="Directory to write train.jsonl, valid.jsonl, test.jsonl, manifest.json.")
@click.option("--overwrite", is_flag=True, help="Replace a directory holding other data.")
@click.pass_context
def prepare(ctx, **params):
    """Turn a dataset into train.jsonl / valid.jsonl (/ test.jsonl) for training.

    Each line holds "text" (the formatted example, readable by mlx_lm too), "prefix"
    (the prompt part, masked from the loss), and the raw "input" and "target".
    """
    if print_config_if_asked(ctx):
        return
    from rvtune.core.prepare import prepare as run_prepare

    config = prepare_config(params, params["out"])
    print_summary(run_prepare(config))
