"""The ``assembles`` filter: drop rows whose target a real RISC-V assembler rejects."""

import rvtune


class AssemblesFilter:
    """Drop rows whose target is not valid RISC-V assembly (llvm-mc, GNU as or zig cc)."""

    name = "assembles"

    def __init__(self):
        self.validator = None

    def prepare(self) -> None:
        """Find the assembler now, so that a missing one is said before any row is read."""
        from rvtune.riscv.validate import Validator

        self.validator = Validator()

    def check(self, completions) -> list:
        if self.validator is None:
            self.prepare()
        return [None if result.valid else
                (result.message.splitlines()[0] if result.message else "does not assemble")
                for result in self.validator.check_many(list(completions))]


@rvtune.hookimpl
def register_filters(register):
    register(AssemblesFilter)
