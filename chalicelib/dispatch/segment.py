"""jieba word segmentation with the dispatch user dictionary, loaded lazily.

jieba is imported the first time a :class:`Segmenter` is built, never at module import. Its
models carry their own (trimmed) main dictionary, built in memory in a quarter of a second;
only a segmenter on jieba's full default dictionary uses its cache file, from
``DISPATCH_JIEBA_CACHE`` when set (the Lambda layer ships a prebuilt one under /opt).
"""
from __future__ import annotations

import hashlib
import importlib.util
import io
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from ..config import dispatch_jieba_cache
from .paths import data_dir

USERDICT = data_dir() / "dispatch" / "userdict.txt"
LAYER_CACHE = Path("/opt/dispatch/jieba.cache")

#: Frequency given to user words: high enough that jieba keeps them whole.
USER_WORD_FREQ = 2000


def read_userdict(path: str | os.PathLike[str] = USERDICT) -> list[str]:
    """Words of a user dictionary file (``#`` comments and blank lines skipped)."""
    words: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line and not line.startswith("#"):
                words.append(line.split()[0])
    return words


def build_user_words(extra: Iterable[str] = ()) -> list[str]:
    """The user dictionary of a new model: field terms, gazetteer names, duty phrases."""
    from .jurisdiction import default_gazetteer
    from .taxonomy import departments

    words = read_userdict()
    words += default_gazetteer().names
    for dept in departments():
        words += list(dept.phrases) + [dept.name]
    words += list(extra)
    seen: set[str] = set()
    out: list[str] = []
    for w in words:
        w = w.strip().lower()
        if len(w) >= 2 and w not in seen:
            seen.add(w)
            out.append(w)
    return out


def _cache_file() -> str | None:
    env = dispatch_jieba_cache()
    if env:
        return env
    if LAYER_CACHE.exists():
        return str(LAYER_CACHE)
    return None


def jieba_dictionary_path() -> Path:
    """jieba's own main dictionary file, found without importing jieba."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("jieba is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "dict.txt"


def trimmed_dictionary(size: int) -> bytes:
    """jieba's main dictionary cut to its ``size`` most frequent words (file order kept).

    The full dictionary (349k words) takes about a second to load; the most frequent 60k
    words load in a quarter of that, and the field's own terms come back as user words.
    Ties at the cut are broken by file order, so the result is deterministic.
    """
    lines = jieba_dictionary_path().read_bytes().splitlines(keepends=True)
    freqs = [int(line.split(b" ")[1]) for line in lines]
    keep = sorted(range(len(lines)), key=lambda i: (-freqs[i], i))[:size]
    return b"".join(lines[i] for i in sorted(keep))


def _fast_tokenizer_class(jieba_module):  # noqa: ANN001, ANN202 (jieba is imported lazily)
    """A ``jieba.Tokenizer`` whose two hot loops are tightened, with identical results.

    ``get_DAG`` does one dictionary lookup per fragment instead of two, and ``calc`` memoizes
    ``log(freq)`` per word and avoids a generator per character. Word boundaries, ties
    included, are exactly jieba's (``tests/dispatch`` compares them on the whole corpus).
    Words must not be added after the first cut (the memo would go stale); :class:`Segmenter`
    adds its user words before.
    """
    from math import log

    class FastTokenizer(jieba_module.Tokenizer):
        def get_DAG(self, sentence: str) -> dict[int, list[int]]:
            freq = self.FREQ
            n = len(sentence)
            dag: dict[int, list[int]] = {}
            for k in range(n):
                ends = []
                i = k
                frag = sentence[k]
                while True:
                    f = freq.get(frag)
                    if f is None:
                        break
                    if f:
                        ends.append(i)
                    i += 1
                    if i >= n:
                        break
                    frag = sentence[k:i + 1]
                dag[k] = ends or [k]
            return dag

        def calc(self, sentence: str, DAG: dict[int, list[int]], route: dict) -> None:  # noqa: N803
            memo = self.__dict__.setdefault("_logfreq", {})
            freq_get = self.FREQ.get
            logtotal = log(self.total)
            n = len(sentence)
            route[n] = (0, 0)
            for idx in range(n - 1, -1, -1):
                best = None
                for x in DAG[idx]:
                    word = sentence[idx:x + 1]
                    lf = memo.get(word)
                    if lf is None:
                        lf = memo[word] = log(freq_get(word) or 1)
                    cand = (lf - logtotal + route[x + 1][0], x)
                    if best is None or cand > best:
                        best = cand
                route[idx] = best

    return FastTokenizer


class Segmenter:
    """A jieba tokenizer with the model's own dictionary and user words.

    ``dictionary`` is the main dictionary's bytes (jieba's ``dict.txt`` format) carried in the
    model artifact, so a model segments exactly as it did in training whatever jieba version
    is installed; ``None`` uses jieba's full default dictionary (with its cache file).
    """

    def __init__(self, user_words: Iterable[str], dictionary: bytes | None = None) -> None:
        import jieba  # lazy: only a process that segments pays for it

        jieba.setLogLevel(logging.WARNING)
        self.user_words = list(user_words)
        self.dictionary = dictionary
        tok = _fast_tokenizer_class(jieba)()
        if dictionary is not None:
            # Build the prefix dictionary straight from memory: no temp file, no cache.
            tok.FREQ, tok.total = tok.gen_pfdict(io.BytesIO(dictionary))
            tok.initialized = True
        else:
            cache = _cache_file()
            if cache:
                tok.cache_file = cache
            tok.initialize()
        for w in self.user_words:
            tok.add_word(w, freq=USER_WORD_FREQ)
        self._tok = tok

    def cut(self, text: str, hmm: bool = False) -> list[str]:
        """Tokens of ``text``; ``hmm`` turns on jieba's HMM guess of unknown words."""
        return self._tok.lcut(text, HMM=hmm)

    @property
    def fingerprint(self) -> str:
        """A short hash of the dictionary and user words (recorded in the model's metadata)."""
        h = hashlib.sha256(self.dictionary or b"jieba-default")
        h.update("\n".join(self.user_words).encode("utf-8"))
        return h.hexdigest()[:16]
