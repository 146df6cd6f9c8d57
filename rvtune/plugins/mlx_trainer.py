"""The ``mlx`` trainer: LoRA / 4-bit QLoRA with MLX (Apple Silicon, Linux CPU, CUDA)."""

import rvtune


class MlxTrainer:
    """LoRA / 4-bit QLoRA with MLX and mlx-lm (Metal, CPU or CUDA)."""

    name = "mlx"

    def loss(self, model, tokens, lengths):
        """Masked next-token cross-entropy; override for another objective."""
        from rvtune.training.data import masked_loss

        return masked_loss(model, tokens, lengths)

    def make_step(self, model, optimizer, loss, grad_accumulation):
        """Build the compiled training step; override to replace it."""
        from rvtune.training.loop import make_step

        return make_step(model, optimizer, loss, grad_accumulation)

    def train(self, job):
        """Train ``job`` and return a :class:`rvtune.core.jobs.TrainResult`."""
        from rvtune.training.loop import train

        return train(job, make_step=self.make_step, loss=self.loss)


@rvtune.hookimpl(trylast=True)
def register_trainers(register):
    register(MlxTrainer)
