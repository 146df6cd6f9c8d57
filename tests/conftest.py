import pytest

from support import SAMPLE_ROWS, run_rvtune, write_jsonl


@pytest.fixture(autouse=True)
def _offline_hub(monkeypatch):
    # Keep the HF libraries offline in every test: nothing comes from the hub.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


@pytest.fixture
def rvtune_cli():
    """The real CLI in a subprocess."""
    return run_rvtune


@pytest.fixture
def sample_jsonl(tmp_path):
    """A local jsonl in the layout of davidpirkl/riscv-instruction-specification."""
    return write_jsonl(tmp_path / "sample.jsonl", SAMPLE_ROWS)
