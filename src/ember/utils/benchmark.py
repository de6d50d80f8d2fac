"""``torch.utils.benchmark``: time Python statements (``Timer``), summarise the runs (``Measurement``) and print
side-by-side tables of several measurements (``Compare``)."""

from __future__ import annotations

import statistics
import timeit as _timeit
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Timer", "Measurement", "Compare"]

_UNITS = ((1e-9, "ns", "nanoseconds"), (1e-6, "us", "microseconds"), (1e-3, "ms", "milliseconds"),
          (1.0, "s", "seconds"))


def _unit(t: float) -> tuple[float, str, str]:
    """The largest unit in which ``t`` seconds reads as at least 1."""
    return next((u for u in reversed(_UNITS) if t >= u[0]), _UNITS[0])


class Measurement:
    """The per-run times (seconds) of ``number_per_run`` executions of a statement, with summary statistics."""

    def __init__(self, number_per_run: int, raw_times: list[float], task_spec: dict[str, Any]) -> None:
        self.number_per_run = number_per_run
        self.raw_times = list(raw_times)
        self.task_spec = task_spec
        for k, v in task_spec.items():
            setattr(self, k, v)

    @property
    def times(self) -> list[float]:
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def _quartiles(self) -> tuple[float, float]:
        if len(self.times) < 2:
            return self.times[0], self.times[0]
        q = statistics.quantiles(self.times, n=4, method="inclusive")
        return q[0], q[2]

    @property
    def iqr(self) -> float:
        lo, hi = self._quartiles()
        return hi - lo

    @property
    def has_warnings(self) -> bool:
        """Whether the spread is suspicious: IQR above 10% of the median over at least 4 measurements."""
        return len(self.times) >= 4 and self.median > 0 and self.iqr / self.median > 0.1

    @property
    def title(self) -> str:
        head = self.label or self.stmt
        return f"{head}: {self.sub_label}" if self.sub_label else head

    def __repr__(self) -> str:
        scale, unit, _ = _unit(self.median)
        lines = [f"<{type(self).__module__}.Measurement object at {hex(id(self))}>", self.title]
        if self.description:
            lines.append(self.description)
        if self.setup.strip() not in ("", "pass"):
            lines.append(f"setup: {self.setup}")
        n, threads = len(self.times), f"{self.num_threads} thread{'s' if self.num_threads > 1 else ''}"
        if n == 1:
            lines += [f"  {self.median / scale:.2f} {unit}", f"  1 measurement, {self.number_per_run} runs , {threads}"]
        else:
            lo, hi = self._quartiles()
            lines += [f"  Median: {self.median / scale:.2f} {unit}",
                      f"  IQR:    {self.iqr / scale:.2f} {unit} ({lo / scale:.2f} to {hi / scale:.2f})",
                      f"  {n} measurements, {self.number_per_run} runs per measurement, {threads}"]
        if self.has_warnings:
            lines += [f"  WARNING: Interquartile range is {self.iqr / self.median * 100:.1f}% of the median "
                      "measurement.", "           This could indicate system fluctuation."]
        return "\n".join(lines)


