"""Seed post "Pytorch Basic(1)", Excluding subgraphs from backward: fine-tune only a new classifier.

The seed loads ``torchvision.models.resnet18(pretrained=True)``, freezes every parameter, replaces ``fc``
with ``nn.Linear(512, 100)`` and optimises ``fc`` alone. Pretrained weights come from a local file
(ember never downloads): ``models.resnet18(weights=models.ResNet18_Weights.DEFAULT)`` reads torchvision's
``resnet18-f37072fd.pth`` from ``$TORCH_HOME/hub/checkpoints``, and ``weights="/path/to/file.pth"`` reads
any checkpoint. To stay runnable offline and reproducible, this run starts from the seed-0 initialisation,
which is bit-for-bit torchvision's, and trains on a fixed random batch.

Under torch the same file runs with ``ember.vision`` read as ``torchvision`` and ``ember`` as ``torch``.
"""
import ember as torch
import ember.nn as nn
import ember.optim as optim
from ember.vision import models

torch.manual_seed(0)
model = models.resnet18()                 # the seed: models.resnet18(pretrained=True)
for param in model.parameters():
    param.requires_grad = False
# Replace the last fully-connected layer
# Parameters of newly constructed modules have requires_grad=True by default
model.fc = nn.Linear(512, 100)

# Optimize only the classifier
optimizer = optim.SGD(model.fc.parameters(), lr=1e-2, momentum=0.9)

trainable = [name for name, p in model.named_parameters() if p.requires_grad]
print("trainable:", trainable)
print("trainable parameters:", sum(p.numel() for p in model.parameters() if p.requires_grad))
print("frozen parameters:", sum(p.numel() for p in model.parameters() if not p.requires_grad))
print(model.fc)

frozen_before = {name: p.clone() for name, p in model.named_parameters() if not p.requires_grad}
x = torch.randn(8, 3, 64, 64)
y = torch.randint(0, 100, (8,))
loss_fn = nn.CrossEntropyLoss()
for step in range(5):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    print(f"step {step}: loss {loss.item():.4f}")

print("frozen parameters unchanged:", all(p.equal(frozen_before[n]) for n, p in model.named_parameters()
                                          if n in frozen_before))
print("conv1 has no gradient:", model.conv1.weight.grad is None)
print("fc gradient shape:", tuple(model.fc.weight.grad.shape))
