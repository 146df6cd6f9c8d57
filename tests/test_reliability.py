"""Faults injected for real: concurrent writers, kill -9 at a write, read-only and full
disks, a mount point as output, bad bytes, NaN, plugins that exit or print, bad configs.

Each checks the whole promise: one line naming what and where, a non-zero exit, no
traceback, nothing half-written, and the next command works.
"""

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from support import SAMPLE_ROWS, run_rvtune, write_jsonl

ROOT = Path(__file__).resolve().parent.parent


def one_line(proc, code=None) -> str:
    """The single ``Error:`` line of a failed command."""
    assert proc.returncode != 0, proc.stdout
    if code is not None:
        assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("Error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], proc.stderr
    return errors[0]


def holder(target: Path) -> subprocess.Popen:
    """Another process holding ``target``'s write lock (rvtune's own lock code) until killed."""
    code = ("import sys, time\nfrom rvtune.core.locks import hold\n"
            "with hold(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
    assert proc.stdout.readline().strip() == "held"
    return proc


# --- locks -----------------------------------------------------------------------------


def test_second_writer_is_refused_naming_the_holder_and_a_dead_holder_is_taken_over(
        tmp_path, sample_jsonl):
    out = tmp_path / "data"
    first = holder(out)
    try:
        proc = run_rvtune("prepare", "--dataset", sample_jsonl, "--out", out)
        line = one_line(proc, 75)
        assert f"--out {out}: in use by process {first.pid}" in line and "since" in line
        assert not out.exists()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # The lock of a killed process is gone with it: the next prepare just works.
    ok = run_rvtune("prepare", "--dataset", sample_jsonl, "--out", out)
    assert ok.returncode == 0, ok.stderr
    assert (out / "manifest.json").exists() and not (tmp_path / ".data.lock").exists()


def test_stale_lock_file_of_a_dead_process_is_taken_over(tmp_path, sample_jsonl):
    out = tmp_path / "data"
    (tmp_path / ".data.lock").write_text(json.dumps({"pid": 999999, "command": "rvtune x"}))
    ok = run_rvtune("prepare", "--dataset", sample_jsonl, "--out", out)
    assert ok.returncode == 0, ok.stderr


def test_two_concurrent_prepares_one_wins(tmp_path, sample_jsonl):
    """Two real `rvtune prepare` processes into one --out: the first blocks on reading a
    FIFO while it holds the lock, so the second arrives for certain while it writes."""
    fifo = tmp_path / "slow.jsonl"
    os.mkfifo(fifo)
    out = tmp_path / "data"
    first = subprocess.Popen([sys.executable, "-m", "rvtune", "prepare", "--dataset", str(fifo),
                              "--out", str(out)], stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "HF_HUB_OFFLINE": "1"})
    lock = tmp_path / ".data.lock"
    for _ in range(300):
        if lock.exists() and str(first.pid) in lock.read_text():
            break
        time.sleep(0.05)
    second = run_rvtune("prepare", "--dataset", sample_jsonl, "--out", out)
    assert f"in use by process {first.pid}" in one_line(second, 75)
    with open(fifo, "w") as fh:  # let the first one finish
        fh.write(Path(sample_jsonl).read_text())
    assert first.wait(timeout=120) == 0, first.stderr.read()
    assert json.loads((out / "manifest.json").read_text())["source"] == str(fifo)


def test_run_dir_and_resume_are_locked(tmp_path, sample_jsonl):
    run = tmp_path / "runs" / "x"
    first = holder(run)
    try:
        proc = run_rvtune("run", "--dataset", sample_jsonl, "--run-dir", run, cwd=tmp_path)
        assert f"--run-dir {run}: in use by process {first.pid}" in one_line(proc, 75)
        assert not run.exists()
        run.mkdir()
        (run / "config.yaml").write_text(f"run:\n  dataset: {sample_jsonl}\n")
        proc = run_rvtune("run", "--resume", run, cwd=tmp_path)
        assert f"--resume {run}: in use by process {first.pid}" in one_line(proc, 75)
        os.symlink("x", run.parent / "latest")  # another name for the same run
        proc = run_rvtune("run", "--resume", run.parent / "latest", cwd=tmp_path)
        assert f"in use by process {first.pid}" in one_line(proc, 75)
        assert sorted(p.name for p in run.iterdir()) == ["config.yaml"]
    finally:
        first.kill()
        first.wait()


def test_export_and_eval_outputs_are_locked(tmp_path):
    adapter = make_adapter(tmp_path / "a.npz")
    out = tmp_path / "mlx"
    first = holder(out)
    try:
        proc = run_rvtune("export", "--adapter", adapter, "--format", "mlx", "--out", out)
        assert f"in use by process {first.pid}" in one_line(proc, 75)
        preds = write_jsonl(tmp_path / "p.jsonl", [{"reference": "nop", "prediction": "nop"}])
        ev = tmp_path / "ev"
        second = holder(ev)
        try:
            proc = run_rvtune("eval", "--predictions", preds, "--out", ev)
            assert f"in use by process {second.pid}" in one_line(proc, 75)
        finally:
            second.kill()
            second.wait()
    finally:
        first.kill()
        first.wait()


# --- kills between renames, leftovers ----------------------------------------------------


def make_adapter(path: Path, nan: bool = False) -> Path:
    import numpy as np

    from rvtune.export.adapter import LoraAdapter, write_npz

    rng = np.random.default_rng(0)
    weights = {"model.layers.0.self_attn.q_proj.lora_a": rng.standard_normal((16, 4)),
               "model.layers.0.self_attn.q_proj.lora_b": rng.standard_normal((4, 16))}
    weights = {k: v.astype("float32") for k, v in weights.items()}
    if nan:
        weights["model.layers.0.self_attn.q_proj.lora_b"][1, 2] = float("nan")
    write_npz(LoraAdapter(weights, rank=4, scale=2.0), path)
    return path


def test_kill_between_the_renames_of_overwrite_keeps_the_old_output(tmp_path):
    adapter = make_adapter(tmp_path / "a.npz")
    out = tmp_path / "mlx"
    run_rvtune("export", "--adapter", adapter, "--format", "mlx", "--out", out, check=True)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    killed = run_rvtune("export", "--adapter", adapter, "--format", "mlx", "--out", out,
                        "--overwrite", env={"RVTUNE_TEST_KILL_AT": "atomic-between-renames"})
    assert killed.returncode == -signal.SIGKILL
    assert not out.exists()  # the kill's moment: the old copy is only set aside
    assert len(list(tmp_path.glob(".mlx.*.old"))) == 1
    # The next command puts the old copy back before deciding anything.
    again = run_rvtune("export", "--adapter", adapter, "--format", "mlx", "--out", out)
    assert "already exists" in one_line(again, 2)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "mlx"]


