"""The words the category suggestion looks for, per category: the project's defaults, and an admin's own.

Defaults come with the project, keyed by a category's name (``chalicelib.dispatch.category_keywords``).
An admin replaces a category's words (an empty list: its name's words only) or goes back to the
defaults; the custom words of every category are one directory document (``CONFIG`` /
``CATEGORY_KEYWORDS``), changed with optimistic locking and cached like the rest of the directory's
configuration (``services.policy``), so a suggestion costs no extra read most of the time.
"""
from __future__ import annotations

from typing import Any

from chalicelib.dispatch.category_keywords import KEYWORDS
from chalicelib.domain.errors import ValidationFailed
from chalicelib.services import categories, policy
from chalicelib.store import directory

KEY = "CATEGORY_KEYWORDS"
MAX_WORDS = 30
MIN_LENGTH, MAX_LENGTH = 2, 20

def _load() -> tuple[dict[str, tuple[str, ...]], int]:
    entry = directory.find_entry(directory.CONFIG, KEY) or {}
    words = {code: tuple(found) for code, found in (entry.get("keywords") or {}).items()}
    return words, int(entry.get("_version", 0))


def custom(*, fresh: bool = False) -> tuple[dict[str, tuple[str, ...]], int]:
    """The admins' words by category code, and the document's version (0: none saved); cached with
    the other directory configuration (``policy``), read fresh for a change."""
    return _load() if fresh else policy._cached(KEY, _load)


def listing() -> dict[str, Any]:
    """Every active category with its default words, an admin's words if any, and the words in force."""
    tree = categories.tree()
    own, version = custom(fresh=True)
    items = []
    for code in sorted(tree.nodes):
        if not tree.is_active(code):
            continue
        defaults = list(KEYWORDS.get(tree.nodes[code].name, ()))
        mine = list(own[code]) if code in own else None
        items.append({"code": code, "path": tree.path(code), "level": tree.level(code), "default": defaults,
                      "custom": mine, "keywords": defaults if mine is None else mine})
    return {"items": items, "version": version}


def _clean(words: Any) -> list[str]:
    if not isinstance(words, list) or len(words) > MAX_WORDS:
        raise ValidationFailed("invalid keywords", details={"keywords": f"a list of at most {MAX_WORDS} words"})
    out: list[str] = []
    for word in words:
        text = word.strip() if isinstance(word, str) else ""
        if not MIN_LENGTH <= len(text) <= MAX_LENGTH:
            raise ValidationFailed("invalid keywords",
                                   details={"keywords": f"each word {MIN_LENGTH} to {MAX_LENGTH} characters"})
        if text not in out:
            out.append(text)
    return out


def save(code: str, words: list[str] | None, *, expected_version: int, actor: str) -> dict[str, Any]:
    """Set a category's words (``None``: back to the defaults); 409 when the document changed meanwhile."""
    categories.check_code(code, "code")
    own, _ = custom(fresh=True)
    mine = {c: list(w) for c, w in own.items()}
    if words is None:
        mine.pop(code, None)
    else:
        mine[code] = _clean(words)
    version = directory.put_entry(directory.CONFIG, KEY, {"keywords": mine, "updated_by": actor},
                                  expected_version=expected_version)
    policy.forget_cache()
    tree = categories.tree()
    defaults = list(KEYWORDS.get(tree.nodes[code].name, ()))
    return {"code": code, "path": tree.path(code), "default": defaults, "custom": mine.get(code),
            "keywords": mine.get(code, defaults), "version": version}
