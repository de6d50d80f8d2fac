"""Seed post "Pytorch Basic(1)", autograd mechanics: requires_grad propagation with legacy Variable."""
import ember as torch
from ember.autograd import Variable

torch.manual_seed(0)

x = Variable(torch.randn(5, 5))
y = Variable(torch.randn(5, 5))
z = Variable(torch.randn(5, 5), requires_grad=True)
a = x + y
print(a.requires_grad)
b = a + z
print(b.requires_grad)
