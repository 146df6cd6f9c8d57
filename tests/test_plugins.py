"""The plugin system: built-ins, third-party entry points (real installs), failures."""

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import rvtune
from support import ROOT, read_jsonl, write_jsonl, SAMPLE_ROWS
from rvtune.core import hookspecs
from rvtune.formats import Formatter
from rvtune.core.plugins import register_plugin, registry, unregister_plugin

EXAMPLE = ROOT / "examples" / "rvtune-alpaca-formatter"


def test_plugins_json_lists_builtins_and_what_they_register(rvtune_cli):
    proc = rvtune_cli("plugins", "--json", check=True)
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    formatters = rows["rvtune.plugins.formatters"]
    assert formatters["builtin"] and formatters["status"] == "ok"
    assert formatters["version"] == rvtune.__version__
    assert formatters["registers"]["formatter"] == ["plain", "chatml", "chat-template"]
    assert rows["rvtune.plugins.files_dataset"]["registers"] == {"dataset_adapter": ["files"]}


def test_plugins_table(rvtune_cli):
    proc = rvtune_cli("plugins", check=True)
    assert "rvtune.plugins.formatters" in proc.stdout and "chatml" in proc.stdout


class DuplicatePlugin:
    @staticmethod
    @rvtune.hookimpl
    def register_formatters(register):
        from rvtune.formats.plain import PlainFormatter

        register(PlainFormatter)


class ShoutFormatterPlugin:
    class Shout(Formatter):
        """Upper-cased prompt."""

        name = "shout"

        def render_prompt(self, prompt):
            return prompt.upper() + " ->"

        def render_completion(self, completion):
            return " " + completion

    @staticmethod
    @rvtune.hookimpl
    def register_formatters(register):
        register(ShoutFormatterPlugin.Shout)


@pytest.fixture
def shout_plugin():
    register_plugin(ShoutFormatterPlugin, "shout-plugin")
    yield
    unregister_plugin("shout-plugin")


def test_runtime_plugin_registers_and_unregisters(shout_plugin):
    assert "shout" in registry().names("formatter")
    assert registry().tables["formatter"]["shout"].plugin == "shout-plugin"


def test_duplicate_name_is_refused_and_named(capsys):
    register_plugin(DuplicatePlugin, "dup-plugin")
    try:
        err = capsys.readouterr().err
        assert "plugin 'dup-plugin'" in err and "'plain' is already registered" in err
        assert registry().tables["formatter"]["plain"].plugin == "rvtune.plugins.formatters"
    finally:
        unregister_plugin("dup-plugin")


def test_every_hook_is_documented_and_tested():
    """Datasette's rule: a hook without reference docs or a test_hook_<name> is not done."""
    here = Path(__file__).parent
    tests = "".join(p.read_text() for p in here.rglob("test_*.py"))
    docs = " ".join((ROOT / "docs" / "plugins.md").read_text().split())
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction):
        if not name.startswith("register_"):
            continue
        assert fn.__doc__ and len(fn.__doc__) > 40, name
        first_sentence = " ".join(fn.__doc__.split(".")[0].split())
        assert first_sentence in docs, f"{name}'s docstring is not in docs/plugins.md"
        assert f"def test_hook_{name}(" in tests, f"no test_hook_{name}"


class EveryKindPlugin:
    """A third-party-style plugin giving one component of every kind."""

    class Echo:
        """Dataset adapter yielding two fixed rows."""

        name = "echo"

        def __init__(self, spec):
            self.spec = spec

        def rows(self):
            for i in range(12):
                yield f"echo[{i}]", {"description": f"say {i}", "instructions": f"li a0, {i}"}

    class NoTrainer:
        """Trainer that records it was asked."""

        name = "record"

    class CopyExporter:
        """Exporter."""

        name = "copy"

    class SameEvaluator:
        """Evaluator: prediction equals reference."""

        name = "same"

        def score(self, references, predictions):
            return [{"same": r == p} for r, p in zip(references, predictions)]

    @staticmethod
    @rvtune.hookimpl
    def register_dataset_adapters(register):
        register(EveryKindPlugin.Echo)

    @staticmethod
    @rvtune.hookimpl
    def register_trainers(register):
        register(EveryKindPlugin.NoTrainer)

    @staticmethod
    @rvtune.hookimpl
    def register_exporters(register):
        register(EveryKindPlugin.CopyExporter)

    class EvenFilter:
        """Filter: keeps rows whose target ends in an even digit."""

        name = "even"

        def check(self, completions):
            return [None if int(c[-1]) % 2 == 0 else "odd" for c in completions]

    @staticmethod
    @rvtune.hookimpl
    def register_evaluators(register):
        register(EveryKindPlugin.SameEvaluator)

    @staticmethod
    @rvtune.hookimpl
    def register_filters(register):
        register(EveryKindPlugin.EvenFilter)


