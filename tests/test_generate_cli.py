"""`rvtune generate`, `rvtune chat` and `rvtune.load` on a real tiny run."""

import os
import subprocess
import sys

import pytest
from support import run_rvtune, tiny_cache_dir

HEAVY = ("mlx", "mlx_lm", "datasets", "transformers", "torch")
PROBE = """
import sys
from rvtune.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
print('HEAVY=' + ','.join(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})),
      file=sys.stderr)
"""


@pytest.mark.parametrize("argv", [["export", "--help"], ["generate", "--help"],
                                  ["chat", "--help"]])
def test_help_imports_no_heavy_library(argv):
    proc = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv, heavy=HEAVY)],
                          capture_output=True, text=True, timeout=60)
    assert "HEAVY=\n" in proc.stderr + "\n" and "Usage:" in proc.stdout, proc.stderr


def _env():
    cache = tiny_cache_dir()
    return {"RVTUNE_CACHE": cache}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    run_rvtune("run", "--preset", "tiny", "--iters", "20", "--dataset-size", "200",
               "--run-dir", root / "runs" / "r1", "--sample-tokens", "0",
               "--formatter", "plain", "--instruction-template", "RISC-V for: {description}",
               env=_env(), cwd=root, check=True)
    return root / "runs" / "r1"


@pytest.mark.slow
def test_generate_renders_the_runs_prompt_and_stops(run_dir):
    proc = run_rvtune("generate", "--run", run_dir, "--max-tokens", "12", "--show-prompt",
                      "add a0 and a1", env=_env())
    assert proc.returncode == 0, proc.stderr
    assert "User: RISC-V for: add a0 and a1\nAssistant:" in proc.stderr
    assert "\nUser:" not in proc.stdout  # the plain formatter's stop string cuts
    # the newest run under ./runs is found when --run is left out
    latest = run_rvtune("generate", "--max-tokens", "12", "add a0 and a1", env=_env(),
                        cwd=run_dir.parent.parent)
    assert latest.returncode == 0 and latest.stdout == proc.stdout


@pytest.mark.slow
def test_every_adapter_kind_gives_the_same_answer(run_dir, tmp_path):
    from rvtune.export.loading import load_with_adapter, read_run
    from rvtune.inference import generate, prompt_format

    assert run_rvtune("export", "--run", run_dir, "--format", "peft", "--out",
                      tmp_path / "peft", env=_env()).returncode == 0
    run = read_run(run_dir)
    fmt = prompt_format(run)
    text = fmt.render("shift t0 left by 3")
    answers = {}
    for name, source in (("run", {"run": run_dir}),
                         ("npz", {"adapter_path": run_dir / "adapters.npz"}),
                         ("mlx", {"adapter_path": run_dir / "adapters"}),
                         ("peft", {"adapter_path": tmp_path / "peft", "bits": 4})):
        loaded = load_with_adapter(**source)
        answers[name] = generate(loaded.model, loaded.tokenizer, text, max_tokens=16,
                                 temp=0.7, seed=3, stop_strings=fmt.stop_strings)
    assert len(set(answers.values())) == 1, answers


@pytest.mark.slow
def test_python_api_feeds_mlx_lm_generate(run_dir):
    from mlx_lm import generate

    import rvtune

    model, tokenizer = rvtune.load(run_dir)
    same, _ = rvtune.load(adapter_path=run_dir / "adapters.npz")
    assert isinstance(generate(model, tokenizer, prompt="User: x\nAssistant:", max_tokens=4),
                      str)
    assert type(same) is type(model)


