"""Reference code that several hidden test blocks share, written once and injected by the build.

A hidden block must be self-contained (the judge runs each test cell on its own, and nbgrader runs it
after the student's code), so a reference that several blocks need used to be pasted into each of
them. Instead, a block now just calls it: ``hidden_helpers.prelude(block)`` copies into the block
the source of every function below whose name the block uses, with the functions those call in
turn, in this module's order. A block that uses none of the names gets nothing, so notebooks that do
not use them build exactly as before.

Rules for what lives here:

* every name starts with a prefix that belongs to one notebook (``_bpe_`` for 03_bpe), so that no
  other notebook's block matches it by accident;
* functions only, each importing what it needs inside its body, so that the copied source runs
  in any namespace; no comparison helper (``_close`` comes from ``hidden_helpers``);
* names of the student's functions (``learn_bpe``, ``merge_pair``, ...) are looked up where the block
  runs: in nbgrader's kernel they are the student's own, in the judge they are proxies of them.
"""
# ruff: noqa: F821 - the student's names (word_frequencies, learn_bpe, ...) belong to the notebook

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

# ---- 03_bpe: word-level BPE ----------------------------------------------------------------


def _bpe_ref_pair_counts(vocab):
    """Adjacent pairs of symbols, each weighted by the count of its word."""
    out = {}
    for word, freq in vocab.items():
        for i in range(len(word) - 1):
            out[(word[i], word[i + 1])] = out.get((word[i], word[i + 1]), 0) + freq
    return out


def _bpe_ref_merge_word(vocab, pair, new):
    """Each non-overlapping occurrence of ``pair`` (left to right) replaced by ``new``; counts of equal words added."""
    out = {}
    for word, freq in vocab.items():
        syms, i = [], 0
        while i < len(word):
            if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
                syms.append(new)
                i += 2
            else:
                syms.append(word[i])
                i += 1
        out[tuple(syms)] = out.get(tuple(syms), 0) + freq
    return out


def _bpe_merge_loop(vocab, count_pairs, merge, max_merges=None):
    """Greedy merges of ``vocab`` with the given pair counter and merger: the most frequent pair first, ties to
    the smaller pair, stop when no pair occurs twice (or after ``max_merges``)."""
    merges = []
    while max_merges is None or len(merges) < max_merges:
        counts = dict(count_pairs(vocab))
        if not counts:
            break
        best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        if counts[best] < 2:
            break
        merges.append((best, best[0] + best[1]))
        vocab = dict(merge(vocab, best, best[0] + best[1]))
    return merges


def _bpe_ref_learn(text, eow):
    """The merges of ``text`` (whitespace-separated words ending with ``eow``): ties to the smaller pair,
    stop when no pair occurs twice."""
    vocab = {}
    for w in text.split():
        vocab[tuple(w) + (eow,)] = vocab.get(tuple(w) + (eow,), 0) + 1
    return _bpe_merge_loop(vocab, _bpe_ref_pair_counts, _bpe_ref_merge_word)


def _bpe_ref_learn_with_yours(text, eow):
    """The reference loop built on the student's word_frequencies, pair_counts and merge_pair."""
    vocab = {}
    for w, f in dict(word_frequencies(text)).items():
        vocab[tuple(w) + (eow,)] = vocab.get(tuple(w) + (eow,), 0) + f
    return _bpe_merge_loop(vocab, pair_counts, merge_pair, max_merges=500)


def _bpe_check_learn(text, eow, what):
    """learn_bpe(text) must match the reference, or the reference built on the student's own helpers
    (a bug inherited from them costs the points of the helper's test, not learn_bpe's)."""
    got = learn_bpe(text, end_of_word=eow) if eow != "</w>" else learn_bpe(text)
    ok = isinstance(got, list) and [tuple(m) for m in got] == _bpe_ref_learn(text, eow)
    if not ok and isinstance(got, list):
        try:
            ok = [tuple(m) for m in got] == _bpe_ref_learn_with_yours(text, eow)
        except Exception:  # the student's helpers crash: only the reference counts
            ok = False
    assert ok, what


def _bpe_ref_encode_word(word, merges, eow):
    """The symbols of ``word`` plus ``eow`` after applying ``merges`` (a list of (pair, new)) in order."""
    symbols = {tuple(word) + (eow,): 1}
    for pair, new in merges:
        symbols = _bpe_ref_merge_word(symbols, pair, new)
    return list(next(iter(symbols)))


# ---- 03_bpe: byte-level BPE -----------------------------------------------------------------


def _bpe_split(text):
    """The chunks of ``text`` by the notebook's GPT-2 style pre-tokenizer pattern."""
    import re

    return re.findall(r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:_|[^\s\w])+|\s+(?!\S)|\s+""", text)


def _bpe_merge_ids(ids, pair, new):
    """Each non-overlapping occurrence of ``pair`` in the list ``ids`` (left to right) replaced by ``new``."""
    out, just_merged = [], False
    for left, right in zip(ids, [*ids[1:], None]):
        if just_merged:  # ``left`` is the second half of the pair merged one step ago
            just_merged = False
        elif (left, right) == tuple(pair):
            out.append(new)
            just_merged = True
        else:
            out.append(left)
    return out


def _bpe_ref_train(text, vocab_size):
    """The pairs a byte-level BPE learns on ``text`` (merge k makes id 256 + k), recounting after each merge."""
    counts = {}
    for chunk in _bpe_split(text):
        counts[chunk.encode("utf-8")] = counts.get(chunk.encode("utf-8"), 0) + 1
    words, freqs = [list(c) for c in counts], list(counts.values())
    merges = []
    while 256 + len(merges) < vocab_size:
        stats = {}
        for ids, f in zip(words, freqs):
            for p in zip(ids, ids[1:]):
                stats[p] = stats.get(p, 0) + f
        if not stats:
            break
        best = sorted(stats.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        if stats[best] < 2:
            break
        merges.append(best)
        words = [_bpe_merge_ids(ids, best, 255 + len(merges)) for ids in words]
    return merges


def _bpe_ref_encode(text, merges):
    """The ids of ``text`` with ``merges`` (dict pair -> id): per chunk, the pair with the smallest id first."""
    out = []
    for chunk in _bpe_split(text):
        ids = list(chunk.encode("utf-8"))
        while True:
            ranked = [(merges[p], p) for p in zip(ids, ids[1:]) if p in merges]
            if not ranked:
                break
            new, pair = min(ranked)
            ids = _bpe_merge_ids(ids, pair, new)
        out.extend(ids)
    return out


# ---- what the build injects ----------------------------------------------------------------

PREFIXES = ("_bpe_",)


@cache
def _definitions() -> tuple[tuple[str, str], ...]:
    """(name, source) of each function above, in the module's order."""
    text = Path(__file__).read_text(encoding="utf-8")
    return tuple(
        (node.name, ast.get_source_segment(text, node))
        for node in ast.parse(text).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith(PREFIXES)
    )


def _uses(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text) is not None


def names_used(block: str) -> list[str]:
    """The functions ``block`` needs: those it names, and those they name in turn (module order)."""
    sources = dict(_definitions())
    needed: set[str] = set()
    todo = [name for name in sources if _uses(block, name)]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(other for other in sources if other not in needed and _uses(sources[name], other))
    return [name for name in sources if name in needed]


def source_for(block: str) -> str:
    """The source the build puts into ``block``: each function it needs, two blank lines apart ("" if none)."""
    sources = dict(_definitions())
    return "\n\n\n".join(sources[name] for name in names_used(block))
