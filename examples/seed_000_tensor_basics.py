"""Seed post "Pytorch Basic(1)": tensors, operations, views, the NumPy bridge, CUDA tensors.

compare: structure — x = torch.Tensor(5, 3) is uninitialised memory, so its values (and sums with it)
differ from run to run in torch too; the comparison masks numbers in this example's output.
"""
import numpy as np

import ember as torch

torch.manual_seed(0)

x = torch.Tensor(5, 3)
y = torch.rand(5, 3)
print(y.size())

# 1
print(x + y)
# 2
print(torch.add(x, y))
# 3
result = torch.Tensor(5, 3)
torch.add(x, y, out=result)
print(result)
# 4
y.add_(x)
print(y)

print(x[:, 1])

x = torch.randn(4, 4)
y = x.view(16)
z = x.view(-1, 8)
print(x.size(), y.size(), z.size())

a = torch.ones(5)
b = a.numpy()
print(a)
print(b)

a.add_(1)
print(a)
print(b)

a = np.ones(5)
b = torch.from_numpy(a)
np.add(a, 1, out=a)
print(a)
print(b)

if torch.cuda.is_available():
    x = x.cuda()
    y = y.cuda()
    x + y
