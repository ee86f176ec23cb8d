"""The problem classification in use: the tree read from the directory, the default tree written on
first use, and the check that a registration or an acceptance names an active category.

Admins change the tree through :mod:`chalicelib.services.reference` (the same code as departments and
districts: versions, retire with a reason, reinstate). How old free-text categories map:
docs/decisions/0014-category-tree.md.
"""
from __future__ import annotations

from typing import Any

from chalicelib.domain.categories import CategoryTree
from chalicelib.domain.category_tree import default_entries
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.vocabulary import Role
from chalicelib.services import policy
from chalicelib.store import directory

SEED_ACTOR = "system:category-seed"
_CACHE_KEY = "CATEGORIES"


def ensure_default(actor: str = SEED_ACTOR) -> int:
    """Write the default tree when the directory holds no category yet (a fresh deployment, the
    demo seed); returns how many entries were written (0 when a tree is there). Each entry is
    created conditionally, so two containers doing it at once write it once."""
    if directory.list_entries(directory.CATEGORIES):
        return 0
    from chalicelib.services import reference

    return reference.seed_categories(default_entries(), actor=actor)


def _load() -> CategoryTree:
    entries = directory.list_entries(directory.CATEGORIES)
    if not entries:
        ensure_default()
        entries = directory.list_entries(directory.CATEGORIES)
    return CategoryTree(entries)


def tree() -> CategoryTree:
    """The tree, retired entries included (cached like the other directory lists; one Query)."""
    return policy._cached(_CACHE_KEY, _load)


def stored() -> CategoryTree:
    """The tree as stored, without writing the default one when there is none (then empty): what a
    registration reads to suggest categories, so that registering never writes the tree. Cached like
    :func:`tree`."""
    return policy._cached(_CACHE_KEY + "#STORED", lambda: CategoryTree(directory.list_entries(directory.CATEGORIES)))


def check_code(code: Any, field: str = "category_code") -> str:
    """``code`` names an active category (any level); ValidationFailed naming ``field`` otherwise."""
    current = tree()
    if not isinstance(code, str) or code not in current:
        raise ValidationFailed("unknown category", details={field: f"no category {code}"})
    if not current.is_active(code):
        raise ValidationFailed("retired category", details={field: f"category {code} is retired"})
    return code


def _from_text(text: Any, field: str, *, keep_unknown: bool) -> str | None:
    """A free-text ``category`` as a code: a code or the name of exactly one active category.
    Partner platforms (``keep_unknown``) keep their own classification as text when it maps to none."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if not isinstance(text, str):
        raise ValidationFailed("invalid category", details={field: "must be a string"})
    current = tree()
    if text.strip() in current:
        return check_code(text.strip(), field)
    code = current.by_name(text)
    if code is not None:
        return code
    if keep_unknown:
        return text.strip()
    raise ValidationFailed("free-text categories are no longer accepted",
                           details={field: "use category_code: a code of the category tree (GET /categories)"})


def normalize_registration(data: Any, actor_role: str) -> Any:
    """A registration with ``category_code`` checked and stored as ``category``.

    ``category_code`` must be an active category; a legacy ``category`` is accepted only when it is a
    code or the name of exactly one active category (then stored as that code); both given must agree.
    A partner platform's unmatched category text is kept (its own classification)."""
    if not isinstance(data, dict) or ("category_code" not in data and "category" not in data):
        return data
    out = {k: v for k, v in data.items() if k != "category_code"}
    code = data.get("category_code")
    if code is not None:
        code = check_code(code)
        legacy = _from_text(data.get("category"), "category", keep_unknown=False) if data.get("category") else None
        if legacy is not None and legacy != code:
            raise ValidationFailed("two different categories given", details={"category": "differs from category_code"})
        out["category"] = code
    else:
        out["category"] = _from_text(data.get("category"), "category", keep_unknown=actor_role == Role.PARTNER)
    if out["category"] is None:
        out.pop("category")
    return out


def normalize_params(params: Any) -> Any:
    """An action's ``category`` (acceptance re-classifies) or ``category_code`` as an active code."""
    if not isinstance(params, dict) or ("category" not in params and "category_code" not in params):
        return params
    out = {k: v for k, v in params.items() if k != "category_code"}
    if params.get("category_code") is not None:
        out["category"] = check_code(params["category_code"])
    elif params.get("category") is not None:
        out["category"] = _from_text(params["category"], "category", keep_unknown=False)
    if out.get("category") is None:
        out.pop("category", None)
    return out


def view(value: str | None) -> dict[str, Any]:
    """How a stored category is shown: its code (None for old free text that maps to none), its path
    and a label."""
    current = tree()
    code = current.resolve(value)
    return {"category_code": code, "category_path": current.path(code) if code else [],
            "category_label": current.label(value)}


def matches(template_category: str | None, ticket_category: str | None) -> bool:
    """A reply template linked to a category fits a ticket in that category or under it; one linked
    to none fits every ticket."""
    if not template_category:
        return True
    code = tree().resolve(ticket_category)
    return code is not None and tree().descends(code, template_category)
