"""Seed post "PyTorch 시작하기 - Tensor, AutoGrad": creation, grad_fn, and out.backward() giving 4.5."""
import ember as torch

torch.manual_seed(0)

x = torch.Tensor([[1, 2], [2, 1]])
print(x)
y = torch.rand(2, 2)
print(y)

x = torch.ones(2, 2, requires_grad=True)
y = x + 2
a = torch.ones(5, 5)
print(x.grad_fn)
print(y.grad_fn)
print(a.grad_fn)
print(x.requires_grad)
print(y.requires_grad)
print(a.requires_grad)

z = y * y * 3
out = z.mean()
print(z, out)
out.backward()
print(x.grad)