class Timer:
    """Time ``stmt`` after running ``setup`` once, in a namespace copied from ``globals``."""

    def __init__(self, stmt: str = "pass", setup: str = "pass", global_setup: str = "",
                 timer: Callable[[], float] = _timeit.default_timer, globals: dict[str, Any] | None = None,
                 label: str | None = None, sub_label: str | None = None, description: str | None = None,
                 env: str | None = None, num_threads: int = 1, language: str = "python") -> None:
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")
        if language not in ("py", "python"):
            raise ValueError(f"Invalid language `{language}`.")
        self._globals = dict(globals or {})
        self._timer = _timeit.Timer(stmt=stmt, setup=setup, timer=timer, globals=self._globals)
        self._task_spec = {"stmt": stmt, "setup": setup, "global_setup": global_setup, "label": label,
                           "sub_label": sub_label, "description": description, "env": env,
                           "num_threads": num_threads}

    def _run(self, number: int) -> float:
        from .. import get_num_threads, set_num_threads
        prev = get_num_threads()
        set_num_threads(self._task_spec["num_threads"])
        try:
            return self._timer.timeit(number)
        finally:
            set_num_threads(prev)

    def timeit(self, number: int = 1000000) -> Measurement:
        """One measurement of ``number`` runs (after a short warm-up)."""
        self._run(max(number // 100, 2))
        return Measurement(number, [self._run(number)], self._task_spec)

    def _block_size(self, min_run_time: float) -> int:
        """Runs per block, as torch estimates it: powers of ten until the timer's own overhead (an empty block)
        is at most 1e-4 of a block lasting at least ``min_run_time / 1000``, or a block outlasts ``min_run_time``."""
        overhead = statistics.median(self._run(0) for _ in range(5))
        number = 1
        while True:
            taken = self._run(number)
            if (overhead <= 1e-4 * taken and taken >= min_run_time / 1000) or taken > min_run_time \
                    or number * 10 > 2147483647:
                return number
            number *= 10

    def _measure(self, number: int, enough: Callable[[list[float]], bool], min_run_time: float,
                 max_run_time: float | None, callback: Callable[[int, float], None] | None) -> Measurement:
        """Blocks of ``number`` runs until ``min_run_time`` is spent and ``enough(times)`` holds (or
        ``max_run_time`` is exceeded)."""
        times: list[float] = []
        total, done = 0.0, False
        while total < min_run_time or not done:
            t = self._run(number)
            times.append(t)
            total += t
            if callback is not None:
                callback(number, t)
            done = enough(times)
            if max_run_time and total > max_run_time:
                break
        return Measurement(number, times, self._task_spec)

    def blocked_autorange(self, callback: Callable[[int, float], None] | None = None,
                          min_run_time: float = 0.2) -> Measurement:
        """Repeat blocks of runs until ``min_run_time`` seconds are spent; one time per block."""
        return self._measure(self._block_size(min_run_time), lambda times: True, min_run_time, None, callback)

    def adaptive_autorange(self, threshold: float = 0.1, *, min_run_time: float = 0.01,
                           max_run_time: float = 10.0, callback: Callable[[int, float], None] | None = None
                           ) -> Measurement:
        """Measure blocks until the IQR/median ratio drops below ``threshold`` (or ``max_run_time`` is spent)."""
        def confident(times: list[float]) -> bool:
            m = Measurement(number, times, self._task_spec)
            return len(times) > 3 and m.iqr / m.median < threshold
        number = self._block_size(0.05)
        return self._measure(number, confident, min_run_time, max_run_time, callback)


class Compare:
    """A table of measurement medians: rows are sub-labels, columns descriptions, grouped by label."""

    def __init__(self, results: Iterable[Measurement]) -> None:
        self._results = list(results)

    def __str__(self) -> str:
        out = []
        labels = dict.fromkeys(m.label for m in self._results)
        for label in labels:
            group = [m for m in self._results if m.label == label]
            scale, unit, long_unit = _unit(min(m.median for m in group))
            cols = list(dict.fromkeys(m.description or "" for m in group))
            rows = list(dict.fromkeys(m.sub_label or m.stmt for m in group))
            cell = {(m.sub_label or m.stmt, m.description or ""): f"{m.median / scale:.1f}" for m in group}
            w0 = max(len(r) for r in rows) + 6
            ws = [max(len(c), *(len(cell.get((r, c), "")) for r in rows)) + 2 for c in cols]
            table = [" " * w0 + "|" + "|".join(c.center(w) for c, w in zip(cols, ws, strict=True))]
            threads = {m.num_threads for m in group}
            for n in sorted(threads):
                table.append(f"{n} threads: ".ljust(w0, "-") + "-" * (sum(ws) + len(ws)))
                table += [r.rjust(w0 - 2) + "  |" + "|".join(cell.get((r, c), "").center(w)
                                                             for c, w in zip(cols, ws, strict=True)) for r in rows]
            width = max(len(line) for line in table)
            title = f" {label or ''} "
            out += [f"[{title.center(width - 2, '-')}]", *table, "", f"Times are in {long_unit} ({unit}).", ""]
        return "\n".join(out)

    def print(self) -> None:
        print(str(self))
