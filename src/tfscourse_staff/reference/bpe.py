"""A byte-level BPE tokenizer in the style of GPT-2: the course's reference implementation.

Notebook 03 has students build the same thing, so this module is staff-side and never
published; the benchmark (``benchmarks/bench_bpe.py``) and the hidden speed test of
notebook 03 (its naive baseline) use it.

* Base vocabulary: the 256 byte values, so every string can be encoded and
  ``decode(encode(s)) == s`` holds for every Unicode string.
* Pre-tokenizer: ``SPLIT_PATTERN``, GPT-2's regular expression rewritten for Python's
  ``re`` (which has no ``\\p{L}``): contractions, runs of letters, runs of digits, runs
  of other symbols (each optionally preceded by one space), and whitespace. Merges never
  cross the boundary between two chunks.
* Training: count the chunks once, then repeat "merge the most frequent adjacent pair of
  ids into a new id". Tie-break: among pairs with the same count, the smallest
  ``(left id, right id)``. Training stops early when no pair occurs at least twice.
  ``learn_merges`` updates only the counts a merge touches;
  ``learn_merges_naive`` recounts every pair after every merge. Both give the same merges.
* Encoding: within a chunk, repeatedly merge the adjacent pair with the earliest merge
  (lowest new id), every occurrence left to right, until no learned pair is left.

Example:
    >>> tok = ByteLevelBPE().train("low lower lowest low low", vocab_size=260)
    >>> tok.decode(tok.encode("lowest 🙂")) == "lowest 🙂"
    True
    >>> len(tok.merges)
    4
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from tfscourse.bpe_baseline import (
    SPLIT_PATTERN,
    Pair,
    chunk_counts,
    learn_merges_naive,
    merge_ids,
    split_chunks,
)


def learn_merges(counts: dict[bytes, int], num_merges: int, first_id: int = 256) -> list[Pair]:
    """Learn up to ``num_merges`` merges from chunk counts, updating pair counts incrementally.

    ``where`` maps each pair to the words that (may) contain it, so a merge only rewrites
    those words: their old pairs are subtracted, their new pairs added. Finding the best
    pair is a scan of the counts at C speed (``max`` of the values, then the smallest pair
    with that count). Returns the merged pairs in order; merge ``k`` creates id ``first_id + k``.

    Example: learn_merges({b"abab": 2}, 5) -> [(97, 98), (256, 256)]
    """
    words = [list(chunk) for chunk in counts]
    freqs = list(counts.values())
    stats: dict[Pair, int] = {}
    where: dict[Pair, set[int]] = defaultdict(set)
    for w, (ids, f) in enumerate(zip(words, freqs, strict=False)):
        for pair in zip(ids, ids[1:], strict=False):
            stats[pair] = stats.get(pair, 0) + f
            where[pair].add(w)
    merges: list[Pair] = []
    while len(merges) < num_merges and stats:
        top = max(stats.values())
        if top < 2:
            break  # no pair occurs twice any more
        best = min(pair for pair, c in stats.items() if c == top)  # tie-break: smallest pair
        new_id = first_id + len(merges)
        merges.append(best)
        for w in where.pop(best):
            old = words[w]
            new = merge_ids(old, best, new_id)
            if len(new) == len(old):
                continue  # an out-of-date entry of ``where``: the pair is gone from this word
            f = freqs[w]
            for pair in zip(old, old[1:], strict=False):
                stats[pair] -= f
                if stats[pair] == 0:
                    del stats[pair]
            for pair in zip(new, new[1:], strict=False):
                stats[pair] = stats.get(pair, 0) + f
                where[pair].add(w)
            words[w] = new
    return merges


class ByteLevelBPE:
    """Byte-level BPE tokenizer: ``train``, ``encode``, ``decode``, ``save`` and ``load``.

    Attributes:
        merges: dict (left id, right id) -> new id, in the order learned (new ids 256, 257, ...).
        vocab: dict id -> the bytes it stands for.

    Example:
        >>> tok = ByteLevelBPE().train("aaab aaab", vocab_size=258)
        >>> tok.merges
        {(97, 97): 256, (97, 98): 257}
        >>> tok.encode("aaab")
        [256, 257]
    """

    def __init__(self, merges: Iterable[Pair] = ()):
        self.merges: dict[Pair, int] = {}
        self.vocab: dict[int, bytes] = {i: bytes([i]) for i in range(256)}
        self._cache: dict[bytes, list[int]] = {}
        for pair in merges:
            self._add_merge(tuple(pair))

    def _add_merge(self, pair: Pair) -> None:
        new_id = 256 + len(self.merges)
        self.merges[pair] = new_id
        self.vocab[new_id] = self.vocab[pair[0]] + self.vocab[pair[1]]

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def train(self, text: str, vocab_size: int, naive: bool = False) -> ByteLevelBPE:
        """Learn ``vocab_size - 256`` merges from ``text`` (fewer if no pair occurs twice); returns self."""
        if vocab_size < 256:
            raise ValueError(f"vocab_size must be at least 256 (the bytes), got {vocab_size}")
        learn = learn_merges_naive if naive else learn_merges
        self.__init__(learn(chunk_counts(text), vocab_size - 256))
        return self

    def _encode_chunk(self, chunk: bytes) -> list[int]:
        cached = self._cache.get(chunk)
        if cached is not None:
            return cached
        ids = list(chunk)
        while len(ids) > 1:
            ranked = [(self.merges[p], p) for p in zip(ids, ids[1:], strict=False) if p in self.merges]
            if not ranked:
                break
            new_id, pair = min(ranked)
            ids = merge_ids(ids, pair, new_id)
        if len(self._cache) < 100_000:
            self._cache[chunk] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``. Example: ByteLevelBPE().encode("hi") -> [104, 105]."""
        ids: list[int] = []
        for chunk in split_chunks(text):
            ids.extend(self._encode_chunk(chunk.encode("utf-8")))
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``; byte sequences that are not valid UTF-8 become U+FFFD."""
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")

    def save(self, path: str | Path) -> None:
        """Write the merges to a JSON file (the vocabulary follows from them)."""
        data = {"format": "tfscourse-byte-bpe", "version": 1, "pattern": SPLIT_PATTERN,
                "merges": [list(pair) for pair in self.merges]}
        Path(path).write_text(json.dumps(data), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> ByteLevelBPE:
        """Read a tokenizer written by ``save``."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != "tfscourse-byte-bpe" or data.get("pattern") != SPLIT_PATTERN:
            raise ValueError(f"{path} is not a tokenizer saved by tfscourse_staff.reference.bpe.ByteLevelBPE")
        return cls(tuple(pair) for pair in data["merges"])


