"""Built-in metrics loggers: TensorBoard event files and Weights & Biases (offline)."""

import rvtune
from rvtune.core.errors import MissingDependencyError


class TensorBoardLogger:
    """TensorBoard event files in RUN/tensorboard (tensorboardX; `tensorboard --logdir`)."""

    name = "tensorboard"
    requires = ("tensorboardX", "pip install tensorboardX (and tensorboard to view the files)")

    def __init__(self, run_dir, config):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise MissingDependencyError("--log-to tensorboard needs tensorboardX: pip install "
                                         "tensorboardX (view with: pip install tensorboard; "
                                         "tensorboard --logdir RUN/tensorboard)") from None
        self.writer = SummaryWriter(logdir=str(run_dir / "tensorboard"))

    def log(self, record):
        from rvtune.training.loggers import scalars

        for tag, value in scalars(record).items():
            self.writer.add_scalar(tag, value, global_step=int(record["step"]))

    def close(self):
        self.writer.close()


class WandbLogger:
    """Weights & Biases, offline, in RUN/wandb (upload later with `wandb sync`)."""

    name = "wandb"
    requires = ("wandb", "pip install wandb")

    def __init__(self, run_dir, config):
        try:
            import wandb
        except ImportError:
            raise MissingDependencyError("--log-to wandb needs the wandb package: pip install "
                                         "wandb") from None
        self.wandb = wandb
        self.run = wandb.init(project="rvtune", name=run_dir.name, dir=str(run_dir),
                              config=config, mode="offline", reinit="finish_previous")

    def log(self, record):
        from rvtune.training.loggers import scalars

        self.run.log(scalars(record), step=int(record["step"]))

    def close(self):
        self.run.finish()


@rvtune.hookimpl(trylast=True)
def register_loggers(register):
    register(TensorBoardLogger)
    register(WandbLogger)
