"""The ``riscv-phrasings`` dataset adapter: a hand-written RISC-V evaluation set.

The rows (``rvtune/riscv/data/phrasings.jsonl``) were written by hand, independently of the
built-in generator's phrase templates, so a model scored on them is tested on RISC-V rather
than on the generator's wording. They are for evaluation only: ``rvtune run`` refuses any
adapter whose ``eval_only`` is true (docs/riscv-phrasings.md).
"""

import rvtune

DATA_PACKAGE = "rvtune.riscv"
DATA_FILE = "data/phrasings.jsonl"


def read_phrasings() -> list[dict]:
    """The rows of the shipped file, in file order."""
    import json
    from importlib import resources

    text = resources.files(DATA_PACKAGE).joinpath(DATA_FILE).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class RiscvPhrasings:
    """Hand-written RISC-V evaluation set (manual, terse, question, task styles); eval only."""

    name = "riscv-phrasings"
    options = ()  # the --dataset-option keys it reads
    eval_only = True

    def __init__(self, spec):
        self.spec = spec

    def rows(self):
        for index, row in enumerate(read_phrasings()):
            yield f"riscv-phrasings[{index}]", row


@rvtune.hookimpl
def register_dataset_adapters(register):
    register(RiscvPhrasings)
