"""Data-parallel runs across processes and machines (docs/distributed.md).

Two halves. The launcher: ``rvtune run --nproc N`` / ``--hostfile FILE`` builds the
``mlx.launch`` command that starts ``rvtune run`` once per rank with the same options, runs
it and turns what the ranks did into one exit code. The ranks: small collectives that let
rank 0 alone touch the run directory while the others wait for it and follow its decisions.

Nothing here imports MLX at module level: ``rvtune --help`` stays cheap.
"""

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from rvtune.core.errors import RvtuneError, UsageError

BACKENDS = ("auto", "ring", "mpi", "nccl")
#: ``rvtune run`` options that start the launcher; the ranks get every option but these.
LAUNCH_OPTIONS = ("nproc", "hostfile", "backend")
#: Set for the ranks that ``rvtune run --nproc/--hostfile`` started.
LAUNCHED_ENV = "RVTUNE_LAUNCHED"
#: Comma-separated CUDA device per rank (NCCL): rank r sets CUDA_VISIBLE_DEVICES to item r.
DEVICES_ENV = "RVTUNE_RANK_DEVICES"
#: Variables that say "this process is one rank of a launched job".
RANK_ENVS = ("MLX_RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK")
#: What the ``mlx.launch`` console script runs, for installs that have no such script.
MODULE_LAUNCHER = ("import sys; from mlx._distributed_utils.launch import main; "
                   "sys.argv[0] = 'mlx.launch'; sys.exit(main())")
_STATUS = re.compile(r"Node with rank (\d+) (?:exited with code (-?\d+)|was killed)")


def under_launcher(env=None) -> bool:
    """True in a process that ``mlx.launch`` / ``mpirun`` started as one rank."""
    env = os.environ if env is None else env
    return any(name in env for name in RANK_ENVS)


@dataclass
class Hostfile:
    """The parts of an ``mlx.launch`` JSON hostfile that rvtune checks before launching."""

    path: Path
    hosts: list = field(default_factory=list)  # [{"ssh": str, "ips": [str, ...]}, ...]
    backend: str = ""


def read_hostfile(path) -> Hostfile:
    """Read and check an ``mlx.launch`` hostfile: a JSON list of hosts, or an object with
    ``hosts`` (and optionally ``backend`` and ``envs``); each host has ``ssh`` and ``ips``."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UsageError(f"--hostfile {path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"--hostfile {path}: not valid JSON ({exc})") from None
    backend = ""
    if isinstance(data, dict):
        backend = data.get("backend") or ""
        data = data.get("hosts")
    if not isinstance(data, list) or not data:
        raise UsageError(f"--hostfile {path}: expected a list of hosts (or an object with "
                         '"hosts"), like [{"ssh": "mac1", "ips": ["10.0.0.1"]}, ...]')
    for index, host in enumerate(data):
        if not isinstance(host, dict) or not isinstance(host.get("ssh"), str):
            raise UsageError(f"--hostfile {path}: host {index} has no \"ssh\" name")
        if not isinstance(host.get("ips", []), list):
            raise UsageError(f"--hostfile {path}: host {index}: \"ips\" must be a list")
    return Hostfile(path=path.resolve(), hosts=data, backend=backend)


def cuda_available() -> bool:
    """Whether this machine's MLX runs on CUDA (then NCCL is the backend of choice)."""
    try:
        import mlx.core as mx
    except ImportError:
        return False
    cuda = getattr(mx, "cuda", None)
    return bool(cuda is not None and cuda.is_available())


def choose_backend(requested: str, hostfile: Hostfile | None = None, cuda=None) -> str:
    """``auto``: the hostfile's backend if it names one, else NCCL on CUDA and the ring
    backend (TCP) on CPU and Metal. Any other value is used as given."""
    if requested not in BACKENDS:
        raise UsageError(f"--backend {requested}: use one of {', '.join(BACKENDS)}")
    if requested != "auto":
        return requested
    if hostfile is not None and hostfile.backend:
        return hostfile.backend
    if cuda is None:
        cuda = cuda_available()
    return "nccl" if cuda else "ring"


def free_port(count: int = 1, start: int = 32323) -> int:
    """The first port P from ``start`` on such that P .. P+count-1 are free on 127.0.0.1
    (two local runs at once must not collide on mlx.launch's fixed default port)."""
    port = start
    while port + count < 65535:
        for offset in range(count):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                try:
                    sock.bind(("127.0.0.1", port + offset))
                except OSError:
                    break
        else:
            return port
        port += offset + 1
    raise RvtuneError(f"no {count} free TCP ports on 127.0.0.1 from {start} on")


