"""Write docs/cli.md from the commands' own --help text (run after changing an option).

    python scripts/cli_reference.py            # rewrites docs/cli.md
    python scripts/cli_reference.py --check    # exit 1 when docs/cli.md is stale
"""

import sys
from pathlib import Path

from click.testing import CliRunner

from rvtune.cli import COMMANDS, cli

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def render() -> str:
    runner = CliRunner()
    parts = ["# CLI reference\n",
             "Generated from each command's `--help` by `python scripts/cli_reference.py`; "
             "a test fails when it is stale. Every option can also come from a YAML or TOML "
             "file (`--config`); see [data-formats.md](data-formats.md) for data options.\n",
             "## rvtune\n", "```", runner.invoke(cli, ["--help"], prog_name="rvtune", terminal_width=100).output.rstrip(), "```\n"]
    for name in sorted(COMMANDS):
        out = runner.invoke(cli, [name, "--help"], prog_name="rvtune", terminal_width=100).output.rstrip()
        parts += [f"## rvtune {name}\n", "```", out, "```\n"]
    return "\n".join(parts)


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        sys.exit(0 if DOC.read_text() == text else 1)
    DOC.write_text(text)
