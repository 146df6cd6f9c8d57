"""The fast quantized backward pass gives the same gradients as MLX's plain path."""

import pytest

mx = pytest.importorskip("mlx.core")
nn = pytest.importorskip("mlx.nn")

from mlx.utils import tree_flatten  # noqa: E402

from rvtune.training import qmm_vjp  # noqa: E402


def make_model(seed):
    """Two LoRA'd 4-bit linears in sequence, so dx flows through a quantized layer."""
    from mlx_lm.tuner.lora import LoRALinear

    mx.random.seed(seed)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = LoRALinear.from_base(nn.QuantizedLinear(128, 256, group_size=64, bits=4),
                                          r=8, scale=2.0)
            self.b = LoRALinear.from_base(nn.QuantizedLinear(256, 64, group_size=64, bits=4),
                                          r=8, scale=2.0)

        def __call__(self, x):
            return self.b(nn.gelu(self.a(x)))

    net = Net()
    net.freeze()
    net.unfreeze(keys=["lora_a", "lora_b"], strict=False)
    # lora_b starts at zero; give it values so every gradient path is non-trivial.
    for layer in (net.a, net.b):
        layer.lora_b = mx.random.normal(layer.lora_b.shape) * 0.1
    return net


def grads(net, x):
    loss = lambda m, x: (m(x) ** 2).mean()
    _, g = nn.value_and_grad(net, loss)(net, x)
    return dict(tree_flatten(g))


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("forward_rows", [None, 1])
def test_fast_backward_equals_plain_gradients(dtype, forward_rows):
    x = mx.random.normal((4, 16, 128), key=mx.random.key(1)).astype(getattr(mx, dtype))
    plain, fast = make_model(0), make_model(0)
    assert qmm_vjp.enable(fast, forward_rows=forward_rows) == 2
    assert type(fast.a.linear).__name__ == "FastQuantizedLinear"
    assert isinstance(fast.a.linear, nn.QuantizedLinear)
    out_tol = 1e-4 if dtype == "float32" else 5e-2
    assert mx.allclose(plain(x), fast(x), atol=out_tol, rtol=out_tol).item()
    g_plain, g_fast = grads(plain, x), grads(fast, x)
    assert set(g_plain) == set(g_fast) == {"a.lora_a", "a.lora_b", "b.lora_a", "b.lora_b"}
    tol = 1e-4 if dtype == "float32" else 3e-2
    for key in g_plain:
        a, b = g_plain[key].astype(mx.float32), g_fast[key].astype(mx.float32)
        scale = mx.abs(a).max().item()
        assert scale > 0
        assert mx.abs(a - b).max().item() <= tol * scale, key


def test_auto_is_off_on_cpu():
    assert qmm_vjp.wanted("auto") is False or mx.cuda.is_available()
    assert qmm_vjp.wanted("on") and not qmm_vjp.wanted("off")


def test_settings_come_from_the_environment(monkeypatch):
    from rvtune.core.errors import UsageError

    monkeypatch.delenv("RVTUNE_FAST_QMM", raising=False)
    monkeypatch.delenv("RVTUNE_FAST_QMM_FORWARD_ROWS", raising=False)
    assert qmm_vjp.settings() == ("auto", qmm_vjp.DEFAULT_FORWARD_ROWS)
    monkeypatch.setenv("RVTUNE_FAST_QMM", "on")
    monkeypatch.setenv("RVTUNE_FAST_QMM_FORWARD_ROWS", "0")
    assert qmm_vjp.settings() == ("on", None)
    monkeypatch.setenv("RVTUNE_FAST_QMM", "fast")
    with pytest.raises(UsageError, match="RVTUNE_FAST_QMM=fast"):
        qmm_vjp.settings()


def test_training_run_uses_the_fast_path_when_asked(monkeypatch, tmp_path):
    """The real trainer through the CLI with the fast path forced on (CPU): it trains."""
    import json
    import subprocess
    import sys

    env = {**__import__("os").environ, "RVTUNE_FAST_QMM": "on", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "rvtune", "run", "--preset", "tiny",
                           "--iters", "4", "--warmup", "0", "--steps-per-report", "2",
                           "--run-dir", str(tmp_path / "run")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "Fast quantized path on" in proc.stdout + proc.stderr
    losses = [json.loads(l)["loss"] for l in open(tmp_path / "run" / "metrics.jsonl")
              if '"train"' in l]
    assert losses and all(x == x for x in losses)


@pytest.mark.parametrize("forward_rows, dense", [(None, False), (0, False), (64, True),
                                                 (65, False)])
def test_forward_rows_zero_means_a_quantized_forward(forward_rows, dense):
    """0 means what RVTUNE_FAST_QMM_FORWARD_ROWS=0 means: no dense forward at any size (it
    once meant "dense from 0 rows", so a benchmark asking for the quantized forward with
    --forward-rows 0 measured the dense one)."""
    x = mx.random.normal((4, 16, 128), key=mx.random.key(3))  # 64 rows
    fast = make_model(0)
    qmm_vjp.enable(fast, forward_rows=forward_rows)
    assert fast.a.linear._rvtune_forward_rows == (forward_rows or None)
    calls = []
    real = mx.dequantize

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    mx.dequantize = counting
    try:
        qmm_vjp._qmm.cache_clear()
        mx.eval(fast(x))  # forward only: a dequantize here is the dense forward
    finally:
        mx.dequantize = real
    assert bool(calls) is dense


def test_few_rows_keep_mlx_own_path(monkeypatch):
    """Below backward_rows the layer runs MLX's quantized path (the fast function is not
    even built); at or above it the fast one, with the same results either way."""
    x_small = mx.random.normal((2, 8, 128), key=mx.random.key(2))  # 16 rows
    x_large = mx.random.normal((4, 16, 128), key=mx.random.key(3))  # 64 rows
    plain, fast = make_model(0), make_model(0)
    assert qmm_vjp.enable(fast, backward_rows=32) == 2
    qmm_vjp._qmm.cache_clear()
    fast(x_small)
    assert qmm_vjp._qmm.cache_info().misses == 0
    fast(x_large)
    assert qmm_vjp._qmm.cache_info().misses > 0
    for x in (x_small, x_large):
        assert mx.allclose(plain(x), fast(x), atol=1e-4, rtol=1e-4).item()
    monkeypatch.setenv("RVTUNE_FAST_QMM_BACKWARD_ROWS", "300")
    assert qmm_vjp.backward_rows("auto") == 300 and qmm_vjp.backward_rows("on") is None
    monkeypatch.delenv("RVTUNE_FAST_QMM_BACKWARD_ROWS")
    assert qmm_vjp.backward_rows("auto") == qmm_vjp.DEFAULT_BACKWARD_ROWS
