"""Run configuration: defaults, loading (JSON / YAML / TOML), ``-o key=value`` overrides and validation.

Validation collects every problem (key path, the bad value, what is allowed) before anything is built, so an
invalid file trains nothing and writes nothing.
"""

from __future__ import annotations

import copy
import importlib
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["ConfigError", "DEFAULTS", "load_config", "validate", "resolve", "apply_overrides", "import_object"]

DEFAULTS: dict[str, Any] = {
    "name": "digits",
    "seed": 0,
    "device": "cpu",
    "threads": None,
    "output_dir": "runs",
    "model": {"name": "ember.train.models:DigitsCNN", "kwargs": {}},
    "data": {
        "dataset": "digits",
        "path": None,
        "task": "classification",
        "split": [0.7, 0.15, 0.15],
        "target": -1,
        "image_size": None,
        "grayscale": False,
        "kwargs": {},
    },
    "loader": {"batch_size": 64, "eval_batch_size": 256, "num_workers": 0, "shuffle": True, "drop_last": False},
    "loss": {"name": None, "kwargs": {}},
    "optimizer": {"name": "Adam", "lr": 0.005, "kwargs": {}},
    "scheduler": {"name": "CosineAnnealingLR", "interval": "epoch", "kwargs": {}},
    "metrics": None,
    "trainer": {
        "epochs": 8,
        "grad_clip": None,
        "grad_accum": 1,
        "amp": False,
        "monitor": "val_loss",
        "mode": "auto",
        "early_stopping": 0,
        "min_delta": 0.0,
        "save_period": 0,
        "keep_best": True,
        "progress": True,
        "tensorboard": "auto",
    },
}

# The run `ember train` does without --config: the defaults, on one thread (its GEMMs are too small to gain from
# more, and BLAS threads spinning on a busy machine cost it several times its compute).
DEFAULT_RUN: dict[str, Any] = {"threads": 1}

BUNDLED = ("digits",)
FILE_DATASETS = ("image_folder", "csv", "numpy")
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "confusion_matrix")
REGRESSION_METRICS = ("mse", "mae")
_TOPK = re.compile(r"top(\d+)$")
_OBJECT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class ConfigError(ValueError):
    """An invalid configuration: ``problems`` lists one ``key.path: got …; expected …`` line per issue."""

    def __init__(self, problems: list[str], source: str | None = None, what: str = "config") -> None:
        self.problems = problems
        self.source = source
        where = f" ({source})" if source else ""
        n = len(problems)
        head = f"invalid {what}{where}: {n} problem{'s' if n != 1 else ''}"
        super().__init__("\n  ".join([head, *problems]))


# ---- loading ------------------------------------------------------------------------------------------------
def _read(path: Path) -> Any:
    text = path.read_text()
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return json.loads(text)
        if suffix in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(text) or {}
        if suffix == ".toml":
            import tomllib

            return tomllib.loads(text)
    except Exception as e:  # a parse error is one problem, reported like the others
        raise ConfigError([f"<file>: cannot parse {suffix[1:].upper()}: {e}"], str(path)) from None
    raise ConfigError([f"<file>: got suffix {suffix!r}; expected one of .json, .yaml, .yml, .toml"], str(path))


