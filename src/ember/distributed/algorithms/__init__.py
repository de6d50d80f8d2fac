"""``torch.distributed.algorithms``: :class:`Join` for uneven inputs; DDP communication hooks in
``ddp_comm_hooks``."""

from .join import Join, Joinable, JoinHook

__all__ = ["Join", "JoinHook", "Joinable"]
