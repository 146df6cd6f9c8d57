"""The ``riscv`` dataset adapter: the built-in RISC-V dataset, generated offline."""

import rvtune
from rvtune.core.errors import UsageError

DEFAULT_SIZE = 3000
HOLDOUTS = ("phrasing", "instruction", "row")


class RiscvDataset:
    """Built-in RISC-V dataset (spec, concrete and snippet rows), generated offline.

    ``--dataset-option holdout=phrasing|instruction|row`` chooses what a row's ``group`` is,
    and so what ``prepare`` keeps out of training as a whole: a (mnemonic, phrasing template)
    pair (default), a mnemonic (a snippet: its kind), or nothing (a plain row split).
    """

    name = "riscv"
    options = ("holdout", "size")  # the --dataset-option keys it reads

    def __init__(self, spec):
        self.spec = spec
        self.holdout = str(spec.options.get("holdout", "phrasing"))
        if self.holdout not in HOLDOUTS:
            raise UsageError(f"--dataset-option holdout={self.holdout}: use one of "
                             f"{', '.join(HOLDOUTS)}")

    def rows(self):
        from rvtune.riscv.generate import generate_rows

        size = self.spec.size if self.spec.size is not None else self.spec.options.get(
            "size", DEFAULT_SIZE)
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise UsageError(f"--dataset-option size={size}: give a whole number of rows, 1 "
                             "or more")
        for index, row in enumerate(generate_rows(size=int(size), seed=self.spec.seed)):
            if self.holdout == "instruction":
                row["group"] = row["group"].split("|")[0]
            elif self.holdout == "row":
                del row["group"]
            yield f"riscv[{index}]", row


@rvtune.hookimpl
def register_dataset_adapters(register):
    register(RiscvDataset)
