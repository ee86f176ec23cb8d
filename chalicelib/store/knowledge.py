"""Knowledge articles in the single table: current entry, every version, and an inverted index.

| item | PK | SK |
| --- | --- | --- |
| article (current) | ``KB`` | ``<article id>`` |
| article version | ``KBV#<article id>`` | ``<version, 6 digits>`` |
| index term | ``KBT#<term>`` | ``<article id>`` (``data.w`` = weight) |

All three are :class:`DirectoryItem` rows. Saving an article is one transaction: the current entry
(conditional on the version read), the new version (conditional on absence), the term items it
gains and the deletion of those it loses, so the index never disagrees with the articles. A search
reads one term partition per term (Query) and the best articles by BatchGet: nothing scans.
"""
from __future__ import annotations

from typing import Any, Iterable

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import ConcurrentModification
from chalicelib.store import directory
from chalicelib.store.models import DirectoryItem

ARTICLES = "KB"
#: Readers of one term partition stop after this many articles (a term in more says little).
MAX_POSTINGS = 200


def version_pk(article_id: str) -> str:
    return f"KBV#{article_id}"


def term_pk(term: str) -> str:
    return f"KBT#{term}"


def get(article_id: str) -> dict[str, Any] | None:
    """The current article with its ``_version``, or None."""
    return directory.find_entry(ARTICLES, article_id)


def list_all() -> list[dict[str, Any]]:
    """Every article (current versions), one paginated Query of the ``KB`` partition."""
    return directory.list_entries(ARTICLES)


def save(article: dict[str, Any], *, expected_version: int, old_terms: Iterable[str],
         new_terms: dict[str, int]) -> int:
    """Write the article as version ``expected_version + 1`` with its term items; 409 if it changed."""
    article_id = article["id"]
    version = expected_version + 1
    clean = {k: v for k, v in article.items() if k != "_version"}
    connection = DirectoryItem._get_connection().connection
    condition = DirectoryItem.version == expected_version if expected_version > 0 else DirectoryItem.PK.does_not_exist()
    try:
        with TransactWrite(connection=connection) as tx:
            tx.save(DirectoryItem(ARTICLES, article_id, data=clean, version=version), condition=condition)
            tx.save(DirectoryItem(version_pk(article_id), f"{version:06d}", data=clean, version=version),
                    condition=DirectoryItem.PK.does_not_exist())
            for term in set(old_terms) - set(new_terms):
                tx.delete(DirectoryItem(term_pk(term), article_id))
            for term, weight in new_terms.items():
                tx.save(DirectoryItem(term_pk(term), article_id, data={"w": weight}, version=version))
    except TransactWriteError as exc:
        reasons = [r.code if r else None for r in (exc.cancellation_reasons or [])]
        if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
            raise ConcurrentModification(f"article {article_id} was changed by someone else: reload and try again",
                                         details={"expected_version": expected_version}) from None
        raise
    return version


def versions(article_id: str) -> list[dict[str, Any]]:
    """Every stored version of an article, newest first."""
    return [{**i.data.as_dict(), "_version": int(i.version)}
            for i in DirectoryItem.query(version_pk(article_id), scan_index_forward=False)]


def version(article_id: str, number: int) -> dict[str, Any] | None:
    """One stored version, or None."""
    for item in DirectoryItem.query(version_pk(article_id), DirectoryItem.SK == f"{number:06d}"):
        return {**item.data.as_dict(), "_version": int(item.version)}
    return None


def postings(term: str) -> dict[str, int]:
    """Article id -> weight for one term (one Query, at most ``MAX_POSTINGS`` rows)."""
    return {item.SK: int(item.data.as_dict().get("w", 1))
            for item in DirectoryItem.query(term_pk(term), limit=MAX_POSTINGS)}


def get_many(article_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Current articles by id (BatchGetItem); missing ids are left out."""
    if not article_ids:
        return {}
    return {item.SK: {**item.data.as_dict(), "_version": int(item.version)}
            for item in DirectoryItem.batch_get([(ARTICLES, i) for i in article_ids])}
