"""The ``hf`` dataset adapter: ``datasets.load_dataset`` by hub id (or a local dataset dir)."""

import rvtune
from rvtune.core.errors import DataError


HUB_HOST = "huggingface.co"


def go_offline_if_unreachable(timeout: float = 3.0) -> bool:
    """Switch the Hugging Face libraries to offline mode when the hub cannot be reached.

    Without this, a machine with no network waits through half a minute of retries before
    failing, and never tries the local cache first. Returns True when offline.
    """
    import os
    import socket
    import sys

    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return True
    endpoint = os.environ.get("HF_ENDPOINT", "")
    host = endpoint.split("://")[-1].split("/")[0].split(":")[0] or HUB_HOST
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return False
    except OSError:
        pass
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    # Modules already imported read these flags at import time.
    if "huggingface_hub" in sys.modules:
        import huggingface_hub.constants as hub_constants

        hub_constants.HF_HUB_OFFLINE = True
    if "datasets" in sys.modules:
        import datasets.config as ds_config

        ds_config.HF_HUB_OFFLINE = True
        if hasattr(ds_config, "HF_DATASETS_OFFLINE"):
            ds_config.HF_DATASETS_OFFLINE = True
    return True


class HFDataset:
    """A Hugging Face dataset by id (--split, --revision, --config-name), cached for offline."""

    name = "hf"
    options = ()  # the --dataset-option keys it reads

    def __init__(self, spec):
        self.spec = spec

    def _load(self):
        go_offline_if_unreachable()
        import datasets

        spec = self.spec
        try:
            return datasets.load_dataset(
                spec.source,
                name=spec.config_name,
                split=spec.split,
                revision=spec.revision,
            )
        except Exception as exc:  # datasets raises many types for "not reachable"
            text = f"{type(exc).__name__}: {exc}".splitlines()[0]
            offline = any(
                word in text.lower()
                for word in ("offline", "connection", "resolve", "couldn't reach",
                             "not find", "doesn't exist", "no such", "404", "network")
            )
            hint = (
                "the hub cannot be reached and nothing is cached; "
                if offline
                else ""
            )
            raise DataError(
                f"--dataset {spec.source}: cannot load from the Hugging Face hub "
                f"({hint}{text[:200]}). Alternatives: a local file "
                "(--dataset data.jsonl), or the built-in dataset (--dataset riscv)"
            ) from None

    def rows(self):
        data = self._load()
        for index, row in enumerate(data):
            yield f"{self.spec.source}[{self.spec.split}][{index}]", row


@rvtune.hookimpl
def register_dataset_adapters(register):
    register(HFDataset)
