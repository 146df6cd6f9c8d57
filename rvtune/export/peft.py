"""``peft``: a Hugging Face PEFT LoRA adapter (``PeftModel.from_pretrained``)."""

from .base import Exporter, read_request_adapter, total_layers_of


class PeftExporter(Exporter):
    """Hugging Face PEFT adapter: adapter_model.safetensors + adapter_config.json."""

    name = "peft"
    default_name = "peft-adapter"

    def write(self, request, out):
        from .adapter import write_peft

        adapter, _run = read_request_adapter(request)
        write_peft(adapter, out, total_layers_of(adapter.model),
                   base_model=adapter.model)