def _parse_value(text: str) -> Any:
    """``-o`` values: JSON when they parse as JSON (numbers, true/false/null, lists, objects), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def apply_overrides(cfg: dict[str, Any], overrides: list[str]) -> list[str]:
    """Set ``key.path=value`` pairs in ``cfg`` (in place); returns the malformed ones as problems."""
    problems = []
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            problems.append(f"-o {item}: expected key.path=value")
            continue
        node = cfg
        parts = key.split(".")
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                node[p] = {}
            node = node[p]
        node[parts[-1]] = _parse_value(value)
    return problems


def _merge(base: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in user.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k not in ("kwargs",):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> dict[str, Any]:
    """Read ``path`` (or nothing: the default digits run, DEFAULT_RUN), apply overrides, validate, return the
    resolved config.

    Raises ConfigError listing every problem. ``config_dir`` records where user modules (``module:Class``)
    are imported from: the config file's folder.
    """
    user: Any = dict(DEFAULT_RUN)
    source = None
    if path is not None:
        p = Path(path)
        source = str(p)
        if not p.is_file():
            raise ConfigError([f"<file>: got {str(p)!r}; expected an existing JSON, YAML or TOML file"], source)
        user = _read(p)
        if not isinstance(user, dict):
            raise ConfigError([f"<file>: got a {type(user).__name__}; expected a mapping of sections"], source)
    config_dir = str(Path(path).resolve().parent) if path is not None else str(Path.cwd())
    user = copy.deepcopy(user)
    problems = apply_overrides(user, overrides or [])
    cfg = _merge(DEFAULTS, user)
    cfg["config_dir"] = user.get("config_dir", config_dir)
    problems += validate(cfg, user)
    if problems:
        raise ConfigError(problems, source)
    return resolve(cfg)


# ---- validation ---------------------------------------------------------------------------------------------
def _fmt(v: Any) -> str:
    """A value as the user wrote it: JSON spelling (null, true, lists), strings quoted."""
    try:
        return repr(v) if isinstance(v, str) else json.dumps(v)
    except TypeError:
        return repr(v)


def import_object(spec: str, config_dir: str | None = None) -> Any:
    """``module:attr`` → the object; the config's folder is importable (users' model.py / data.py)."""
    module, _, attr = spec.partition(":")
    if config_dir and config_dir not in sys.path:
        sys.path.insert(0, config_dir)
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _check_object(path: str, spec: str, config_dir: str, what: str) -> list[str]:
    if not _OBJECT.match(spec):
        return [f"{path}: got {spec!r}; expected module:{what}"]
    try:
        obj = import_object(spec, config_dir)
    except Exception as e:
        return [f"{path}: got {spec!r}; cannot import it ({type(e).__name__}: {e})"]
    if not callable(obj):
        return [f"{path}: got {spec!r}; expected a callable {what}, found {type(obj).__name__}"]
    return []


def _names(module: Any, base: type | None = None, lower: bool = False) -> list[str]:
    out = []
    for n in getattr(module, "__all__", dir(module)):
        obj = getattr(module, n, None)
        if n.startswith("_") or not callable(obj):
            continue
        if base is not None and not (isinstance(obj, type) and issubclass(obj, base) and obj is not base):
            continue
        if lower and not n[:1].islower():
            continue
        out.append(n)
    return sorted(out)


def vision_model_names() -> list[str]:
    """Names under ``ember.vision.models`` usable as ``model.name`` (empty while that package lacks them)."""
    try:
        models = importlib.import_module("ember.vision.models")
    except ImportError:
        return []
    import inspect

    def builder(obj: Any) -> bool:   # torchvision-style model builders: lowercase, with a `weights` argument
        try:
            weights = inspect.signature(obj).parameters.get("weights")
            return weights is not None and weights.default is None
        except (TypeError, ValueError):
            return False
    return [n for n in _names(models, lower=True) if builder(getattr(models, n))]


def _choices(path: str, value: Any, allowed: list[str] | tuple[str, ...]) -> list[str]:
    if value in allowed:
        return []
    return [f"{path}: got {_fmt(value)}; expected one of {', '.join(map(str, allowed))}"]


def _scalar_metrics(metrics: list[str]) -> list[str]:
    return [m for m in metrics if m != "confusion_matrix"]


def validate(cfg: dict[str, Any], user: dict[str, Any] | None = None) -> list[str]:
    """Every problem in ``cfg`` (merged with defaults) as ``key.path: got …; expected …`` lines."""
    import ember
    from ember import nn, optim
    from ember.optim import lr_scheduler

    problems: list[str] = []

    def unknown(section: str, given: Any, known: dict[str, Any]) -> None:
        if isinstance(given, dict):
            for k in given:
                if k not in known:
                    where = f"{section}.{k}" if section else k
                    problems.append(f"{where}: unknown key; expected one of {', '.join(sorted(known))}")

    def typed(path: str, value: Any, kind: type | tuple[type, ...], desc: str,
              ok: Callable[[Any], bool] = lambda v: True, optional: bool = False) -> bool:
        if value is None and optional:
            return False
        if isinstance(value, bool) and kind in (int, float, (int, float)):
            problems.append(f"{path}: got {_fmt(value)}; expected {desc}")
            return False
        if not isinstance(value, kind) or not ok(value):
            problems.append(f"{path}: got {_fmt(value)}; expected {desc}")
            return False
        return True

    user = cfg if user is None else user
    unknown("", {k: v for k, v in user.items() if k != "config_dir"}, DEFAULTS)
    sections = ("model", "data", "loader", "loss", "optimizer", "scheduler", "trainer")
    for s in sections:
        if s in user and not isinstance(user[s], dict):
            problems.append(f"{s}: got {_fmt(user[s])}; expected a mapping (section)")
            cfg[s] = copy.deepcopy(DEFAULTS[s])
        elif s in user:
            unknown(s, user[s], DEFAULTS[s])
    for s in sections:
        for k, v in cfg[s].items():
            if k == "kwargs" and not isinstance(v, dict):
                problems.append(f"{s}.kwargs: got {_fmt(v)}; expected a mapping of keyword arguments")
    config_dir = cfg.get("config_dir") or "."

    typed("name", cfg["name"], str, "a non-empty name without '/'", lambda v: bool(v) and "/" not in v)
    typed("seed", cfg["seed"], int, "an integer ≥ 0", lambda v: v >= 0)
    typed("output_dir", cfg["output_dir"], str, "a folder path", bool)
    typed("threads", cfg["threads"], int, "null (the BLAS default) or a number of CPU threads ≥ 1",
          lambda v: v >= 1, optional=True)
    dev = cfg["device"]
    if typed("device", dev, str, "one of cpu, cuda, cuda:N", lambda v: re.fullmatch(r"cpu|cuda(:\d+)?", v)):
        if dev.startswith("cuda") and not ember.cuda.is_available():
            problems.append(f"device: got {dev!r}; CUDA is not available here (CuPy and a GPU are needed); "
                            "expected cpu")

    # model
    m = cfg["model"]
    if typed("model.name", m["name"], str, "an ember.vision.models name or module:Class"):
        if ":" in m["name"]:
            problems += _check_object("model.name", m["name"], config_dir, "Class")
        elif m["name"] not in (names := vision_model_names()):
            allowed = ", ".join(names) if names else "(ember.vision.models has no models yet)"
            problems.append(f"model.name: got {m['name']!r}; expected module:Class or one of {allowed}")

    # data
    d = cfg["data"]
    task_ok = typed("data.task", d["task"], str, "classification or regression",
                    lambda v: v in ("classification", "regression"))
    if typed("data.dataset", d["dataset"], str, f"one of {', '.join(BUNDLED + FILE_DATASETS)} or module:function"):
        ds = d["dataset"]
        if ":" in ds:
            problems += _check_object("data.dataset", ds, config_dir, "function")
        elif ds not in BUNDLED + FILE_DATASETS:
            problems += _choices("data.dataset", ds, [*BUNDLED, *FILE_DATASETS, "module:function"])
        elif ds in FILE_DATASETS:
            p = d["path"]
            if typed("data.path", p, str, f"a path (required by dataset {ds!r})"):
                full = Path(config_dir, p)
                exists = full.is_dir() if ds == "image_folder" else full.is_file()
                if not exists:
                    kind = "folder" if ds == "image_folder" else "file"
                    problems.append(f"data.path: got {p!r}; expected an existing {kind} (relative to the config)")
        if ds == "digits" and task_ok and d["task"] != "classification":
            problems.append(f"data.task: got {d['task']!r}; expected classification (digits has class labels)")
    sp = d["split"]
    if typed("data.split", sp, list, "3 fractions [train, val, test], each ≥ 0, train > 0, summing to 1",
             lambda v: len(v) == 3 and all(isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0
                                           for x in v) and v[0] > 0 and abs(sum(v) - 1) < 1e-6):
        pass
    typed("data.target", d["target"], (int, str), "a column index or name")
    if d["image_size"] is not None:
        typed("data.image_size", d["image_size"], list, "[height, width] in pixels",
              lambda v: len(v) == 2 and all(isinstance(x, int) and x > 0 for x in v))
    typed("data.grayscale", d["grayscale"], bool, "true or false")

    # loader
    lo = cfg["loader"]
    for k in ("batch_size", "eval_batch_size"):
        typed(f"loader.{k}", lo[k], int, "an integer ≥ 1", lambda v: v >= 1)
    typed("loader.num_workers", lo["num_workers"], int, "an integer ≥ 0", lambda v: v >= 0)
    for k in ("shuffle", "drop_last"):
        typed(f"loader.{k}", lo[k], bool, "true or false")

    # loss, optimizer, scheduler
    losses = _names(nn, nn.Module)
    losses = [n for n in losses if n.endswith("Loss")]
    loss = cfg["loss"]["name"]
    if loss is not None and (not isinstance(loss, str) or (":" not in loss and loss not in losses)):
        problems.append(f"loss.name: got {_fmt(loss)}; expected module:Class or one of {', '.join(losses)}")
    elif isinstance(loss, str) and ":" in loss:
        problems += _check_object("loss.name", loss, config_dir, "Class")
    # LBFGS needs a closure per step, SparseAdam sparse gradients
    opts = [n for n in _names(optim, optim.Optimizer) if n not in ("LBFGS", "SparseAdam")]
    o = cfg["optimizer"]
    if not isinstance(o["name"], str) or (":" not in o["name"] and o["name"] not in opts):
        problems.append(f"optimizer.name: got {_fmt(o['name'])}; expected module:Class or one of {', '.join(opts)}")
    elif ":" in o["name"]:
        problems += _check_object("optimizer.name", o["name"], config_dir, "Class")
    typed("optimizer.lr", o["lr"], (int, float), "a number > 0", lambda v: v > 0)
    scheds = {n for n in _names(lr_scheduler, lr_scheduler.LRScheduler)   # those built from kwargs alone
              if n not in ("LambdaLR", "MultiplicativeLR", "ChainedScheduler", "SequentialLR")}
    scheds.add("ReduceLROnPlateau")
    s = cfg["scheduler"]
    if s["name"] is not None and (not isinstance(s["name"], str) or s["name"] not in scheds):
        problems.append(f"scheduler.name: got {_fmt(s['name'])}; expected null (none) or one of "
                        f"{', '.join(sorted(scheds))}")
    if typed("scheduler.interval", s["interval"], str, "epoch or step", lambda v: v in ("epoch", "step")):
        if s["name"] == "ReduceLROnPlateau" and s["interval"] == "step":
            problems.append("scheduler.interval: got 'step'; expected epoch (ReduceLROnPlateau steps on the "
                            "monitored validation metric)")

    # metrics
    task = d["task"] if task_ok else "classification"
    metrics = cfg["metrics"]
    allowed = [*CLASSIFICATION_METRICS, "top<k>"] if task == "classification" else list(REGRESSION_METRICS)
    if metrics is not None:
        if not isinstance(metrics, list):
            problems.append(f"metrics: got {_fmt(metrics)}; expected a list of {', '.join(allowed)}")
        else:
            for i, name in enumerate(metrics):
                ok = isinstance(name, str) and (
                    name in REGRESSION_METRICS if task == "regression"
                    else name in CLASSIFICATION_METRICS or bool((mt := _TOPK.match(name)) and int(mt[1]) >= 1))
                if not ok:
                    problems.append(f"metrics[{i}]: got {_fmt(name)}; expected one of {', '.join(allowed)} "
                                    f"(task {task})")
    else:
        metrics = ["accuracy"] if task == "classification" else list(REGRESSION_METRICS)

    # trainer
    t = cfg["trainer"]
    typed("trainer.epochs", t["epochs"], int, "an integer ≥ 1", lambda v: v >= 1)
    typed("trainer.grad_clip", t["grad_clip"], (int, float), "null (off) or a max norm > 0", lambda v: v > 0,
          optional=True)
    typed("trainer.grad_accum", t["grad_accum"], int, "an integer ≥ 1 (batches per optimizer step)",
          lambda v: v >= 1)
    if typed("trainer.amp", t["amp"], bool, "true or false") and t["amp"] and not hasattr(ember, "autocast"):
        problems.append("trainer.amp: got true; mixed precision needs ember.autocast, which this ember does not "
                        "provide yet; expected false")
    names = ["val_loss", "train_loss"]
    if isinstance(metrics, list):
        valid = [m for m in metrics if isinstance(m, str) and (m in allowed or _TOPK.match(m))]
        names += [f"val_{m}" for m in _scalar_metrics(valid)]
    typed("trainer.monitor", t["monitor"], str, f"one of {', '.join(names)}", lambda v: v in names)
    typed("trainer.mode", t["mode"], str, "auto, min or max", lambda v: v in ("auto", "min", "max"))
    typed("trainer.early_stopping", t["early_stopping"], int, "0 (off) or a patience in epochs ≥ 1",
          lambda v: v >= 0)
    typed("trainer.min_delta", t["min_delta"], (int, float), "a number ≥ 0", lambda v: v >= 0)
    typed("trainer.save_period", t["save_period"], int, "0 (off) or a period in epochs ≥ 1", lambda v: v >= 0)
    for k in ("keep_best", "progress"):
        typed(f"trainer.{k}", t[k], bool, "true or false")
    typed("trainer.tensorboard", t["tensorboard"], (str, bool), "auto, true or false",
          lambda v: v in ("auto", True, False))
    return problems


def resolve(cfg: dict[str, Any]) -> dict[str, Any]:
    """Fill the defaults that depend on other keys (loss and metrics by task, monitor mode)."""
    cfg = copy.deepcopy(cfg)
    task = cfg["data"]["task"]
    if cfg["loss"]["name"] is None:
        cfg["loss"]["name"] = "CrossEntropyLoss" if task == "classification" else "MSELoss"
    if cfg["metrics"] is None:
        cfg["metrics"] = ["accuracy"] if task == "classification" else list(REGRESSION_METRICS)
    t = cfg["trainer"]
    if t["mode"] == "auto":
        t["mode"] = "min" if t["monitor"].endswith(("loss", "mse", "mae")) else "max"
    return cfg


def scalar_metrics(cfg: dict[str, Any]) -> list[str]:
    """The configured metrics that are single numbers (logged per epoch; monitorable)."""
    return _scalar_metrics(cfg["metrics"])
