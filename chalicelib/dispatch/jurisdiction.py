"""Jurisdiction (属地): which Suzhou district a ticket belongs to, from its address and text.

The answer comes from a gazetteer (``data/dispatch/gazetteer.csv``) of district names,
subdistricts and towns, main roads, landmarks, stations, malls and estates. Names are matched
leftmost-longest, so "苏州高新区" wins over "高新区" and "吴中万达广场" over "万达广场".

Evidence is weighed, never guessed:

* a name that belongs to one district is evidence for it, weighted by the kind of place
  (a district or town name is strong, a road weak) and by where it was found (the address
  counts more than the free text);
* a name that exists in several districts (人民路 runs through five) only narrows the
  candidates: it decides nothing on its own, but it confirms a district that other evidence
  names, and several ambiguous names whose candidate sets meet in one district decide it;
* conflicting evidence lowers the confidence; below ``min_confidence`` the answer is ``None``.

Pure Python, no third-party imports: cheap enough to run on every registration.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable

from .paths import data_dir

DEFAULT_GAZETTEER = data_dir() / "dispatch" / "gazetteer.csv"
DISTRICTS_CSV = data_dir() / "taxonomy" / "districts.csv"

#: Strength of a match by the kind of place it names.
KIND_WEIGHT: dict[str, float] = {
    "district": 0.95,
    "subdistrict": 0.92,
    "town": 0.9,
    "station": 0.85,
    "landmark": 0.82,
    "mall": 0.82,
    "estate": 0.8,
    "road": 0.65,
}
#: Evidence from the address field counts fully; the free text describes places less reliably.
SOURCE_WEIGHT: dict[str, float] = {"address": 1.0, "text": 0.8}

#: Short aliases that are also common words: they count only after one of these characters
#: (or at the start of the string / after punctuation). "园区" alone is 苏州工业园区, but
#: "产业园区" or "科技园区" is not.
GUARDED_ALIASES: dict[str, frozenset[str]] = {
    "园区": frozenset("在到去住是的于州往从市省里"),
}

DEFAULT_MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Place:
    """One gazetteer row: a name that points at one district."""

    name: str
    kind: str
    district: str
    subdistrict: str | None


@dataclass(frozen=True)
class Match:
    """A gazetteer name found in the address or the text."""

    name: str
    source: str  # "address" | "text"
    start: int
    places: tuple[Place, ...]

    @property
    def districts(self) -> frozenset[str]:
        """The districts this name may point at (more than one when it is ambiguous)."""
        return frozenset(p.district for p in self.places)

    @property
    def ambiguous(self) -> bool:
        return len(self.districts) > 1


@dataclass(frozen=True)
class Location:
    """The answer of :func:`locate`: a district, how it was found and how sure we are."""

    district: str
    district_name: str
    place: str
    kind: str
    subdistrict: str | None
    confidence: float
    evidence: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view (for the ticket record and the API)."""
        return {
            "district": self.district,
            "district_name": self.district_name,
            "place": self.place,
            "kind": self.kind,
            "subdistrict": self.subdistrict,
            "confidence": round(self.confidence, 3),
            "evidence": list(self.evidence),
        }


class Gazetteer:
    """Place names of the city and a matcher over them."""

    def __init__(self, places: Iterable[Place], district_names: dict[str, str]) -> None:
        self.district_names = dict(district_names)
        by_name: dict[str, list[Place]] = {}
        for place in places:
            if place.district not in self.district_names:
                raise ValueError(f"gazetteer names unknown district {place.district!r}")
            by_name.setdefault(place.name, []).append(place)
        self._by_name = {name: tuple(ps) for name, ps in by_name.items()}
        self._by_first: dict[str, list[str]] = {}
        for name in sorted(self._by_name, key=len, reverse=True):
            self._by_first.setdefault(name[0], []).append(name)

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str] = DEFAULT_GAZETTEER,
                 districts_csv: str | os.PathLike[str] = DISTRICTS_CSV) -> "Gazetteer":
        """Read ``name,kind,district,subdistrict`` rows and the district taxonomy."""
        with open(districts_csv, encoding="utf-8", newline="") as fh:
            names = {row["code"]: row["name"] for row in csv.DictReader(fh)}
        with open(path, encoding="utf-8", newline="") as fh:
            places = [
                Place(
                    name=row["name"].strip(),
                    kind=row["kind"].strip(),
                    district=row["district"].strip(),
                    subdistrict=(row.get("subdistrict") or "").strip() or None,
                )
                for row in csv.DictReader(fh)
                if row["name"].strip()
            ]
        return cls(places, names)

    @property
    def names(self) -> list[str]:
        """Every distinct place name (for the jieba user dictionary)."""
        return list(self._by_name)

    def places(self, name: str) -> tuple[Place, ...]:
        return self._by_name.get(name, ())

    def find(self, string: str, source: str) -> list[Match]:
        """All gazetteer names in ``string``, leftmost-longest, non-overlapping."""
        matches: list[Match] = []
        i, n = 0, len(string)
        while i < n:
            hit = None
            for name in self._by_first.get(string[i], ()):
                if string.startswith(name, i) and self._guard_ok(name, string, i):
                    hit = name
                    break
            if hit is None:
                i += 1
                continue
            matches.append(Match(hit, source, i, self._by_name[hit]))
            i += len(hit)
        return matches

    @staticmethod
    def _guard_ok(name: str, string: str, i: int) -> bool:
        allowed = GUARDED_ALIASES.get(name)
        if allowed is None or i == 0:
            return True
        before = string[i - 1]
        return before in allowed or not ("\u4e00" <= before <= "\u9fff")


