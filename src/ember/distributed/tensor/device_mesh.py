"""``torch.distributed.tensor.device_mesh``: the device mesh names, from :mod:`ember.distributed.device_mesh`."""

from ..device_mesh import DeviceMesh, init_device_mesh

__all__ = ["init_device_mesh", "DeviceMesh"]