@pytest.fixture
def every_kind():
    register_plugin(EveryKindPlugin, "every-kind")
    yield registry()
    unregister_plugin("every-kind")


def test_hook_register_dataset_adapters(every_kind, tmp_path):
    from rvtune.core.datasets import DatasetSpec
    from rvtune.core.prepare import PrepareConfig, prepare

    result = prepare(PrepareConfig(DatasetSpec("echo"), out=str(tmp_path / "o"),
                                   formatter="plain"))
    assert result.manifest["adapter"] == "echo" and sum(result.counts.values()) == 12


def test_hook_register_filters(every_kind, tmp_path):
    from rvtune.core.datasets import DatasetSpec
    from rvtune.core.errors import UsageError
    from rvtune.core.prepare import PrepareConfig, prepare

    result = prepare(PrepareConfig(DatasetSpec("echo"), out=str(tmp_path / "o"),
                                   formatter="plain", filters=("even",)))
    targets = [r["target"] for split in ("train", "valid")
               for r in read_jsonl(tmp_path / "o" / f"{split}.jsonl")]
    assert sorted(targets) == [f"li a0, {i}" for i in (0, 10, 2, 4, 6, 8)]
    assert result.manifest["filters"]["even"]["dropped"] == 6
    dropped = read_jsonl(tmp_path / "o" / "dropped.jsonl")
    assert {d["reason"] for d in dropped} == {"even"} and len(dropped) == 6
    with pytest.raises(UsageError, match=r"unknown filter 'nope' \(option --filter\); "
                                         r"available: assembles, even"):
        prepare(PrepareConfig(DatasetSpec("echo"), out=str(tmp_path / "p"), filters=("nope",)))


def test_hook_register_formatters(shout_plugin, tmp_path):
    from rvtune.core.datasets import DatasetSpec
    from rvtune.core.prepare import PrepareConfig, prepare

    src = write_jsonl(tmp_path / "d.jsonl", SAMPLE_ROWS)
    prepare(PrepareConfig(DatasetSpec(str(src)), out=str(tmp_path / "o"), formatter="shout"))
    row = read_jsonl(tmp_path / "o" / "train.jsonl")[0]
    assert row["text"] == f"{row['input'].upper()} -> {row['target']}"


def test_hook_register_trainers(every_kind):
    assert every_kind.get("trainer", "record") is EveryKindPlugin.NoTrainer
    assert every_kind.tables["trainer"]["record"].plugin == "every-kind"


def test_hook_register_exporters(every_kind):
    assert every_kind.get("exporter", "copy") is EveryKindPlugin.CopyExporter


def test_hook_register_evaluators(every_kind):
    evaluator = every_kind.get("evaluator", "same")()
    assert evaluator.score(["a", "b"], ["a", "c"]) == [{"same": True}, {"same": False}]