def test_kill_before_the_rename_of_a_file_keeps_it_and_the_next_write_cleans_up(tmp_path):
    adapter = make_adapter(tmp_path / "a.npz")
    out = tmp_path / "copy.npz"
    run_rvtune("export", "--adapter", adapter, "--format", "npz", "--out", out, check=True)
    before = out.read_bytes()
    killed = run_rvtune("export", "--adapter", adapter, "--format", "npz", "--out", out,
                        "--overwrite", env={"RVTUNE_TEST_KILL_AT": "atomic-before-replace"})
    assert killed.returncode == -signal.SIGKILL
    assert out.read_bytes() == before and len(list(tmp_path.glob(".copy.npz.*.tmp"))) == 1
    run_rvtune("export", "--adapter", adapter, "--format", "npz", "--out", out, "--overwrite",
               check=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "copy.npz"]


def test_leftover_temporaries_of_a_killed_write_are_removed(tmp_path):
    from rvtune.core.atomic import write_json

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".summary.json.{dead.pid}.abc123.tmp"
    stale.write_text("half")
    alive = tmp_path / f".summary.json.{os.getppid()}.def456.tmp"  # a live writer's
    alive.write_text("busy")
    write_json(tmp_path / "summary.json", {"ok": 1})
    assert not stale.exists() and alive.exists()


def test_prepare_killed_mid_replace_is_recovered_by_the_next_prepare(tmp_path, sample_jsonl):
    out = tmp_path / "data"
    run_rvtune("prepare", "--dataset", sample_jsonl, "--out", out, check=True)
    killed = run_rvtune("prepare", "--dataset", sample_jsonl, "--out", out, "--seed", "3",
                        "--overwrite", env={"RVTUNE_TEST_KILL_AT": "prepare-between-renames"})
    assert killed.returncode == -signal.SIGKILL
    assert not (out / "manifest.json").exists()  # marked unfinished: training refuses it
    again = run_rvtune("prepare", "--dataset", sample_jsonl, "--out", out, "--seed", "3")
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "manifest.json").read_text())["seed"] == 3
    assert sorted(p.name for p in out.iterdir()) == ["dropped.jsonl", "manifest.json",
                                                     "train.jsonl", "valid.jsonl"]


