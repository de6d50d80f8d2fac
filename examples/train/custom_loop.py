"""ember.train.Trainer as a library: your own model, data and callbacks, no config file.

    python examples/train/custom_loop.py
"""

import ember
import ember.nn as nn
from ember.train import Callback, EarlyStopping, Trainer
from ember.train.data import load_digits
from ember.utils.data import DataLoader, TensorDataset


class LrAndAccuracy(Callback):
    """Print one line per epoch, and keep the best validation accuracy seen."""

    def __init__(self) -> None:
        self.best = 0.0

    def on_epoch_end(self, trainer, logs):
        self.best = max(self.best, logs["val_accuracy"])
        print(f"epoch {logs['epoch']}: lr {logs['lr']:.4f}  train loss {logs['train_loss']:.3f}  "
              f"val accuracy {logs['val_accuracy']:.3f}")


ember.manual_seed(0)
x, y = load_digits()
order = ember.randperm(len(x))
x, y = ember.from_numpy(x).flatten(1)[order], ember.from_numpy(y)[order]
train = TensorDataset(x[:1400], y[:1400])
val = TensorDataset(x[1400:], y[1400:])
model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
optimizer = ember.optim.AdamW(model.parameters(), lr=0.01)
report = LrAndAccuracy()
trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(),
                  DataLoader(train, batch_size=64, shuffle=True, generator=ember.Generator().manual_seed(0)),
                  DataLoader(val, batch_size=256), epochs=10,
                  scheduler=ember.optim.lr_scheduler.ExponentialLR(optimizer, 0.8),
                  metrics=["accuracy", "f1"], monitor="val_accuracy", mode="max",
                  callbacks=[report, EarlyStopping(3)])
trainer.fit()
print(f"best validation accuracy {report.best:.3f} at epoch {trainer.best_epoch}")
