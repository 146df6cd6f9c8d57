"""Data-parallel training through the real CLI: ``rvtune run --nproc 2`` (two local ring
processes on CPU, started by mlx.launch) trains exactly what one process trains with the
same global batch and seed, resumes with two processes, and leaves one set of outputs;
plus the launcher's checks and the mlx.launch commands it builds."""

import json
import sys
from pathlib import Path

import pytest

from support import run_rvtune
from rvtune.core.errors import UsageError
from rvtune.training import launch

# Constant learning rate, so that a run resumed with more --iters trains what one
# uninterrupted run does; dropout 0 (multi-process dropout masks differ by design).
TRAIN = ["--preset", "tiny", "--dataset-size", "120", "--warmup", "0",
         "--lr-schedule", "constant", "--steps-per-report", "1", "--steps-per-eval", "3",
         "--val-batches", "2", "--save-every", "3", "--sample-tokens", "0"]


def losses(run_dir: Path) -> list:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [(r["type"], r["step"], r.get("loss", r.get("val_loss")))
            for r in map(json.loads, lines)]


@pytest.fixture
def cli_env(tiny_model, tmp_path):
    return {"RVTUNE_CACHE": str(Path(tiny_model).parent)}


@pytest.mark.slow
def test_two_ring_processes_match_one_and_resume(cli_env, tmp_path):
    one = run_rvtune("run", *TRAIN, "--iters", "6", "--run-dir", tmp_path / "one",
                     env=cli_env, cwd=tmp_path)
    assert one.returncode == 0, one.stderr

    two = tmp_path / "two"
    first = run_rvtune("run", *TRAIN, "--iters", "3", "--run-dir", two, "--nproc", "2",
                       env=cli_env, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Launching 2 processes (ring backend, 2 rows each per step)" in first.stdout
    assert "mlx.launch" in first.stdout and "--nproc" not in first.stdout.split("--", 1)[1]
    # Every rank resumes from rank 0's checkpoint and continues on the same batches.
    more = run_rvtune("run", "--resume", two, "--iters", "6", "--nproc", "2",
                      env=cli_env, cwd=tmp_path)
    assert more.returncode == 0, more.stdout + more.stderr
    assert "Resuming from" in more.stdout and "step 3 of 6" in more.stdout

    expected, got = losses(tmp_path / "one"), losses(two)
    assert [(t, s) for t, s, _ in got] == [(t, s) for t, s, _ in expected]
    for (kind, step, want), (_, _, have) in zip(expected, got):
        assert have == pytest.approx(want, rel=1e-4, abs=1e-4), (kind, step)

    # One set of outputs: rank 0 alone wrote them, each line once.
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["one", "two"]
    assert sorted(tmp_path.rglob("metrics.jsonl")) == sorted(
        [tmp_path / "one" / "metrics.jsonl", two / "metrics.jsonl"])
    records = (two / "metrics.jsonl").read_text().splitlines()
    assert len(records) == len(set(records)) == len(expected)
    assert sorted(p.name for p in (two / "checkpoints").iterdir()) == ["step-0000003",
                                                                      "step-0000006"]
    assert (two / "adapters" / "adapters.safetensors").is_file()
    written = {str(p.relative_to(two)) for p in two.rglob("adapter_config.json")}
    assert written - {"best-adapters/adapter_config.json"} == {  # one writer, no rank copies
        "adapters/adapter_config.json", "checkpoints/step-0000003/adapter_config.json",
        "checkpoints/step-0000006/adapter_config.json"}
    log = (two / "run.log").read_text()
    assert log.count("Run directory:") == 1 and log.count("Resuming directory:") == 1
    assert log.count("step 6/6  loss") == 1
    assert "Data-parallel over 2 processes: each takes 2 of the 4 rows" in log
    summary = json.loads((two / "summary.json").read_text())
    assert summary["steps"] == 6
    assert summary["train_loss"] == pytest.approx(
        json.loads((tmp_path / "one" / "summary.json").read_text())["train_loss"], rel=1e-4)


def test_batch_that_does_not_divide_fails_before_launching(cli_env, tmp_path):
    result = run_rvtune("run", "--preset", "tiny", "--nproc", "2", "--batch-size", "3",
                        env=cli_env, cwd=tmp_path)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert "--batch-size 3" in errors[0] and "multiple of the number of processes (2)" \
        in errors[0]
    assert "Traceback" not in result.stderr and "Launching" not in result.stdout
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("args,needle", [
    (["--nproc", "0"], "--nproc 0"),
    (["--nproc", "2", "--hostfile", "hosts.json"], "give one"),
    (["--hostfile", "missing.json"], "no such file"),
    (["--hostfile", "bad.json"], "not valid JSON"),
    (["--hostfile", "nossh.json"], 'no "ssh"'),
], ids=["nproc0", "both", "missing", "badjson", "nossh"])
def test_launcher_options_fail_in_one_line(cli_env, tmp_path, args, needle):
    (tmp_path / "hosts.json").write_text('[{"ssh": "a", "ips": ["10.0.0.1"]}]')
    (tmp_path / "bad.json").write_text("[{")
    (tmp_path / "nossh.json").write_text('[{"ips": ["10.0.0.1"]}]')
    result = run_rvtune("run", "--preset", "tiny", *args, env=cli_env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and needle in errors[0], result.stderr


def test_nproc_inside_a_launched_rank_is_refused(cli_env, tmp_path):
    result = run_rvtune("run", "--preset", "tiny", "--nproc", "2",
                        env={**cli_env, "MLX_RANK": "0"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "already one rank of a launched job" in result.stderr


# -- the mlx.launch commands (no processes started) --

def _tail(command):
    return command[command.index("--") + 1:]


def test_local_ring_command(tmp_path):
    job = launch.build_command(["--iters", "5"], nproc=4, backend="auto", cuda=False,
                               launcher="mlx.launch", python="/py", port=40000, env={})
    assert job.backend == "ring" and job.processes == 4
    head = job.command[:job.command.index("--")]
    assert head == ["mlx.launch", "--hosts", "127.0.0.1", "-n", "4", "--backend", "ring",
                    "--starting-port", "40000", "--env", "RVTUNE_LAUNCHED=1"]
    assert _tail(job.command) == ["/py", "-m", "rvtune", "run", "--iters", "5"]


def test_local_nccl_command_pins_one_gpu_per_rank():
    job = launch.build_command([], nproc=2, backend="auto", cuda=True, launcher="L",
                               python="/py", port=12400, env={})
    assert job.backend == "nccl"
    head = job.command[:job.command.index("--")]
    assert ["--nccl-port", "12400"] == head[head.index("--nccl-port"):][:2]
    assert "NCCL_NVLS_ENABLE=0" in head and "RVTUNE_RANK_DEVICES=0,1" in head
    # the user's CUDA_VISIBLE_DEVICES is honoured, and the user's NVLS choice kept
    job = launch.build_command([], nproc=2, backend="nccl", launcher="L", python="/py",
                               port=1, env={"CUDA_VISIBLE_DEVICES": "2,3",
                                            "NCCL_NVLS_ENABLE": "1"})
    assert "RVTUNE_RANK_DEVICES=2,3" in job.command and "NCCL_NVLS_ENABLE=1" in job.command
    with pytest.raises(UsageError, match="lists only 1 GPU"):
        launch.build_command([], nproc=2, backend="nccl", launcher="L", python="/py",
                             port=1, env={"CUDA_VISIBLE_DEVICES": "5"})


def test_hostfile_commands_and_backends(tmp_path):
    hosts = [{"ssh": "gpu1", "ips": ["10.0.0.1"]}, {"ssh": "gpu1", "ips": ["10.0.0.1"]},
             {"ssh": "gpu2", "ips": ["10.0.0.2"]}, {"ssh": "gpu2", "ips": ["10.0.0.2"]}]
    path = tmp_path / "hosts.json"
    path.write_text(json.dumps(hosts))
    hostfile = launch.read_hostfile(path)
    ring = launch.build_command(["--iters", "2"], hostfile=hostfile, backend="auto",
                                cuda=False, launcher="L", python="/py", env={})
    assert ring.processes == 4 and ring.backend == "ring"
    head = ring.command[:ring.command.index("--")]
    assert head[:3] == ["L", "--hostfile", str(path.resolve())]
    assert "-n" not in head and "--starting-port" not in head

    nccl = launch.build_command([], hostfile=hostfile, backend="auto", cuda=True,
                                launcher="L", python="/py", env={})
    # local rank on each machine -> that machine's GPU (mlx.launch alone would put all on 0)
    assert "RVTUNE_RANK_DEVICES=0,1,0,1" in nccl.command
    mpi = launch.build_command([], hostfile=hostfile, backend="mpi", cuda=True,
                               launcher="L", python="/py", env={})
    assert mpi.backend == "mpi" and "NCCL_NVLS_ENABLE=0" not in mpi.command

    # the hostfile's own backend wins over auto; --backend wins over the hostfile
    path.write_text(json.dumps({"backend": "mpi", "hosts": hosts}))
    assert launch.build_command([], hostfile=launch.read_hostfile(path), backend="auto",
                                cuda=True, launcher="L", python="/py", env={}).backend == "mpi"
    assert launch.build_command([], hostfile=launch.read_hostfile(path), backend="ring",
                                launcher="L", python="/py", env={}).backend == "ring"

    path.write_text(json.dumps([{"ssh": "mac1"}, {"ssh": "mac2"}]))
    with pytest.raises(UsageError, match="ring backend needs \"ips\""):
        launch.build_command([], hostfile=launch.read_hostfile(path), backend="ring",
                             launcher="L", python="/py", env={})


def test_rank_args_drop_launcher_options_and_keep_the_rest(tmp_path, monkeypatch):
    """The ranks get the same options (flags, repeated options, --config as an absolute
    path) minus --nproc/--hostfile/--backend."""
    from rvtune.commands.run import _rank_args, run

    (tmp_path / "recipe.yaml").write_text("run:\n  iters: 7\n")
    monkeypatch.chdir(tmp_path)
    ctx = run.make_context("run", [
        "--config", "recipe.yaml", "--nproc", "2", "--backend", "ring", "--no-mask-prompt",
        "--force", "--target-modules", "q_proj", "--target-modules", "v_proj",
        "--learning-rate", "0.0003", "--run-dir", "r"])
    args = _rank_args(ctx)
    assert args[:2] == ["--config", str((tmp_path / "recipe.yaml").resolve())]
    assert "--nproc" not in args and "--backend" not in args
    assert "--no-mask-prompt" in args and "--force" in args
    assert args.count("--target-modules") == 2
    assert args[args.index("--learning-rate") + 1] == "0.0003"
    assert "--iters" not in args  # from --config: the ranks read the file themselves


def test_pin_device_picks_this_ranks_gpu():
    env = {"MLX_RANK": "1", launch.DEVICES_ENV: "2,3", "CUDA_VISIBLE_DEVICES": "1"}
    launch.pin_device(env)
    assert env["CUDA_VISIBLE_DEVICES"] == "3" and env["NCCL_NVLS_ENABLE"] == "0"
    plain = {}
    launch.pin_device(plain)
    assert plain == {}


def test_run_command_takes_the_exit_code_of_a_failed_rank(tmp_path):
    """mlx.launch exits 0 even when a rank fails; the launcher reads the ranks' codes."""
    script = tmp_path / "rank.py"
    script.write_text("import os, sys\nsys.exit(3 if os.environ['MLX_RANK'] == '1' else 0)\n")
    job = launch.build_command([], nproc=2, backend="ring", cuda=False, env={})
    command = job.command[:job.command.index("--") + 1] + [sys.executable, str(script)]
    assert launch.run_command(command) == 3


def test_launcher_without_console_script_runs_mlx_module(tmp_path):
    """Without an mlx.launch script (pip install --target), MLX's launcher module runs."""
    job = launch.build_command([], nproc=2, backend="ring", cuda=False, env={},
                               launcher=[sys.executable, "-c", launch.MODULE_LAUNCHER])
    script = tmp_path / "rank.py"
    script.write_text("import mlx.core as mx\nprint('sum', mx.distributed.all_sum("
                      "mx.array(1.0)).item(), flush=True)\n")
    command = job.command[:job.command.index("--") + 1] + [sys.executable, str(script)]
    assert launch.run_command(command) == 0
