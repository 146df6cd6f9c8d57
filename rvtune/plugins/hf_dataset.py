"""The ``hf`` dataset adapter: ``datasets.load_dataset`` by hub id (or a local dataset dir)."""

import rvtune
from rvtune.core.errors import DataError


class HFDataset:
    """A Hugging Face dataset by id (--split, --revision, --config-name), cached for offline."""

    name = "hf"

    def __init__(self, spec):
        self.spec = spec

    def _load(self):
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
