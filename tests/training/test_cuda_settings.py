"""MLX's CUDA graph cap (rvtune/training/cuda.py): set before MLX is imported, only where MLX's
GPU is CUDA (Linux), never over the user's own setting; and the memory estimate calibrated
with it against the H200 peaks recorded in benchmarks/memory_points.py."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rvtune.training import cuda

ROOT = Path(__file__).resolve().parents[2]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux rule")


def _env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in (cuda.MLX_ENV, cuda.ENV)}
    env.update(extra)
    return env


def _graph_env_after(code: str, **extra) -> str:
    """MLX_MAX_MB_PER_BUFFER as a fresh interpreter sees it after ``code``."""
    out = subprocess.run([sys.executable, "-c", code + "\nimport os\n"
                          f"print(os.environ.get({cuda.MLX_ENV!r}, 'unset'))"],
                         env=_env(**extra), capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


@linux_only
def test_the_cli_caps_the_graph_before_mlx_is_imported():
    code = ("import sys\nfrom rvtune.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\nassert 'mlx.core' not in sys.modules")
    assert _graph_env_after(code) == str(cuda.GRAPH_MB)


@linux_only
def test_the_users_setting_and_off_are_kept():
    code = "from rvtune.training.cuda import limit_graph_memory\nlimit_graph_memory()"
    assert _graph_env_after(code, MLX_MAX_MB_PER_BUFFER="500") == "500"
    assert _graph_env_after(code, RVTUNE_CUDA_GRAPH_MB="off") == "unset"
    assert _graph_env_after(code, RVTUNE_CUDA_GRAPH_MB="16") == "16"


@linux_only
def test_nothing_changes_once_mlx_is_imported():
    code = ("import mlx.core\nfrom rvtune.training.cuda import limit_graph_memory\n"
            "assert limit_graph_memory() is None")
    assert _graph_env_after(code) == "unset"


def test_a_bad_value_is_one_line_naming_the_variable(monkeypatch):
    from rvtune.core.errors import UsageError

    monkeypatch.delenv(cuda.MLX_ENV, raising=False)
    monkeypatch.setenv(cuda.ENV, "lots")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delitem(sys.modules, "mlx.core", raising=False)
    with pytest.raises(UsageError, match="RVTUNE_CUDA_GRAPH_MB=lots: expected a positive"):
        cuda.limit_graph_memory()
    assert cuda.MLX_ENV not in os.environ


def test_graph_capped_follows_the_variable(monkeypatch):
    monkeypatch.setenv(cuda.MLX_ENV, str(cuda.GRAPH_MB))
    assert cuda.graph_capped()
    monkeypatch.setenv(cuda.MLX_ENV, "1000")  # MLX's own H100/H200 default
    assert not cuda.graph_capped()
    monkeypatch.delenv(cuda.MLX_ENV)
    assert not cuda.graph_capped()


def _memory_points():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import memory_points  # its own import of benchmarks/models.py happens here too
    finally:
        sys.path.pop(0)
    return memory_points


def test_graph_size_is_mlx_default_unless_set(monkeypatch):
    monkeypatch.delenv(cuda.MLX_ENV, raising=False)
    assert cuda.graph_size() == cuda.MLX_DEFAULT_MB
    monkeypatch.setenv(cuda.MLX_ENV, "128")
    assert cuda.graph_size() == 128


@pytest.mark.parametrize("point", [p for p in _memory_points().POINTS if p[6].get("graph")],
                         ids=lambda p: p[0])
def test_the_cuda_estimate_is_within_15_percent_at_every_graph_size(point):
    points = _memory_points()
    measured = point[7]
    est = points.estimate_gb(point)
    assert 0.85 <= est / measured <= 1.15, (est, measured)
    # A larger graph never makes the estimate smaller, a capped one never larger.
    assert points.estimate_gb(point, graph=1000) >= est >= points.estimate_gb(point, graph=16)
    if point[6]["graph"] <= cuda.GRAPH_MB:  # the cap never makes the estimate larger
        assert points.estimate_gb(point, graph=0) >= est
