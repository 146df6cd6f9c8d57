"""Start-up stays cheap: --help and plugins must not import the heavy libraries."""

import subprocess
import sys

import pytest

HEAVY = ("mlx", "mlx_lm", "datasets", "transformers", "torch")

PROBE = """
import sys
from rvtune.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})
print('HEAVY=' + ','.join(heavy), file=sys.stderr)
"""


@pytest.mark.parametrize("argv", [["--help"], ["plugins"], ["plugins", "--json"],
                                  ["prepare", "--help"], ["run", "--help"]])
def test_cheap_commands_import_no_heavy_library(argv):
    proc = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv, heavy=HEAVY)],
                          capture_output=True, text=True, timeout=60)
    line = [x for x in proc.stderr.splitlines() if x.startswith("HEAVY=")]
    assert line, proc.stderr
    assert line[-1] == "HEAVY=", f"{argv} imported {line[-1][6:]}"


def test_cli_reference_is_current():
    """docs/cli.md is generated from --help: regenerate with scripts/cli_reference.py."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, str(root / "scripts" / "cli_reference.py"), "--check"],
                          capture_output=True, text=True, timeout=120, cwd=root)
    assert proc.returncode == 0, "docs/cli.md is stale: run python scripts/cli_reference.py"