# --- environment faults ------------------------------------------------------------------


@contextmanager
def tmpfs(path: Path, size: str = "1m", read_only: bool = False):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if read_only else "")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_read_only_output_is_one_line_naming_the_path(tmp_path, sample_jsonl):
    with tmpfs(tmp_path / "ro", read_only=True) as ro:
        line = one_line(run_rvtune("prepare", "--dataset", sample_jsonl, "--out", ro / "d"), 1)
        assert str(ro) in line and "read-only" in line


def test_disk_full_is_one_line_and_leaves_nothing(tmp_path):
    with tmpfs(tmp_path / "full", size="48k") as full:
        proc = run_rvtune("prepare", "--dataset", "riscv", "--dataset-size", "2000", "--out",
                          full / "d")
        line = one_line(proc, 1)
        assert "disk is full" in line and str(full) in line
        assert list(full.iterdir()) == []


def test_mount_point_as_out_works(tmp_path, sample_jsonl):
    """A container volume mounted as the output directory: temporaries live inside it."""
    with tmpfs(tmp_path / "volume") as volume:
        ok = run_rvtune("prepare", "--dataset", sample_jsonl, "--out", volume)
        assert ok.returncode == 0, ok.stderr
        assert (volume / "manifest.json").exists()
        assert not [p for p in volume.iterdir() if p.name.startswith(".rvtune-work")]


def test_permission_denied_is_one_line_naming_the_directory():
    """As an unprivileged user (root ignores permissions): a directory it cannot write."""
    import shutil
    import tempfile

    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run a command as another user")
    locked = Path(tempfile.mkdtemp())
    locked.chmod(0o755)
    try:
        proc = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
             "-m", "rvtune", "prepare", "--dataset", "riscv", "--dataset-size", "50", "--out",
             str(locked / "data")], capture_output=True, text=True, cwd="/",
            env={**os.environ, "HOME": "/tmp", "HF_HUB_OFFLINE": "1"})
        if "Permission denied" in proc.stderr and "Error:" not in proc.stderr:
            pytest.skip("the environment is not readable by an unprivileged user")
        line = one_line(proc, 1)
        assert line == (f"Error: {locked}: permission denied; fix the permissions or choose "
                        "another path (EACCES)")
        assert list(locked.iterdir()) == []
    finally:
        shutil.rmtree(locked)


def test_overwriting_a_mount_point_is_one_line_and_keeps_it(tmp_path):
    adapter = make_adapter(tmp_path / "a.npz")
    with tmpfs(tmp_path / "volume") as volume:
        proc = run_rvtune("export", "--adapter", adapter, "--format", "mlx", "--out", volume,
                          "--overwrite")
        line = one_line(proc, 1)
        assert line.startswith(f"Error: {volume}: cannot be replaced") and "mount point" in line
        assert volume.is_dir() and not list(tmp_path.glob(".volume.*"))


def test_name_too_long_is_one_line(tmp_path, sample_jsonl):
    line = one_line(run_rvtune("prepare", "--dataset", sample_jsonl, "--out",
                               tmp_path / ("x" * 300)), 1)
    assert "too long" in line


def test_bom_and_bad_rows_are_read_or_skipped(tmp_path):
    src = tmp_path / "d.jsonl"
    good = [json.dumps(r).encode() for r in SAMPLE_ROWS]
    src.write_bytes(b"\xef\xbb\xbf" + b"\n".join(good[:4] + [b'{"description": "\xff\xfe"}',
                                                         b"{not json"] + good[4:]) + b"\n")
    failed = one_line(run_rvtune("prepare", "--dataset", src, "--out", tmp_path / "a"), 1)
    assert f"{src}:5: not UTF-8 text" in failed and "--on-bad-row skip" in failed
    assert not (tmp_path / "a").exists()
    ok = run_rvtune("prepare", "--dataset", src, "--out", tmp_path / "b", "--on-bad-row", "skip")
    assert ok.returncode == 0, ok.stderr
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["bad_rows_skipped"] == 2 and manifest["rows_read"] == len(SAMPLE_ROWS) + 2