def _noisy_or(weights: Iterable[float]) -> float:
    miss = 1.0
    for w in weights:
        miss *= 1.0 - w
    return 1.0 - miss


def _weight(match: Match, place: Place) -> float:
    return KIND_WEIGHT.get(place.kind, 0.6) * SOURCE_WEIGHT[match.source]


def resolve(matches: list[Match], gazetteer: Gazetteer,
            min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> Location | None:
    """Weigh the matches (see the module docstring) into one district, or ``None``."""
    if not matches:
        return None
    support: dict[str, list[float]] = {}
    for m in matches:
        if not m.ambiguous:
            support.setdefault(m.places[0].district, []).append(_weight(m, m.places[0]))
    ambiguous = [m for m in matches if m.ambiguous]

    if support:
        scores = {d: _noisy_or(ws) for d, ws in support.items()}
        for m in ambiguous:  # an ambiguous name that agrees adds a little
            for d in m.districts & scores.keys():
                place = next(p for p in m.places if p.district == d)
                scores[d] = _noisy_or([scores[d], 0.5 * _weight(m, place)])
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        best, best_score = ranked[0]
        total = sum(s for _, s in ranked)
        confidence = best_score * (best_score / total)
        if len(ranked) > 1 and ranked[1][1] == best_score:
            return None  # a tie between districts: no honest answer
    else:
        common = frozenset.intersection(*(m.districts for m in ambiguous))
        if len(common) != 1:
            return None
        best = next(iter(common))
        weights = [_weight(m, next(p for p in m.places if p.district == best)) for m in ambiguous]
        # Two ambiguous names meeting in one district are weaker than one unique name.
        confidence = 0.75 * _noisy_or(weights)
    if confidence < min_confidence:
        return None

    own = [(m, p) for m in matches for p in m.places if p.district == best]
    own.sort(key=lambda mp: (-_weight(*mp), mp[0].source != "address", mp[0].start))
    main_match, main_place = own[0]
    # The most specific place names the ticket; prefer a non-district name for ``place``.
    specific = [(m, p) for m, p in own if p.kind != "district"] or own
    place_match, place_row = specific[0]
    subdistrict = next((p.subdistrict for _, p in own if p.subdistrict), None)
    return Location(
        district=best,
        district_name=gazetteer.district_names[best],
        place=place_match.name,
        kind=place_row.kind,
        subdistrict=subdistrict,
        confidence=round(min(confidence, 0.99), 4),
        evidence=tuple(f"{m.source}:{m.name}" for m, _ in own),
    )


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """The bundled gazetteer, read once per process."""
    return Gazetteer.from_csv()


def locate(address: str | None, text: str | None, *,
           gazetteer: Gazetteer | None = None,
           min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> Location | None:
    """The district (and subdistrict where known) of a ticket, or ``None`` when unknown.

    ``address`` is the respondent's or incident address; ``text`` the ticket's description.
    Either may be ``None``. Ambiguous names (a road in several districts) never decide alone.
    """
    gaz = gazetteer or default_gazetteer()
    matches: list[Match] = []
    if address:
        matches += gaz.find(address, "address")
    if text:
        matches += gaz.find(text, "text")
    return resolve(matches, gaz, min_confidence)


def candidates(address: str | None, text: str | None, *,
               gazetteer: Gazetteer | None = None) -> list[tuple[str, str]]:
    """Every (district, matched name) the address and text mention, ambiguous ones included.

    For a dispatcher's screen when :func:`locate` returns ``None``: it shows what was seen.
    """
    gaz = gazetteer or default_gazetteer()
    out: list[tuple[str, str]] = []
    for source, string in (("address", address), ("text", text)):
        if string:
            for m in gaz.find(string, source):
                out += [(d, m.name) for d in sorted(m.districts)]
    return out