def install(package: Path, target: Path):
    """pip-install a plugin for real, offline, without build isolation, into ``target``."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target),
                    str(package)], check=True, capture_output=True, text=True)


def test_example_plugin_installs_and_works_through_the_cli(rvtune_cli, tmp_path):
    site = tmp_path / "site"
    install(EXAMPLE, site)
    env = {"PYTHONPATH": str(site)}
    listed = json.loads(rvtune_cli("plugins", "--json", env=env, check=True).stdout)
    alpaca = [r for r in listed if r["name"] == "alpaca"][0]
    assert alpaca["distribution"] == "rvtune-alpaca-formatter" and alpaca["version"] == "0.1.0"
    assert alpaca["registers"] == {"formatter": ["alpaca"], "logger": ["csv"],
                                   "filter": ["short"]}
    assert not alpaca["builtin"]
    long_row = {"description": "nine nops", "instructions": "\n".join(["nop"] * 9)}
    src = write_jsonl(tmp_path / "d.jsonl", SAMPLE_ROWS + [long_row])
    proc = rvtune_cli("prepare", "--dataset", src, "--formatter", "alpaca", "--filter", "short",
                      "--out", tmp_path / "o", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "1 dropped by --filter short" in proc.stdout
    row = read_jsonl(tmp_path / "o" / "train.jsonl")[0]
    assert row["text"] == f"### Instruction:\n{row['input']}\n\n### Response:\n{row['target']}"
    # RVTUNE_LOAD_PLUGINS= switches third-party plugins off; naming one picks it.
    off = rvtune_cli("plugins", "--json", env={**env, "RVTUNE_LOAD_PLUGINS": ""}, check=True)
    assert "alpaca" not in {r["name"] for r in json.loads(off.stdout)}
    picked = rvtune_cli("plugins", "--json",
                        env={**env, "RVTUNE_LOAD_PLUGINS": "rvtune-alpaca-formatter"}, check=True)
    assert "alpaca" in {r["name"] for r in json.loads(picked.stdout)}


def make_broken_distribution(site: Path, error_line: str) -> None:
    """A real installed distribution (dist-info + entry point) whose module fails."""
    site.mkdir(parents=True, exist_ok=True)
    (site / "broken_plugin.py").write_text(error_line + "\n")
    info = site / "rvtune_broken-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rvtune-broken\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[rvtune]\nbroken = broken_plugin\n")


def test_broken_plugin_is_reported_in_one_line_and_the_rest_works(rvtune_cli, tmp_path):
    site = tmp_path / "site"
    make_broken_distribution(site, "import a_module_that_does_not_exist")
    env = {"PYTHONPATH": str(site)}
    proc = rvtune_cli("plugins", "--json", env=env)
    assert proc.returncode == 0
    warnings = [ln for ln in proc.stderr.splitlines() if "broken" in ln]
    assert len(warnings) == 1 and "rvtune-broken" in warnings[0]
    assert "ModuleNotFoundError" in warnings[0]
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["broken"]["status"] == "failed" and rows["rvtune.plugins.formatters"]["status"] == "ok"
    src = write_jsonl(tmp_path / "d.jsonl", SAMPLE_ROWS)
    ok = rvtune_cli("prepare", "--dataset", src, "--out", tmp_path / "o", env=env)
    assert ok.returncode == 0, ok.stderr


def test_plugin_failing_at_registration_is_isolated(rvtune_cli, tmp_path):
    site = tmp_path / "site"
    make_broken_distribution(site, (
        "import rvtune\n@rvtune.hookimpl\ndef register_formatters(register):\n"
        "    raise RuntimeError('boom')"))
    proc = rvtune_cli("plugins", "--json", env={"PYTHONPATH": str(site)})
    assert proc.returncode == 0
    assert "failed in register_formatters: boom" in proc.stderr
    assert {r["name"]: r["status"] for r in json.loads(proc.stdout)}["broken"] == "failed"


class CommandPlugin:
    @staticmethod
    @rvtune.hookimpl
    def register_commands(cli):
        @cli.command(name="hello")
        def hello():
            """Say hello."""
            print("hello from a plugin")


def test_hook_register_commands():
    from click.testing import CliRunner

    from rvtune.cli import cli

    register_plugin(CommandPlugin, "cmd-plugin")
    try:
        cli.__dict__.pop("_plugin_cache", None)
        result = CliRunner().invoke(cli, ["hello"])
        assert result.exit_code == 0 and "hello from a plugin" in result.output
    finally:
        unregister_plugin("cmd-plugin")
        cli.__dict__.pop("_plugin_cache", None)
