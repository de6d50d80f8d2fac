"""A run from a resolved config: build data, model, loss, optimizer and scheduler; train into a fresh run
folder; evaluate or predict from a checkpoint."""

from __future__ import annotations

import copy
import importlib.util
import inspect
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from .config import ConfigError, apply_overrides, import_object, load_config, resolve, validate
from .data import DataInfo, build_datasets, collate, load_inputs

__all__ = ["build_model", "evaluate_checkpoint", "make_run_dir", "predict_checkpoint", "train"]


def make_run_dir(cfg: dict[str, Any]) -> Path:
    """``<output_dir>/<name>/<timestamp>/``, created exclusively: an existing folder gets a ``-2``, ``-3``… twin."""
    parent = Path(cfg["output_dir"]) / cfg["name"]
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 10_000):
        path = parent / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"cannot create a run folder under {parent}")


def _with_data_kwargs(fn: Any, kwargs: dict[str, Any], info: DataInfo) -> dict[str, Any]:
    """Fill ``num_classes`` / ``in_channels`` / ``in_features`` from the data when the callable takes them."""
    try:
        params = dict(inspect.signature(fn).parameters)
        if any(p.kind is p.VAR_KEYWORD for p in params.values()):   # a builder passing **kwargs to its class
            params["num_classes"] = None
            cls = getattr(inspect.getmodule(fn), str(inspect.signature(fn).return_annotation), None)
            if isinstance(cls, type):
                params.update(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return kwargs
    shape = info.sample_shape
    known = {"num_classes": info.num_classes, "in_features": int(np.prod(shape)),
             "in_channels": shape[0] if len(shape) == 3 else None}
    out = dict(kwargs)
    for k, v in known.items():
        if k in params and k not in out and v is not None:
            out[k] = v
    return out


def build_model(cfg: dict[str, Any], info: DataInfo) -> Any:
    """The model named by ``model.name`` (``module:Class`` or an ``ember.vision.models`` name)."""
    name = cfg["model"]["name"]
    if ":" in name:
        fn = import_object(name, cfg.get("config_dir"))
    else:
        fn = getattr(importlib.import_module("ember.vision.models"), name)
    return fn(**_with_data_kwargs(fn, cfg["model"]["kwargs"], info))


def _build_named(module: Any, spec: str, cfg: dict[str, Any]) -> Any:
    return import_object(spec, cfg.get("config_dir")) if ":" in spec else getattr(module, spec)


def _build(key: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; a failure becomes a ConfigError naming the config section (nothing is written yet)."""
    try:
        return fn(*args, **kwargs)
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError([f"{key}: failed: {type(e).__name__}: {e}"]) from e


def _components(cfg: dict[str, Any], info: DataInfo, steps_per_epoch: int) -> tuple[Any, Any, Any, Any]:
    from ember import nn, optim
    from ember.optim import lr_scheduler

    model = _build("model", build_model, cfg, info).to(cfg["device"])
    loss_fn = _build("loss", _build_named(nn, cfg["loss"]["name"], cfg), **cfg["loss"]["kwargs"])
    o = cfg["optimizer"]
    optimizer = _build("optimizer", _build_named(optim, o["name"], cfg), model.parameters(), lr=o["lr"],
                       **o["kwargs"])
    s = cfg["scheduler"]
    scheduler = None
    if s["name"] is not None:
        cls = getattr(lr_scheduler, s["name"])
        kwargs = dict(s["kwargs"])
        steps = cfg["trainer"]["epochs"] * (steps_per_epoch if s["interval"] == "step" else 1)
        if s["name"] == "CosineAnnealingLR":
            kwargs.setdefault("T_max", steps)
        elif s["name"] == "OneCycleLR":
            kwargs.setdefault("max_lr", o["lr"])
            kwargs.setdefault("total_steps", steps)
        elif s["name"] in ("LinearLR", "PolynomialLR"):
            kwargs.setdefault("total_iters", steps)
        elif s["name"] == "ReduceLROnPlateau":
            kwargs.setdefault("mode", cfg["trainer"]["mode"])
        scheduler = _build("scheduler", cls, optimizer, **kwargs)
    return model, loss_fn, optimizer, scheduler


def _loaders(cfg: dict[str, Any], sets: tuple[Any, Any, Any], world: int = 1) -> tuple[Any, Any, Any]:
    """Train loader with its own seeded generator (its state goes in checkpoints), or a DistributedSampler's
    share in a job of ``world`` processes; validation and test loaders in order."""
    import ember
    from ember.utils.data import DataLoader
    from ember.utils.data.distributed import DistributedSampler

    lo = cfg["loader"]
    common = {"num_workers": lo["num_workers"], "collate_fn": collate}
    if world > 1:
        sampler = DistributedSampler(sets[0], shuffle=lo["shuffle"], seed=cfg["seed"], drop_last=lo["drop_last"])
        train = DataLoader(sets[0], batch_size=lo["batch_size"], sampler=sampler, drop_last=lo["drop_last"],
                           **common)
    else:
        gen = ember.Generator().manual_seed(cfg["seed"])
        train = DataLoader(sets[0], batch_size=lo["batch_size"], shuffle=lo["shuffle"], drop_last=lo["drop_last"],
                           generator=gen, **common)
    val, test = (DataLoader(s, batch_size=lo["eval_batch_size"], **common) if len(s) else None for s in sets[1:])
    return train, val, test


def _threads(cfg: dict[str, Any]) -> None:
    """``threads``: cap the CPU threads of ember's kernels and NumPy's BLAS (small models on a busy machine run
    faster on one thread than with threads waiting for each other)."""
    if cfg.get("threads"):
        import ember

        ember.set_num_threads(cfg["threads"])


def seed_everything(seed: int) -> None:
    """Seed ember's, Python's and NumPy's global streams."""
    import ember

    ember.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)


def _tensorboard_wanted(setting: Any) -> bool:
    return setting is True or (setting == "auto" and importlib.util.find_spec("tensorboard") is not None)


def _write_config(cfg: dict[str, Any], path: Path) -> None:
    import yaml

    path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def _trainer(cfg: dict[str, Any], info: DataInfo, loaders: tuple[Any, Any, Any]) -> Any:
    from .trainer import Trainer

    model, loss_fn, optimizer, scheduler = _components(cfg, info, len(loaders[0]) // cfg["trainer"]["grad_accum"])
    t = cfg["trainer"]
    return Trainer(model, optimizer, loss_fn, loaders[0], loaders[1], epochs=t["epochs"], scheduler=scheduler,
                   scheduler_interval=cfg["scheduler"]["interval"], metrics=cfg["metrics"], task=info.task,
                   device=cfg["device"], grad_clip=t["grad_clip"], grad_accum=t["grad_accum"], amp=t["amp"],
                   monitor=t["monitor"], mode=t["mode"], min_delta=t["min_delta"])


def _check_forward(trainer: Any, dataset: Any) -> None:
    """Model and loss on two training samples (eval mode, no grad: no state or random stream is touched), so a
    model/data mismatch is reported as a config problem before the run folder exists."""
    import ember

    batch = collate([dataset[i] for i in range(min(2, len(dataset)))])
    x, y = trainer._to(batch)
    trainer.model.eval()
    with ember.no_grad():
        out = _build(f"model (on inputs of shape {list(x.shape)})", trainer.model, x)
        _build(f"loss (on outputs {list(out.shape)} and targets {list(y.shape)} {y.dtype})", trainer.loss_fn, out, y)


def _distributed(cfg: dict[str, Any]) -> tuple[int, int]:
    """(world size, rank): under ``ember run`` (WORLD_SIZE > 1) join the job's process group."""
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 1, 0
    from ember import distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if str(cfg["device"]).startswith("cuda") else "mpi")
    if str(cfg["device"]) == "cuda":
        cfg["device"] = f"cuda:{os.environ.get('LOCAL_RANK', '0')}"
    return dist.get_world_size(), dist.get_rank()


def load_checkpoint(path: str | Path, flag: str = "--checkpoint") -> dict[str, Any]:
    """A checkpoint written by ``ember train``; a missing or foreign file is a ConfigError naming ``flag``."""
    import ember

    if not Path(path).is_file():
        raise ConfigError([f"{flag}: got {str(path)!r}; expected an existing checkpoint file"], what="arguments")
    ckpt = ember.load(path, weights_only=True)
    if not isinstance(ckpt, dict) or "config" not in ckpt:
        raise ConfigError([f"{flag}: {str(path)!r} has no 'config' entry; expected a checkpoint written by "
                           "ember train"], what="arguments")
    return ckpt


def resume_config(ckpt: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """The checkpoint's config with ``-o`` overrides applied and validated again."""
    cfg = copy.deepcopy(ckpt["config"])
    user = {}
    problems = apply_overrides(user, overrides)
    for k, v in user.items():
        cfg[k] = {**cfg[k], **v} if isinstance(v, dict) and isinstance(cfg.get(k), dict) else v
    problems += validate(cfg, {k: cfg[k] for k in user} if user else {})
    if problems:
        raise ConfigError(problems, "--resume")
    return resolve(cfg)


def train(cfg: dict[str, Any], resume: dict[str, Any] | None = None, *, quiet: bool = False) -> dict[str, Any]:
    """Train per ``cfg`` (resuming from a loaded checkpoint if given) in a new run folder; returns a summary."""
    import ember

    from .callbacks import Checkpoint, CurvesPlot, EarlyStopping, EpochLine, MetricsLog, ProgressBar, TensorBoard

    _threads(cfg)
    world, rank = _distributed(cfg)
    seed_everything(cfg["seed"])
    *sets, info = _build("data", build_datasets, cfg)
    loaders = _loaders(cfg, tuple(sets), world)
    trainer = _trainer(cfg, info, loaders)
    _check_forward(trainer, sets[0])
    run_dir = make_run_dir(cfg) if rank == 0 else None
    t = cfg["trainer"]
    callbacks: list[Any] = [EarlyStopping(t["early_stopping"])] if t["early_stopping"] else []
    if world > 1:   # one process writes; every process agrees on early stopping (same weights, same val set)
        from ember import distributed as dist
        from ember.nn.parallel import DistributedDataParallel

        shared = [str(run_dir)]
        dist.broadcast_object_list(shared, src=0)
        run_dir = Path(shared[0])
        trainer.model = DistributedDataParallel(trainer.model)
        quiet = quiet or rank != 0
    out = print if rank == 0 else (lambda *a, **k: None)
    if rank == 0:
        extra = {"config": cfg, "data_info": info.to_dict(), "ember_version": ember.version.ember_version}
        callbacks += [MetricsLog(run_dir), Checkpoint(run_dir, extra, t["keep_best"], t["save_period"]),
                      CurvesPlot(run_dir, f"{cfg['name']}: {cfg['model']['name']}")]
        if _tensorboard_wanted(t["tensorboard"]):
            callbacks.append(TensorBoard(run_dir))
    if t["progress"] and not quiet:
        callbacks.append(ProgressBar())
    if not quiet:
        callbacks.append(EpochLine())
    trainer.callbacks = callbacks
    if rank == 0:
        _write_config(cfg, run_dir / "config.yaml")
    n_params = sum(p.numel() for p in trainer.model.parameters())
    out(f"run {run_dir}" + (f" ({world} processes)" if world > 1 else ""))
    out(f"data {cfg['data']['dataset']}: {len(sets[0])} train / {len(sets[1])} val / {len(sets[2])} test, "
        f"input {info.sample_shape}, {info.num_classes} {'classes' if info.task == 'classification' else 'outputs'}")
    out(f"model {cfg['model']['name']}: {n_params:,} parameters on {cfg['device']}; "
        f"{cfg['optimizer']['name']} lr {cfg['optimizer']['lr']}, {t['epochs']} epochs")
    if resume is not None:
        trainer.load_state_dict(resume)
        where = f"epoch {trainer.epoch}" + (f", step {trainer.step_in_epoch}" if trainer.step_in_epoch else "")
        out(f"resumed at {where}")
    start = time.perf_counter()
    trainer.fit()
    elapsed = time.perf_counter() - start
    summary: dict[str, Any] = {"run_dir": str(run_dir), "epochs": trainer.epoch, "seconds": round(elapsed, 2),
                               "interrupted": trainer.interrupted, "best_epoch": trainer.best_epoch,
                               t["monitor"]: trainer.best}
    trainer.model = trainer.bare_model   # no collectives from here on: only rank 0 tests and writes
    if rank != 0:
        return summary
    if trainer.stop_reason:
        out(trainer.stop_reason)
    if trainer.interrupted:
        out(f"stopped; resume with: ember train --resume {run_dir / 'last.pt'}")
        return summary
    if loaders[2] is not None:
        which = "last"
        if t["keep_best"] and (run_dir / "best.pt").exists():
            trainer.model.load_state_dict(load_checkpoint(run_dir / "best.pt")["model"])
            which = f"best (epoch {trainer.best_epoch})"
        test = trainer.evaluate(loaders[2])
        summary["test"] = test
        (run_dir / "test_metrics.json").write_text(json.dumps({"checkpoint": which, **test}, indent=1) + "\n")
        from .callbacks import format_logs

        out(f"test ({which} weights): {format_logs(test)}")
    out(f"done in {elapsed:.1f}s: {run_dir}/ has config.yaml, metrics.csv, metrics.jsonl, curves.png, last.pt"
        + (", best.pt" if (run_dir / "best.pt").exists() else ""))
    return summary


def _from_checkpoint(path: str | Path, overrides: list[str], device: str | None) -> tuple[Any, dict[str, Any], Any]:
    ckpt = load_checkpoint(path)
    if device is not None:
        overrides = [*overrides, f"device={json.dumps(device)}"]
    cfg = resume_config(ckpt, overrides)
    info = DataInfo(**ckpt["data_info"])
    trainer = _trainer(cfg, info, ([], None, None))   # evaluation only: no train loader
    trainer.model.load_state_dict(ckpt["model"])
    return trainer, cfg, info


def evaluate_checkpoint(path: str | Path, split: str = "test", overrides: list[str] | None = None,
                        device: str | None = None, out_dir: str | Path | None = None) -> dict[str, Any]:
    """``split`` metrics (all of the task's metrics) of a checkpoint; a confusion-matrix PNG for classification."""
    from .callbacks import format_logs
    from .config import CLASSIFICATION_METRICS, REGRESSION_METRICS

    trainer, cfg, info = _from_checkpoint(path, overrides or [], device)
    _threads(cfg)
    seed_everything(cfg["seed"])
    sets = build_datasets(cfg)[:3]
    ds = sets[("train", "val", "test").index(split)]
    if not len(ds):
        raise ValueError(f"the {split} split is empty (data.split = {cfg['data']['split']})")
    loader = _loaders(cfg, (ds, ds, ds))[1]
    names = list(dict.fromkeys([*(m for m in cfg["metrics"] if m.startswith("top")),
                                *(CLASSIFICATION_METRICS if info.task == "classification" else REGRESSION_METRICS)]))
    logs = trainer.evaluate(loader, names)
    folder = Path(out_dir) if out_dir is not None else Path(path).parent
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{Path(path).stem}_{split}"
    print(f"{split} ({len(ds)} samples, {path}): {format_logs(logs)}")
    (folder / f"eval_{stem}.json").write_text(json.dumps(logs) + "\n")
    if "confusion_matrix" in logs:
        from .plots import plot_confusion_matrix

        png = folder / f"confusion_matrix_{stem}.png"
        plot_confusion_matrix(logs["confusion_matrix"], info.classes, png,
                              f"{cfg['name']} {split}: accuracy {logs['accuracy']:.4f}")
        print(f"wrote {folder / f'eval_{stem}.json'} and {png}")
    return logs


def predict_checkpoint(path: str | Path, inputs: list[str], device: str | None = None, top: int = 1
                       ) -> list[dict[str, Any]]:
    """Predictions for image / .npy / .npz / .csv inputs: class (with probability) or regression values."""
    import ember

    trainer, cfg, info = _from_checkpoint(path, [], device)
    x, labels = load_inputs(inputs, info)
    out = trainer.predict(x)
    rows = []
    if info.task == "classification":
        probs = ember.softmax(out, 1)
        values, idx = probs.topk(min(top, probs.shape[1]), 1)
        for label, v, i in zip(labels, values.tolist(), idx.tolist(), strict=True):
            names = [info.classes[j] if j < len(info.classes) else str(j) for j in i]
            rows.append({"input": label, "predictions": [{"class": n, "probability": round(p, 6)}
                                                         for n, p in zip(names, v, strict=True)]})
            print(label + "  " + "  ".join(f"{n} ({p:.3f})" for n, p in zip(names, v, strict=True)))
    else:
        for label, v in zip(labels, out.tolist(), strict=True):
            rows.append({"input": label, "prediction": v})
            print(label + "  " + " ".join(f"{a:.6g}" for a in v))
    return rows


def run_from_args(config: str | None, overrides: list[str], resume: str | None, device: str | None,
                  quiet: bool = False) -> dict[str, Any]:
    """What ``ember train`` does: load and validate (everything before anything is written), then train."""
    if device is not None:
        overrides = [*overrides, f"device={json.dumps(device)}"]
    if resume is not None:
        ckpt = load_checkpoint(resume, "--resume")
        return train(resume_config(ckpt, overrides), ckpt, quiet=quiet)
    return train(load_config(config, overrides), quiet=quiet)

