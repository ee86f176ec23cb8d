"""Index terms of knowledge articles and of the text an agent types, by jieba segmentation.

The only module of the knowledge base that loads jieba (0.9 s for its dictionary, once per
process, on the first call): article writes and searches come here, listing and reading do not.
The segmenter is the dispatch model's (:class:`chalicelib.dispatch.segment.Segmenter`) with the
field's user dictionary, so 预付卡, 物业费, 占道经营 stay whole words on both sides. See
docs/decisions/0009-knowledge-search.md.
"""
from __future__ import annotations

import threading
from collections import Counter
from typing import Any, Iterable

#: Most terms an article is indexed under (its term items are written in the article's transaction).
MAX_ARTICLE_TERMS = 40
#: Most terms of a search text looked up (one Query each).
MAX_QUERY_TERMS = 12
MAX_TERM_LENGTH = 20
TITLE_WEIGHT = 3
KEYWORD_WEIGHT = 3
CATEGORY_WEIGHT = 2
BODY_WEIGHT = 1
#: Function words and hotline boilerplate that match everything and mean nothing.
STOPWORDS = frozenset(
    "我们 你们 他们 她们 什么 怎么 怎样 如何 为什么 哪里 是否 可以 可能 应该 需要 没有 已经 还是 就是 但是 因为 所以 "
    "如果 这个 那个 这些 那些 一个 一些 进行 相关 有关 问题 情况 反映 请问 您好 你好 谢谢 要求 希望 目前 现在 当时 "
    "之后 以后 以前 然后 并且 而且 或者 以及 对于 关于 通过 根据 按照 其中 一下 一直 不能 不会 不是 还有 时候 今天 "
    "昨天 明天 市民 来电 表示 称 诉求".split())

_lock = threading.Lock()
_segmenter: Any = None


def _cut(text: str) -> list[str]:
    global _segmenter
    with _lock:
        if _segmenter is None:
            from chalicelib.dispatch.segment import Segmenter, read_userdict  # jieba loads here

            _segmenter = Segmenter(read_userdict())
    return _segmenter.cut(text)


def terms_of(text: str) -> list[str]:
    """Meaningful terms of ``text`` in order of appearance (repeats kept): normalized jieba words of
    at least two characters, without stop words and numbers ("3000元", "12月")."""
    from chalicelib.dispatch.textproc import is_word_token, normalize

    out = []
    for token in _cut(normalize(text)):
        token = token.strip()
        if (2 <= len(token) <= MAX_TERM_LENGTH and is_word_token(token) and token not in STOPWORDS
                and "0" not in token):  # normalize() made every number a 0: "0元", "0月" say nothing
            out.append(token)
    return out


def article_terms(*, title: str, body: str, keywords: Iterable[str] = (),
                  categories: Iterable[str] = ()) -> dict[str, int]:
    """The terms an article is found by, with weights: title and keywords count three times a body
    word, categories twice; the ``MAX_ARTICLE_TERMS`` heaviest (ties: first seen) are kept."""
    weights: Counter[str] = Counter()
    for text, weight in ((title, TITLE_WEIGHT), (" ".join(keywords), KEYWORD_WEIGHT),
                         (" ".join(categories), CATEGORY_WEIGHT), (body, BODY_WEIGHT)):
        for term in terms_of(text):
            weights[term] += weight
    ranked = sorted(weights.items(), key=lambda kv: -kv[1])  # stable: first seen wins a tie
    return dict(ranked[:MAX_ARTICLE_TERMS])


def query_terms(text: str) -> list[str]:
    """The distinct terms of a search text to look up, the longest first (they say the most)."""
    distinct = list(dict.fromkeys(terms_of(text)))
    return sorted(distinct, key=len, reverse=True)[:MAX_QUERY_TERMS]