def test_non_utf8_config_names_the_file(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_bytes(b"seed: 1\nsystem: caf\xe9\n")
    line = one_line(run_rvtune("prepare", "--config", config), 2)
    assert str(config) in line and "not UTF-8" in line


# --- NaN ---------------------------------------------------------------------------------


def test_nan_adapter_is_refused_on_export_and_load(tmp_path):
    bad = make_adapter(tmp_path / "nan.npz", nan=True)
    line = one_line(run_rvtune("export", "--adapter", bad, "--format", "peft", "--out",
                               tmp_path / "p"), 1)
    assert "lora_b' holds NaN or inf" in line and not (tmp_path / "p").exists()
    from rvtune.core.errors import DataError
    from rvtune.export.adapter import read_adapter

    with pytest.raises(DataError, match="NaN"):
        read_adapter(bad)


@pytest.mark.slow
def test_diverging_run_stops_at_the_first_nan_keeping_the_last_good_checkpoint(tmp_path):
    from support import run_rvtune as cli

    proc = cli("run", "--preset", "tiny", "--iters", "6", "--learning-rate", "1e30",
               "--save-every", "1", "--run-dir", tmp_path / "runs" / "nan",
               "--sample-tokens", "0", cwd=tmp_path)
    line = one_line(proc, 1)
    assert line.startswith("Error: step 2: the training loss is nan") and "step-0000001" in line
    run = tmp_path / "runs" / "nan"
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["step-0000001"]
    assert not (run / "adapters").exists() and not (tmp_path / "runs" / "latest").exists()


def test_a_gpu_fault_is_not_called_out_of_memory():
    """After a CUDA kernel fault every call fails, allocations too: the message must say what
    happened (a fault, resume from the checkpoint), not "lower --batch-size"."""
    from pathlib import Path

    from rvtune.training.loop import _is_gpu_fault, _is_oom, gpu_fault_message

    fault = RuntimeError("cudaMallocAsync(&ptr, size, stream) failed: an illegal memory access "
                         "was encountered")
    assert _is_gpu_fault(fault) and not _is_oom(fault)
    for oom in ("cudaMallocAsync failed: out of memory",
                "[metal::malloc] Attempting to allocate 9 bytes which is greater than the "
                "maximum allowed buffer size"):
        assert _is_oom(RuntimeError(oom)) and not _is_gpu_fault(RuntimeError(oom))
    line = gpu_fault_message(fault, 377, Path("runs/e3"),
                             Path("runs/e3/checkpoints/step-0000250"))
    assert "\n" not in line and "fault at step 377" in line and "illegal memory access" in line
    assert "rvtune run --resume runs/e3" in line and "step-0000250" in line
    assert "run it again" in gpu_fault_message(fault, 3, Path("runs/e3"), None)


# --- failed runs -------------------------------------------------------------------------


def test_run_failing_before_its_first_checkpoint_leaves_nothing(tmp_path, sample_jsonl):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "good").mkdir()
    os.symlink("good", runs / "latest")
    proc = run_rvtune("run", "--preset", "tiny", "--dataset", sample_jsonl, "--batch-size",
                      "64", "--run-dir", runs / "bad", cwd=tmp_path)
    assert "--batch-size 64: larger than the training set" in one_line(proc, 2)
    assert sorted(p.name for p in runs.iterdir()) == ["good", "latest"]
    assert os.readlink(runs / "latest") == "good"
    (runs / "mine").mkdir()  # an empty directory the user made is emptied, not removed
    proc = run_rvtune("run", "--preset", "tiny", "--dataset", sample_jsonl, "--batch-size",
                      "64", "--run-dir", runs / "mine", cwd=tmp_path)
    assert proc.returncode == 2 and list((runs / "mine").iterdir()) == []


