"""``torch.distributed.checkpoint.default_planner``: the default save and load planners."""

from .planner import DefaultLoadPlanner, DefaultSavePlanner

__all__ = ["DefaultSavePlanner", "DefaultLoadPlanner"]