def rank_devices(nproc: int | None = None, hostfile: Hostfile | None = None,
                 env=None) -> list:
    """The CUDA device of each rank: local rank i on a host takes that host's i-th GPU.

    ``mlx.launch`` gives rank r ``CUDA_VISIBLE_DEVICES=r % n``; that is right for
    ``-n`` on one machine, but it ignores a ``CUDA_VISIBLE_DEVICES`` the user set (the
    ranks would use GPUs 0..n-1 instead of the listed ones) and puts every rank of a
    hostfile that names one machine several times on GPU 0.
    """
    env = os.environ if env is None else env
    if hostfile is None:
        visible = [d.strip() for d in env.get("CUDA_VISIBLE_DEVICES", "").split(",")
                   if d.strip()]
        if visible and len(visible) < nproc:
            raise UsageError(f"--nproc {nproc}: CUDA_VISIBLE_DEVICES={','.join(visible)} "
                             f"lists only {len(visible)} GPU(s); one process per GPU")
        return visible[:nproc] if visible else [str(r) for r in range(nproc)]
    seen = {}
    devices = []
    for host in hostfile.hosts:
        devices.append(str(seen.get(host["ssh"], 0)))
        seen[host["ssh"]] = seen.get(host["ssh"], 0) + 1
    return devices


def launcher_command() -> list:
    """``mlx.launch`` of this Python's environment, else the one on PATH, else MLX's
    launcher module run by this Python (an install without console scripts, such as
    ``pip install --target``)."""
    beside = Path(sys.executable).parent / "mlx.launch"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("mlx.launch")
    if found:
        return [found]
    import importlib.util

    try:
        module = importlib.util.find_spec("mlx._distributed_utils.launch")
    except ImportError:
        module = None
    if module is None:
        raise UsageError("--nproc/--hostfile: mlx.launch not found; it comes with MLX "
                         "(pip install 'mlx>=0.29', or mlx[cpu] / mlx[cuda13] on Linux)")
    return [sys.executable, "-c", MODULE_LAUNCHER]


@dataclass
class Launch:
    """A ready-to-run ``mlx.launch`` command and what it starts."""

    command: list
    processes: int
    backend: str


def build_command(run_args: list, *, nproc: int | None = None,
                  hostfile: Hostfile | None = None, backend: str = "auto",
                  python: str | None = None, launcher=None, env=None,
                  cuda=None, port: int | None = None) -> Launch:
    """The ``mlx.launch`` command that runs ``rvtune run RUN_ARGS`` on every rank.

    Local processes (``nproc``) listen on free ports of 127.0.0.1; a ``hostfile`` is passed
    through as it is (its hosts must reach each other and have this Python at the same
    path). NCCL runs get ``NCCL_NVLS_ENABLE=0`` (NVLink multicast off) unless the
    environment sets it, and one GPU per rank (:func:`rank_devices`).
    """
    env = os.environ if env is None else env
    backend = choose_backend(backend, hostfile, cuda)
    processes = len(hostfile.hosts) if hostfile is not None else nproc
    command = [launcher] if isinstance(launcher, str) else list(launcher or launcher_command())
    if hostfile is not None:
        command += ["--hostfile", str(hostfile.path)]
        if backend == "ring" and any(not host.get("ips") for host in hostfile.hosts):
            raise UsageError(f"--hostfile {hostfile.path}: the ring backend needs \"ips\" "
                             "(addresses the hosts reach each other on) for every host")
        if backend == "nccl" and not hostfile.hosts[0].get("ips"):
            raise UsageError(f"--hostfile {hostfile.path}: NCCL needs \"ips\" for the first "
                             "host (rank 0), reachable from every other host")
    else:
        command += ["--hosts", "127.0.0.1", "-n", str(nproc)]
    command += ["--backend", backend]
    if hostfile is None and backend == "ring":
        command += ["--starting-port", str(port or free_port(nproc))]
    elif hostfile is None and backend == "nccl":
        command += ["--nccl-port", str(port or free_port(1, 12345))]
    command += ["--env", f"{LAUNCHED_ENV}=1"]
    if backend == "nccl":
        command += ["--env", f"NCCL_NVLS_ENABLE={env.get('NCCL_NVLS_ENABLE', '0')}"]
        devices = rank_devices(nproc, hostfile, env)
        command += ["--env", f"{DEVICES_ENV}={','.join(devices)}"]
    command += ["--", python or sys.executable, "-m", "rvtune", "run", *run_args]
    return Launch(command=command, processes=processes, backend=backend)


