"""Seed post "Pytorch(1)-Basic": NumPy to tensor, view vs reshape, dot vs matmul, autograd."""
import numpy as np

import ember as torch
import ember.nn.functional as F

n_array = np.arange(10).reshape(2, 5)
print(n_array)
print("ndim: ", n_array.ndim, "shape: ", n_array.shape)

t_array = torch.FloatTensor(n_array)
print(t_array)
print("ndim: ", t_array.ndim, "shape: ", t_array.shape)

print(t_array.flatten())
print(torch.ones_like(t_array))

# view
a = torch.zeros(3, 2)
b = a.view(6)
a.fill_(1)
print(b)

# reshape
a = torch.zeros(3, 2)
b = a.t().reshape(6)
a.fill_(1)
print(b)

n1 = np.arange(12).reshape(3, 4)
n2 = np.arange(12).reshape(4, 3)
t1 = torch.FloatTensor(n1)
t2 = torch.FloatTensor(n2)

try:
    t1.dot(t2)  # the post shows: Runtime Error
except RuntimeError as e:
    print("RuntimeError:", e)

print(t1.matmul(t2))

tensor_data = t1
if torch.cuda.is_available():
    tensor_data = tensor_data.to("cuda")

# nn.functional: softmax over a dim, one-hot labels
print(F.softmax(torch.tensor([1.0, 2.0, 3.0]), dim=0))
y_label = torch.tensor([0, 1, 2])
print(F.one_hot(y_label))

w = torch.tensor(2.0, requires_grad=True)
y = w**2
z = 10 * y + 2
z.backward()
print(w.grad)