@pytest.mark.slow
def test_run_killed_before_its_first_checkpoint_can_be_resumed_or_reused(tmp_path):
    run = tmp_path / "runs" / "k"
    args = ["run", "--preset", "tiny", "--iters", "2", "--sample-tokens", "0", "--run-dir", run]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "rvtune", *map(str, args)], cwd=tmp_path,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        if (run / "config.yaml").exists():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (run / "config.yaml").exists() and not (run / "checkpoints").exists()
    resumed = run_rvtune("run", "--resume", run, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "starting it over" in resumed.stdout + resumed.stderr
    assert (run / "adapters.npz").exists()
    assert os.readlink(tmp_path / "runs" / "latest") == "k"


# --- plugins -----------------------------------------------------------------------------


def fake_distribution(site: Path, code: str, name: str = "rvtune-bad") -> dict:
    site.mkdir(parents=True, exist_ok=True)
    (site / "bad_plugin.py").write_text(code)
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[rvtune]\nbad = bad_plugin\n")
    return {"PYTHONPATH": str(site)}


@pytest.mark.parametrize("code", ["import sys\nsys.exit(3)\n", "raise SystemExit('bye')\n",
                                  "print('hello from import')\nimport os\nos.getcwd()\n"])
def test_plugin_exiting_or_printing_at_import_is_contained(tmp_path, code, sample_jsonl):
    env = fake_distribution(tmp_path / "site", code)
    proc = run_rvtune("plugins", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}  # stdout is clean JSON
    if "exit" in code.lower():
        assert rows["bad"]["status"] == "failed" and "SystemExit" in rows["bad"]["error"]
        assert "'rvtune-bad'" in proc.stderr
    else:
        assert rows["bad"]["status"] == "ok" and "hello from import" in proc.stderr
    ok = run_rvtune("prepare", "--dataset", sample_jsonl, "--out", tmp_path / "o", env=env)
    assert ok.returncode == 0, ok.stderr


def test_failing_plugin_command_names_its_distribution(tmp_path):
    env = fake_distribution(tmp_path / "site", (
        "import rvtune\n@rvtune.hookimpl\ndef register_commands(cli):\n"
        "    @cli.command()\n    def boom():\n        raise ValueError('kaput')\n"))
    line = one_line(run_rvtune("boom", env=env), 70)
    assert "plugin command 'boom' from plugin 'bad' (distribution 'rvtune-bad')" in line
    assert "kaput" in line and "please report it" not in line


def test_register_commands_failure_shows_as_failed(tmp_path):
    env = fake_distribution(tmp_path / "site", (
        "import rvtune, sys\n@rvtune.hookimpl\ndef register_commands(cli):\n"
        "    sys.exit(1)\n"))
    proc = run_rvtune("plugins", "--json", env=env)
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["bad"]["status"] == "failed" and "'rvtune-bad'" in proc.stderr


# --- configs and options -----------------------------------------------------------------


def invoke(args, cwd):
    from click.testing import CliRunner

    from rvtune.cli import cli

    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, [str(a) for a in args])
    finally:
        os.chdir(old)


@pytest.mark.parametrize("text,expected", [
    ("runn:\n  seed: 1\n", "'runn' is not a command section"),
    ("prepare:\n  seed: {a: 1}\n", "'seed' must be a single value"),
    ("seed: abc\n", "'seed': 'abc' is not a valid integer"),
    ("prepare:\n  valid-fraction: .nan\n", "'valid-fraction': nan is not a finite number"),
])
def test_config_errors_name_the_file_and_key(tmp_path, text, expected):
    config = tmp_path / "c.yaml"
    config.write_text(text)
    result = invoke(["prepare", "--config", config], tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: --config {config}: ") and expected in result.stderr


def test_options_that_read_everything_or_nothing_are_refused(tmp_path, sample_jsonl):
    for args, expected in (
            (["--dataset", ""], "--dataset is empty"),
            (["--dataset", "riscv", "--dataset-option", "holdot=row"],
             "--dataset-option holdot: the 'riscv' dataset adapter has no such option; it "
             "takes: holdout, size"),
            (["--dataset", sample_jsonl, "--limit", "0"], "--limit 0: must be 1 or more"),
            (["--dataset", "riscv", "--dataset-size", "-5"], "--dataset-size -5: must be 1")):
        result = invoke(["prepare", "--out", tmp_path / "o", *args], tmp_path)
        assert result.exit_code == 2 and expected in result.stderr, result.stderr
        assert not (tmp_path / "o").exists()


def test_preset_adapts_the_warmup_and_shows_in_print_config(tmp_path):
    import yaml

    from rvtune.training.presets import get_preset

    settings = get_preset("smollm2").resolved(False)
    result = invoke(["run", "--preset", "smollm2", "--iters", "5", "--print-config"], tmp_path)
    shown = yaml.safe_load(result.stdout)["run"]
    assert shown["iters"] == 5 and 0 <= shown["warmup"] < 5
    assert shown["learning-rate"] == settings["learning_rate"] and "model" not in shown