@pytest.mark.slow
def test_chat_answers_each_line_until_quit(run_dir):
    proc = subprocess.run(
        [sys.executable, "-m", "rvtune", "chat", "--run", str(run_dir), "--max-tokens", "6"],
        input="add a0 and a1\n\n/quit\nnever read\n", capture_output=True, text=True,
        env={**os.environ, **_env(), "HF_HUB_OFFLINE": "1"}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count(">>> ") == 3  # one answer, one empty line, then /quit
    assert "formatter plain" in proc.stderr


@pytest.mark.slow
def test_chat_commands_and_conversation(run_dir):
    proc = subprocess.run(
        [sys.executable, "-m", "rvtune", "chat", "--run", str(run_dir), "--max-tokens", "4",
         "--show-prompt"],
        input="first msg\n/help\n/nope\nsecond msg\n/reset\nthird msg\n/exit\n",
        capture_output=True, text=True, env={**os.environ, **_env(), "HF_HUB_OFFLINE": "1"},
        timeout=300)
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr
    assert "multi-turn" in err and "/reset" in err and "Ctrl-C" in err  # banner, /help
    assert "unknown command /nope; /help lists them" in err
    assert "(conversation cleared)" in err
    prompts = [block for block in err.split(">>> ") if "User: " in block]
    assert len(prompts) == 3  # /help, /nope and /reset reached no model
    assert prompts[0].count("User: ") == 1 and "first msg" in prompts[0]
    assert prompts[1].count("User: ") == 2  # the first turn, its answer, then this one
    assert prompts[1].index("first msg") < prompts[1].index("Assistant:") < prompts[1].index(
        "second msg")
    assert prompts[2].count("User: ") == 1 and "third msg" in prompts[2]


@pytest.mark.slow
def test_ctrl_c_stops_the_answer_not_the_chat(tmp_path, monkeypatch):
    import signal
    import time

    from rvtune.training.tiny import tiny_model_path

    env = {**os.environ, **_env(), "HF_HUB_OFFLINE": "1"}
    for key, value in _env().items():
        monkeypatch.setenv(key, value)
    model = tiny_model_path()  # random weights: greedy text that does not stop by itself
    proc = subprocess.Popen(
        [sys.executable, "-m", "rvtune", "chat", "--model", str(model), "--raw",
         "--max-tokens", "100000"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env)
    try:
        proc.stdin.write("say something long\n")
        proc.stdin.flush()
        assert proc.stdout.read(20)  # the answer is streaming
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        out, err = proc.communicate("/quit\n", timeout=600)  # reads both pipes while waiting
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "(stopped)" in err and "Traceback" not in err


def test_generate_errors_are_one_line(tmp_path):
    cases = [
        (["generate", "--run", tmp_path / "nope", "x"], "no such directory"),
        (["generate", "x"], "no run found here"),
        (["generate", "--adapter", tmp_path / "nope.npz", "x"], "no such adapter"),
    ]
    for args, words in cases:
        proc = run_rvtune(*args, cwd=tmp_path, env=_env())
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and words in lines[0], proc.stderr


@pytest.mark.slow
def test_sampling_options_are_checked(run_dir):
    proc = run_rvtune("generate", "--run", run_dir, "--top-p", "0", "x", env=_env())
    assert proc.returncode == 2 and "--top-p 0.0: must be above 0" in proc.stderr


@pytest.mark.slow
def test_checked_decoding_prints_an_answer_that_assembles_or_the_greedy_one(run_dir):
    from rvtune.evaluation.scoring import make_evaluator

    greedy = run_rvtune("generate", "--run", run_dir, "--max-tokens", "16", "add a0 and a1",
                        env=_env())
    checked = run_rvtune("generate", "--run", run_dir, "--max-tokens", "16",
                         "--check-samples", "3", "add a0 and a1", env=_env())
    assert greedy.returncode == 0 and checked.returncode == 0, checked.stderr
    accepts = make_evaluator("riscv").accepts
    answer = checked.stdout.rstrip("\n")
    if accepts([greedy.stdout.rstrip("\n")])[0]:
        assert checked.stdout == greedy.stdout and "checked decoding" not in checked.stderr
    elif "passed)" in checked.stderr:
        assert "sample " in checked.stderr and accepts([answer])[0]
    else:
        assert "no answer of 4 passed" in checked.stderr and checked.stdout == greedy.stdout


def test_checked_decoding_options_are_checked(tmp_path):
    for args, words in [(["--check-samples", "-1"], "--check-samples -1: must be 0"),
                        (["--check-samples", "2", "--check-temperature", "0"],
                         "--check-temperature 0.0: must be above 0"),
                        (["--check-samples", "2", "--evaluator", "nope"], "nope")]:
        proc = run_rvtune("generate", *args, "x", cwd=tmp_path, env=_env())
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and words in lines[0], proc.stderr
