"""One measured figure, and the table and JSON file `make bench` writes from them.

Every figure stands beside the limit it is judged against: either a limit
measured in the same run (the framework's ceiling, one bcrypt check, one bare
signature) — then ``ratio`` is value/limit — or a fixed target from the issue
(milliseconds, megabytes) — then ``ratio`` is left empty and ``passed`` says.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path


@dataclass
class Figure:
    section: str  # "Till throughput", "Scale of reads", ...
    name: str  # "stamps/s, 8 clients"
    value: float
    unit: str  # "/s", "ms", "MB"
    limit: float | None = None  # the limit measured in this run, in the same unit
    limit_label: str = ""  # what that limit is: "constant DRF endpoint"
    ratio: float | None = None
    target: str = ""  # as the issue states it: "≥ 0.5", "< 5 ms"
    passed: bool | None = None
    detail: str = ""  # p50/p99, the index the plan used, ...
    extra: dict = field(default_factory=dict)

    @classmethod
    def against(cls, section, name, value, unit, limit, limit_label, minimum_ratio, detail="", **extra):
        """A figure judged as a ratio of a limit measured in the same run (higher is better)."""
        ratio = value / limit if limit else 0.0
        return cls(
            section, name, value, unit, limit, limit_label, ratio,
            f"≥ {minimum_ratio}", ratio >= minimum_ratio, detail, extra,
        )

    @classmethod
    def cost_against(cls, section, name, value, unit, limit, limit_label, minimum_ratio, detail="", **extra):
        """A cost (lower is better) judged as a ratio: the limit's cost over this one, so 1.0 is the limit itself."""
        ratio = limit / value if value else 0.0
        return cls(
            section, name, value, unit, limit, limit_label, ratio,
            f"≥ {minimum_ratio}", ratio >= minimum_ratio, detail, extra,
        )

    @classmethod
    def under(cls, section, name, value, unit, maximum, detail="", **extra):
        """A figure judged against a fixed ceiling (lower is better)."""
        return cls(section, name, value, unit, None, "", None, f"< {maximum} {unit}", value < maximum, detail, extra)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def markdown(figures: list[Figure]) -> str:
    lines = [
        "| section | figure | value | limit (same run) | ratio | target | ok | detail |",
        "|---|---|---:|---|---:|---|:-:|---|",
    ]
    for figure in figures:
        limit = f"{_number(figure.limit)} {figure.unit} ({figure.limit_label})" if figure.limit is not None else ""
        ok = "" if figure.passed is None else ("yes" if figure.passed else "**NO**")
        lines.append(
            f"| {figure.section} | {figure.name} | {_number(figure.value)} {figure.unit} | {limit} "
            f"| {_number(figure.ratio)} | {figure.target} | {ok} | {figure.detail} |"
        )
    return "\n".join(lines)


def write(figures: list[Figure], path: Path, settings: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": _cpu_count(), "platform": platform.platform()},
        "settings": settings,
        "all_passed": all(figure.passed is not False for figure in figures),
        "figures": [asdict(figure) for figure in figures],
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0
