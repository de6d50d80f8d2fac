"""Conversion between a DCP checkpoint directory and a single ``torch.save`` file."""

from __future__ import annotations

import io
import os
from typing import Any

from .filesystem import FileSystemReader
from .planner import set_element


def dcp_to_torch_save(dcp_checkpoint_dir: str | os.PathLike, torch_save_path: str | os.PathLike) -> None:
    """Read a whole DCP checkpoint (unflattened) and write it with ``ember.save``."""
    import ember
    reader = FileSystemReader(dcp_checkpoint_dir)
    md = reader.read_metadata()
    out: dict[str, Any] = {}
    by_fqn = {index.fqn: info for index, info in md.storage_data.items()}
    mappings = md.planner_data or {k: (k,) for k in md.state_dict_metadata}
    for fqn in md.state_dict_metadata:
        path = mappings.get(fqn, (fqn,))
        cur = out
        for p, nxt in zip(path[:-1], path[1:], strict=True):
            if isinstance(cur, dict):
                cur = cur.setdefault(p, [] if isinstance(nxt, int) else {})
            else:
                while len(cur) <= p:
                    cur.append([] if isinstance(nxt, int) else {})
                cur = cur[p]
        value = ember.load(io.BytesIO(reader._blob(by_fqn[fqn])), weights_only=False)
        if isinstance(cur, list):
            while len(cur) <= path[-1]:
                cur.append(None)
        set_element(out, path, value) if len(path) > 1 else out.__setitem__(path[0], value)
    ember.save(out, torch_save_path)


def torch_save_to_dcp(torch_save_path: str | os.PathLike, dcp_checkpoint_dir: str | os.PathLike) -> None:
    """Load a ``torch.save`` file and save it as a DCP checkpoint (in this process alone)."""
    import ember

    from .state_dict_saver import save
    save(ember.load(torch_save_path, weights_only=False), checkpoint_id=dcp_checkpoint_dir, no_dist=True)
