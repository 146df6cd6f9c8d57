"""The ``riscv`` dataset adapter: the built-in RISC-V dataset, generated offline."""

import rvtune

DEFAULT_SIZE = 3000


class RiscvDataset:
    """Built-in RISC-V dataset (spec, concrete and snippet rows), generated offline."""

    name = "riscv"

    def __init__(self, spec):
        self.spec = spec

    def rows(self):
        from rvtune.riscv.generate import generate_rows

        size = self.spec.size or self.spec.options.get("size") or DEFAULT_SIZE
        for index, row in enumerate(generate_rows(size=int(size), seed=self.spec.seed)):
            yield f"riscv[{index}]", row


@rvtune.hookimpl
def register_dataset_adapters(register):
    register(RiscvDataset)
