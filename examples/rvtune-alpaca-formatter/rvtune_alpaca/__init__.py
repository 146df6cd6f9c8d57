"""An rvtune plugin adding the ``alpaca`` prompt formatter, a ``csv`` metrics logger and a
``short`` row filter."""

import csv

import rvtune
from rvtune.formats import Formatter


class AlpacaFormatter(Formatter):
    """### Instruction: / ### Response: (the Stanford Alpaca layout)."""

    name = "alpaca"
    stop_strings = ("### Instruction:",)

    def render_prompt(self, prompt):
        return f"### Instruction:\n{self.prompt_text(prompt)}\n\n### Response:\n"

    def render_completion(self, completion):
        return completion


@rvtune.hookimpl
def register_formatters(register):
    register(AlpacaFormatter)


class CsvLogger:
    """Metrics as RUN/metrics.csv (one row per train or validation record)."""

    name = "csv"
    columns = ("type", "step", "epoch", "loss", "val_loss", "learning_rate")

    def __init__(self, run_dir, config):
        self.file = open(run_dir / "metrics.csv", "w", newline="", encoding="utf-8")
        self.writer = csv.DictWriter(self.file, self.columns, extrasaction="ignore")
        self.writer.writeheader()

    def log(self, record):
        self.writer.writerow(record)
        self.file.flush()

    def close(self):
        self.file.close()


@rvtune.hookimpl
def register_loggers(register):
    register(CsvLogger)


class ShortFilter:
    """Drop rows whose target is longer than 8 lines (keep single instructions and short
    snippets)."""

    name = "short"
    max_lines = 8

    def check(self, completions):
        return [None if len(c.splitlines()) <= self.max_lines
                else f"{len(c.splitlines())} lines, over {self.max_lines}" for c in completions]


@rvtune.hookimpl
def register_filters(register):
    register(ShortFilter)
