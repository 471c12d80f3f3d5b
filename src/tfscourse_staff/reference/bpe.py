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
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

# GPT-2's pattern is  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
# With ``re``: [^\W\d_] is "a word character that is neither a decimal digit nor _", i.e. the
# letters (plus rare non-decimal numerals such as "²" or "½", which GPT-2 counts as numbers);
# \d stands for \p{N} (decimal digits only); (?:_|[^\s\w]) is everything else that is not
# whitespace. Every character falls in exactly one class, so the chunks always cover the text.
SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:_|[^\s\w])+|\s+(?!\S)|\s+"""
_SPLIT = re.compile(SPLIT_PATTERN)

Pair = tuple[int, int]


def split_chunks(text: str) -> list[str]:
    """Pre-tokenize: the chunks of ``text`` (their concatenation is ``text``).

    Example: split_chunks("Hello world's  end!") -> ['Hello', ' world', "'s", ' ', ' end', '!']
    """
    return _SPLIT.findall(text)


def chunk_counts(text: str) -> Counter:
    """How often each chunk occurs, as byte strings. Example: "ab ab" -> {b'ab': 1, b' ab': 1}."""
    return Counter(chunk.encode("utf-8") for chunk in split_chunks(text))


def merge_ids(ids: list[int], pair: Pair, new_id: int) -> list[int]:
    """Replace every occurrence of ``pair`` (left to right, no overlaps) by ``new_id``.

    Example: merge_ids([5, 5, 5, 6], (5, 5), 256) -> [256, 5, 6]
    """
    out, i, n = [], 0, len(ids)
    while i < n:
        if i + 1 < n and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


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


def learn_merges_naive(
    counts: dict[bytes, int],
    num_merges: int,
    first_id: int = 256,
    on_merge: Callable[[int], None] | None = None,
) -> list[Pair]:
    """The same merges as ``learn_merges``, recounting every pair of every word after each merge.

    ``on_merge(k)`` is called after the k-th merge (used to time the trainer as it goes).
    """
    words = [list(chunk) for chunk in counts]
    freqs = list(counts.values())
    merges: list[Pair] = []
    while len(merges) < num_merges:
        pair_count: dict[Pair, int] = defaultdict(int)
        for ids, f in zip(words, freqs, strict=False):
            for pair in zip(ids, ids[1:], strict=False):
                pair_count[pair] += f
        if not pair_count:
            break
        best = min(pair_count, key=lambda p: (-pair_count[p], p))
        if pair_count[best] < 2:
            break
        new_id = first_id + len(merges)
        merges.append(best)
        words = [merge_ids(ids, best, new_id) for ids in words]  # rewrite every word
        if on_merge is not None:
            on_merge(len(merges))
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

    def token_bytes(self, ids: Iterable[int]) -> list[bytes]:
        """The bytes of each token, e.g. to display a segmentation."""
        return [self.vocab[i] for i in ids]

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


def time_call(fn: Callable, *args, **kwargs) -> tuple[float, object]:
    """(seconds, result) of one call, measured with ``time.perf_counter``."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result
