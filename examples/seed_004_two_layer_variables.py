"""Seed post "Pytorch : Variables 과 autograd": the two-layer network with Variable and loss.backward()."""
import ember as torch
from ember.autograd import Variable

torch.manual_seed(0)

dtype = torch.FloatTensor
# dtype = torch.cuda.FloatTensor #GPU에서 실행하려면 이 주석을 제거하세요

N, D_in, H, D_out = 64, 1000, 100, 10

x = Variable(torch.randn(N, D_in).type(dtype), requires_grad=False)
y = Variable(torch.randn(N, D_out).type(dtype), requires_grad=False)

w1 = Variable(torch.randn(D_in, H).type(dtype), requires_grad=True)
w2 = Variable(torch.randn(H, D_out).type(dtype), requires_grad=True)

learning_rate = 1e-6
for t in range(500):
    y_pred = x.mm(w1).clamp(min=0).mm(w2)

    loss = (y_pred - y).pow(2).sum()
    print(t)
    print(loss)

    loss.backward()

    w1.data -= learning_rate * w1.grad.data
    w2.data -= learning_rate * w2.grad.data

    w1.grad.data.zero_()
    w2.grad.data.zero_()