def run_command(command: list, echo=print) -> int:
    """Run ``mlx.launch``, pass its output through, and return one exit code for the job.

    ``mlx.launch`` exits 0 even when a rank fails; it says so on stderr ("Node with rank
    R exited with code C"), so the code comes from those lines: 130 if a rank stopped on
    Ctrl-C, else the first failure. Ctrl-C here is left to the ranks (they get it from the
    terminal, save a checkpoint and stop together), so this process just waits.
    """
    failures = []

    def relay(stream):
        for raw in iter(stream.readline, b""):
            sys.stderr.buffer.write(raw)
            sys.stderr.buffer.flush()
            found = _STATUS.search(raw.decode(errors="replace"))
            if found and found.group(2) != "0":
                failures.append(int(found.group(2)) if found.group(2) else 1)

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) \
        if threading.current_thread() is threading.main_thread() else None
    try:
        # stdin stays an open pipe: mlx.launch forwards stdin to the ranks and would spin
        # on an always-readable /dev/null.
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        reader = threading.Thread(target=relay, args=(proc.stderr,), daemon=True)
        reader.start()
        code = proc.wait()
        reader.join()
        proc.stdin.close()
    except FileNotFoundError:
        raise UsageError(f"cannot run {command[0]}") from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if 130 in failures:
        return 130
    if failures:
        return failures[0]
    return code


def describe(command: list) -> str:
    """The command as a shell line, for printing."""
    return shlex.join(command)


def pin_device(env=None) -> None:
    """In a rank started by :func:`build_command`, before MLX is imported: use this rank's
    GPU only, and keep NVLink multicast off unless the user turned it on."""
    env = os.environ if env is None else env
    devices = env.get(DEVICES_ENV)
    rank = env.get("MLX_RANK")
    if devices and rank is not None:
        listed = devices.split(",")
        env["CUDA_VISIBLE_DEVICES"] = listed[int(rank) % len(listed)]
    if under_launcher(env):
        env.setdefault("NCCL_NVLS_ENABLE", "0")


# -- collectives the ranks use to follow rank 0 (all_sum only: NCCL has nothing else) --

def _share_bytes(world, data: bytes | None) -> bytes:
    import mlx.core as mx
    import numpy as np

    main = world.rank() == 0
    size = int(mx.distributed.all_sum(mx.array([len(data) if main else 0], mx.int32),
                                      group=world).item())
    if size == 0:
        return b""
    mine = (np.frombuffer(data, np.uint8).astype(np.int32) if main
            else np.zeros(size, np.int32))
    total = mx.distributed.all_sum(mx.array(mine), group=world)
    return np.array(total).astype(np.uint8).tobytes()


def from_main(world, fn):
    """Run ``fn()`` (returning a str, or None) on rank 0 only and give its result to every
    rank; the others wait meanwhile, so this is also a barrier. If ``fn`` raises an
    :class:`RvtuneError` on rank 0, rank 0 re-raises it (and prints it) while the others
    exit with the same code silently."""
    if world is None or world.size() == 1:
        return fn()
    if world.rank() == 0:
        try:
            value = fn()
        except RvtuneError as exc:
            _share_bytes(world, json.dumps({"code": exc.exit_code}).encode())
            raise
        except BaseException:
            _share_bytes(world, json.dumps({"code": 1}).encode())
            raise
        _share_bytes(world, json.dumps({"code": 0, "value": value}).encode())
        return value
    reply = json.loads(_share_bytes(world, None).decode())
    if reply["code"]:
        raise SystemExit(reply["code"])
    return reply.get("value")


def main_first(world, fn):
    """Run ``fn()`` on rank 0, then (once it succeeded) on every other rank; for work that
    caches its result, such as building the tiny model, so that only rank 0 builds it."""
    if world is None or world.size() == 1:
        return fn()
    if world.rank() == 0:
        box = []
        from_main(world, lambda: box.append(fn()))
        return box[0]
    from_main(world, lambda: None)
    return fn()


def barrier(world) -> None:
    """Wait until every rank got here."""
    if world is not None and world.size() > 1:
        import mlx.core as mx

        mx.eval(mx.distributed.all_sum(mx.array(1, mx.int32), group=world))
