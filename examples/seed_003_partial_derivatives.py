"""Seed post "010. PyTorch basic": tensor attributes, NumPy/pandas/list interop, item(), autograd on
y = x**2 and the partial derivatives of f(u, v) = uv + u**2, no_grad and detach."""
import numpy as np

import ember as torch

torch.manual_seed(0)

x = torch.tensor([1.0, 2.0, 3.0])
print(x, x.dtype)
i = torch.tensor([1, 2, 3])
print(i, i.dtype)
print(x.type(), torch.LongTensor([1, 2]).type())

print(torch.rand(2, 3).shape, torch.zeros(2, 3, dtype=torch.long))
print(torch.tensor([[1, 2], [3, 4]]).ndimension(), torch.tensor([[1, 2], [3, 4]]).shape)

t = torch.arange(12).view(3, 4)
print(t.reshape(2, 6), t.view(-1, 6).size())

n = np.arange(5)
tn = torch.from_numpy(n)
n[0] = 100
print(tn, tn.numpy())

s = torch.tensor([3.5])
print(s.item(), torch.tensor([[1, 2], [3, 4]]).numpy())
print(torch.tensor([1, 2, 3]).tolist())

print(t[0], t[:, 1], t[1:, 2:], t[-1, -1])
print(torch.linspace(0, 1, 5), np.linspace(0, 1, 5))
print(torch.arange(0, 10, 3), np.arange(0, 10, 3))

m = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
print(m.ndimension(), m.shape, m.size(), m.numel())
print(m * m, m + m, m @ m, torch.mm(m, m))
print(torch.cat([m, m]), torch.cat([m, m], axis=1))
print(torch.sum(m, dim=0), torch.max(m), torch.min(m, dim=1), torch.argmax(m), torch.argmin(m, dim=0))

x = torch.tensor(2.0, requires_grad=True)
y = x ** 2
y.backward()
print(x.grad)

u = torch.tensor(3.0, requires_grad=True)
v = torch.tensor(4.0, requires_grad=True)
f = u * v + u ** 2
f.backward()
print(u.grad, v.grad)

w = torch.ones(3, requires_grad=True)
with torch.no_grad():
    out = w * 2
print(out.requires_grad, w.detach().requires_grad)
