"""Start-up time: `rvtune --help` and `rvtune plugins` against `python -c "import click, pluggy"`.

    python benchmarks/bench_startup.py --repeat 20

Each command runs --repeat times, interleaved; the table shows the median and the ratio
to the bare-interpreter baseline.
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c 'import click, pluggy'": [sys.executable, "-c", "import click, pluggy"],
    "rvtune --help": [sys.executable, "-m", "rvtune", "--help"],
    "rvtune plugins": [sys.executable, "-m", "rvtune", "plugins"],
    "rvtune plugins --json": [sys.executable, "-m", "rvtune", "plugins", "--json"],
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=20)
    args = p.parse_args()
    times = {name: [] for name in COMMANDS}
    for _ in range(args.repeat):
        for name, cmd in COMMANDS.items():
            tic = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times[name].append(time.perf_counter() - tic)
    base = statistics.median(times[next(iter(COMMANDS))])
    print("| command | median (ms) | x baseline |")
    print("|---|---|---|")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"| `{name}` | {med * 1000:.0f} | {med / base:.2f} |")


if __name__ == "__main__":
    main()
