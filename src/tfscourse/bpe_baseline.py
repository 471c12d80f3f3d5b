"""The baseline that notebook 03's fast BPE trainer must beat, and the pieces both share.

Notebook 03's locked cells show students the pre-tokenizer (``SPLIT_PATTERN``) and
``merge_ids``; its speed test times the student's ``ByteLevelBPE.train`` against
``learn_merges_naive``, which recounts every pair of every word after each merge. The
exercise is the incremental trainer, so this slow one is handed out. A graded answer may
not call it: the grading scan (``tfscourse_staff.grading.tamper``) gives no points to a
graded cell whose answer uses this module.

Example:
    >>> learn_merges_naive(chunk_counts("abab abab"), 5)
    [(97, 98), (256, 256)]
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable

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
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


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
