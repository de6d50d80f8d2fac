"""The ``ember`` command line: ``train``, ``evaluate``, ``predict``, ``new`` and ``run`` (the distributed launcher).

Heavy imports happen inside the handlers, so ``ember --help`` and config errors answer quickly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ember", description="Train, evaluate and use models with ember.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    t = sub.add_parser("train", help="train a model from a config (default: a small CNN on digits)",
                       description="Train from a JSON/YAML/TOML config into runs/<name>/<timestamp>/.")
    t.add_argument("--config", "-c", metavar="FILE", help="JSON, YAML or TOML config (default: the digits run)")
    t.add_argument("--resume", metavar="CHECKPOINT", help="continue from a checkpoint (its config, -o applied)")
    t.add_argument("--device", help="cpu, cuda or cuda:N (overrides the config's device)")
    t.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE",
                   help="set a config value, e.g. -o trainer.epochs=3 -o data.split=[0.8,0.1,0.1]")
    t.add_argument("--nproc", type=int, default=1, metavar="N",
                   help="train data-parallel in N processes (through `ember run`)")
    t.add_argument("--quiet", "-q", action="store_true", help="no progress bar or per-epoch lines")

    e = sub.add_parser("evaluate", help="metrics (and a confusion matrix PNG) of a checkpoint on a data split")
    e.add_argument("--checkpoint", required=True, metavar="FILE")
    e.add_argument("--split", choices=("test", "val", "train"), default="test")
    e.add_argument("--device")
    e.add_argument("--out", metavar="DIR", help="where to write the JSON and PNG (default: the checkpoint's folder)")
    e.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE",
                   help="change the data section, e.g. -o data.path=other.csv")

    r = sub.add_parser("predict", help="predict classes or values for image, .npy/.npz or .csv inputs")
    r.add_argument("--checkpoint", required=True, metavar="FILE")
    r.add_argument("--device")
    r.add_argument("--top", type=int, default=1, metavar="K", help="print the K most likely classes")
    r.add_argument("--json", action="store_true", help="print one JSON object per input instead")
    r.add_argument("inputs", nargs="+", metavar="INPUT")

    n = sub.add_parser("new", help="create a project folder: config.toml, model.py, data.py, train.py")
    n.add_argument("name", metavar="NAME")

    ru = sub.add_parser("run", help="launch a script in N processes (ember.distributed)", add_help=False)
    ru.add_argument("args", nargs=argparse.REMAINDER)
    return p


def _report_config(err: Exception, command: str = "train") -> int:
    tail = "\nnothing was trained or written." if command == "train" else ""
    print(f"ember {command}: {err}{tail}", file=sys.stderr)
    return 2


def _train(a: argparse.Namespace) -> int:
    from .config import ConfigError
    from .run import run_from_args

    if a.config is not None and a.resume is not None:
        print("ember train: --config and --resume exclude each other: a resumed run keeps its checkpoint's config "
              "(change it with -o key=value)", file=sys.stderr)
        return 2
    if a.nproc > 1:
        return _launch_train(a)
    try:
        summary = run_from_args(a.config, a.override, a.resume, a.device, quiet=a.quiet)
    except ConfigError as err:
        return _report_config(err)
    return 130 if summary["interrupted"] else 0


def _launch_train(a: argparse.Namespace) -> int:
    """``ember train --nproc N ...``: the same train command in N processes started by the launcher."""
    argv = ["-m", "ember", "train"]
    for flag, value in (("--config", a.config), ("--resume", a.resume), ("--device", a.device)):
        if value is not None:
            argv += [flag, value]
    for item in a.override:
        argv += ["-o", item]
    if a.quiet:
        argv.append("--quiet")
    return _run(["--nproc", str(a.nproc), *argv])


def _run(argv: list[str]) -> int:
    try:
        from ember.distributed.run import main as launch
    except ImportError as err:
        print(f"ember run: the distributed launcher is not available ({err})", file=sys.stderr)
        return 1
    return int(launch(argv) or 0)


def _evaluate(a: argparse.Namespace) -> int:
    from .config import ConfigError
    from .run import evaluate_checkpoint

    try:
        evaluate_checkpoint(a.checkpoint, a.split, a.override, a.device, a.out)
    except ConfigError as err:
        return _report_config(err, "evaluate")
    except ValueError as err:
        print(f"ember evaluate: {err}", file=sys.stderr)
        return 2
    return 0


def _predict(a: argparse.Namespace) -> int:
    import contextlib
    import io
    import json

    from .run import predict_checkpoint

    try:
        if a.json:
            with contextlib.redirect_stdout(io.StringIO()):
                rows = predict_checkpoint(a.checkpoint, a.inputs, a.device, a.top)
            for row in rows:
                print(json.dumps(row))
        else:
            predict_checkpoint(a.checkpoint, a.inputs, a.device, a.top)
    except (ValueError, OSError) as err:
        print(f"ember predict: {err}", file=sys.stderr)
        return 2
    return 0


def _new(a: argparse.Namespace) -> int:
    from .scaffold import new_project

    try:
        folder = new_project(a.name)
    except (FileExistsError, ValueError) as err:
        print(f"ember new: {err}", file=sys.stderr)
        return 2
    print(f"created {folder}/ (config.toml, model.py, data.py, train.py)\n"
          f"train it with: ember train --config {folder}/config.toml")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ember`` console script and ``python -m ember``; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["run"]:    # everything after `run` belongs to the launcher, --help included
        return _run(args[1:])
    a = _parser().parse_args(args)
    handler = {"train": _train, "evaluate": _evaluate, "predict": _predict, "new": _new}[a.command]
    try:
        return handler(a)
    except BrokenPipeError:   # `ember predict … | head`: the reader left; not an error of ours
        sys.stderr.close()
        return 0
