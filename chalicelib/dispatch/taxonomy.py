"""The demo taxonomy: departments with their duty lists (权责清单) and the districts.

Duty lists are knowledge, not only labels: :func:`duty_phrases` splits a department's list
into the short phrases (占道经营, 流动摊贩, 电梯, 锅炉 ...) the model matches in ticket texts,
and the training corpus gets the lists as extra documents.
"""
from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from .paths import data_dir

TAXONOMY_DIR = data_dir() / "taxonomy"
DEPARTMENTS_CSV = TAXONOMY_DIR / "departments.csv"
DISTRICTS_CSV = TAXONOMY_DIR / "districts.csv"

_CONNECTIVES = re.compile(r"和|及|与|或")
_PAREN = re.compile(r"[（(]([^）)]*)[）)]")
#: Halves of a split phrase that say nothing on their own (商品和服务质量 -> 商品).
GENERIC_PHRASES = frozenset({"商品", "交付", "站点", "工业", "社会生活", "整治", "故障", "电信", "短信"})


@dataclass(frozen=True)
class DepartmentDuties:
    """One department of the taxonomy and the phrases of its duty list."""

    code: str
    name: str
    duties: str
    phrases: tuple[str, ...]


def split_duties(duties: str) -> tuple[str, ...]:
    """Split a duty list into matchable phrases.

    "特种设备（电梯、锅炉）" gives 特种设备, 电梯, 锅炉; "占道经营和流动摊贩" gives the whole
    phrase and both halves. Order is kept and duplicates dropped.
    """
    items: list[str] = []
    depth, buf = 0, []
    for ch in duties:
        if ch in "（(":
            depth += 1
        elif ch in "）)":
            depth -= 1
        if ch == "、" and depth == 0:
            items.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    items.append("".join(buf))
    out: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        inner = _PAREN.findall(item)
        outer = _PAREN.sub("", item).strip()
        candidates = [outer] + [p for p in _CONNECTIVES.split(outer) if len(p) >= 2]
        for group in inner:
            candidates += [p.strip() for p in group.split("、")]
        for c in candidates:
            if len(c) >= 2 and c not in out and c not in GENERIC_PHRASES:
                out.append(c)
    return tuple(out)


def read_departments(path: str | os.PathLike[str] = DEPARTMENTS_CSV) -> list[DepartmentDuties]:
    """The departments of ``departments.csv`` (columns code,name,duties) in file order."""
    with open(path, encoding="utf-8", newline="") as fh:
        return [
            DepartmentDuties(row["code"].strip(), row["name"].strip(), row["duties"].strip(),
                             split_duties(row["duties"]))
            for row in csv.DictReader(fh)
        ]


@lru_cache(maxsize=1)
def departments() -> tuple[DepartmentDuties, ...]:
    """The bundled departments, read once."""
    return tuple(read_departments())


@lru_cache(maxsize=1)
def district_names() -> dict[str, str]:
    """District code -> name from the bundled ``districts.csv``."""
    with open(DISTRICTS_CSV, encoding="utf-8", newline="") as fh:
        return {row["code"]: row["name"] for row in csv.DictReader(fh)}
