# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # 03 · Byte-pair encoding: from a toy corpus to a fast byte-level tokenizer
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transformers-from-scratch/course-notebooks/blob/main/release/03_bpe/bpe.ipynb)
#
# **Learning goals.** After this notebook you can
# 1. run byte-pair encoding (BPE) by hand: word frequencies, pair counts weighted by those frequencies,
#    merges, and a stated rule for ties;
# 2. encode a word that was not in the training text with a list of learned merges, in merge order;
# 3. build a GPT-2 style **byte-level** tokenizer (bytes as the base vocabulary, a regular-expression
#    pre-tokenizer) for which `decode(encode(s)) == s` holds for every Unicode string;
# 4. make BPE training fast by updating only the pair counts a merge touches, and measure the speed-up;
# 5. compare your tokenizer with the Hugging Face `tokenizers` library;
# 6. give a tokenizer special tokens such as GPT-2's `<|endoftext|>`, which are never split or merged,
#    and answer the tokenizer questions of the quiz.
#
# **How to work.** Fill in every cell that says `raise NotImplementedError()` and every answer cell
# marked *YOUR ANSWER HERE*. Run the test cell under each answer: it checks small examples and tells you
# what it expected. More (hidden) checks run when your notebook is graded, so test your functions on
# your own inputs too. Do not delete, copy or retype the locked cells.
#
# **Running time and hardware.** About 10-20 seconds from top to bottom on a laptop CPU (most of it is the
# deliberately slow trainer of section 7); no GPU needed.
# The corpus is the Python language reference that ships with every Python installation, so nothing is
# downloaded. Works in JupyterLab and on Google Colab (the first cell installs the course package there).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Setup (locked). Installs the course helper package if it is missing (e.g. on Colab).
import importlib
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("tfscourse") is None:
    _source = os.environ.get("TFSCOURSE_PACKAGE_SOURCE", "git+https://github.com/transformers-from-scratch/course-notebooks.git")
    print(f"Installing the course package from {_source} ...")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", _source], check=True)
    importlib.invalidate_caches()

import tfscourse

tfscourse.setup()


# %% [markdown] nbgrader={"grade": false, "grade_id": "words_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1 · BPE by hand: words and their frequencies
#
# BPE starts from characters and learns, one at a time, which adjacent pair of symbols to glue into a
# new symbol. It never looks across word boundaries, so the first step turns the corpus into a table of
# distinct words and how often each occurs. Our toy corpus (from the exercise sheet) is
#
# <center><code>abbc abb abc abb</code></center>
#
# Write `word_frequencies(text)`: split the text on **any** whitespace (spaces, tabs, newlines, runs of
# them) and return a `dict` from each word to its count. Punctuation stays part of the word; nothing is
# lower-cased.

# %% nbgrader={"grade": false, "grade_id": "word_frequencies", "locked": false, "schema_version": 3, "solution": true, "task": false}
def word_frequencies(text):
    """Map each whitespace-separated word of `text` to how often it occurs.

    Example: word_frequencies("abbc abb abc abb") -> {"abbc": 1, "abb": 2, "abc": 1}
    """
    ### BEGIN SOLUTION
    freqs = {}
    for word in text.split():
        freqs[word] = freqs.get(word, 0) + 1
    return freqs
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_word_frequencies", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the word counts of the toy corpus and of a text with mixed whitespace."""
got = word_frequencies("abbc abb abc abb")
assert dict(got) == {"abbc": 1, "abb": 2, "abc": 1}, f"expected {{'abbc': 1, 'abb': 2, 'abc': 1}}, got {got}"
got = word_frequencies("to be\tor  not\nto be")
assert dict(got) == {"to": 2, "be": 2, "or": 1, "not": 1}, f"tabs, newlines and double spaces separate words too; got {got}"
got = word_frequencies("Hi, hi. Hi,")
assert dict(got) == {"Hi,": 2, "hi.": 1}, (
    f"punctuation stays part of the word and nothing is lower-cased: expected {{'Hi,': 2, 'hi.': 1}}, got {got}")
### BEGIN HIDDEN TESTS
import random

_rng = random.Random(3)
_texts = ["", "   \n\t ", "one", "A a A, a.", "naïve café 日本 日本 🙂🙂 🙂"]
for _ in range(5):
    _words = ["".join(_rng.choice("abcXY,.é") for _ in range(_rng.randint(1, 4))) for _ in range(40)]
    _texts.append("".join(w + _rng.choice([" ", "  ", "\n", "\t", " \n "]) for w in _words))
for _text in _texts:
    _got = word_frequencies(_text)
    _want = {}
    for _w in _text.split():
        _want[_w] = _want.get(_w, 0) + 1
    assert isinstance(_got, dict) and dict(_got) == _want, f"wrong word counts for {_text[:40]!r}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "pairs_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2 · Pair counts, weighted by word frequency
#
# From now on a word is a **tuple of symbols** and the corpus a `dict` from such tuples to counts. To mark
# where a word ends, the exercise sheet appends an end-of-word symbol; we write it `"</w>"`. The toy
# corpus becomes
#
# | word | count |
# |---|---|
# | `a b b c </w>` | 1 |
# | `a b b </w>` | 2 |
# | `a b c </w>` | 1 |
#
# Write `pair_counts(vocab)`: for every pair of **adjacent** symbols inside a word, add the word's count
# (a pair that occurs twice in one word counts twice). On the toy corpus, `(a, b)` occurs once in each
# of the three words, and those words occur 1 + 2 + 1 times, so its count is 4.

# %% nbgrader={"grade": false, "grade_id": "pair_counts", "locked": false, "schema_version": 3, "solution": true, "task": false}
def pair_counts(vocab):
    """Count adjacent symbol pairs, each occurrence weighted by the count of its word.

    vocab: dict tuple of symbols -> count. Returns dict (left, right) -> count.
    Example: pair_counts({("a", "b", "b"): 2}) -> {("a", "b"): 2, ("b", "b"): 2}
    """
    ### BEGIN SOLUTION
    counts = {}
    for word, freq in vocab.items():
        for pair in zip(word, word[1:]):
            counts[pair] = counts.get(pair, 0) + freq
    return counts
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_pair_counts", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the pair counts of the toy corpus."""
toy_vocab_check = {("a", "b", "b", "c", "</w>"): 1, ("a", "b", "b", "</w>"): 2, ("a", "b", "c", "</w>"): 1}
got = pair_counts(toy_vocab_check)
want = {("a", "b"): 4, ("b", "b"): 3, ("b", "c"): 2, ("c", "</w>"): 2, ("b", "</w>"): 2}
for pair, count in want.items():
    assert got.get(pair) == count, f"pair {pair}: expected {count} (weighted by word counts), got {got.get(pair)}"
assert dict(got) == want, f"expected exactly the pairs {want}, got {got}"
got = pair_counts({("a", "b", "a", "b", "</w>"): 3})
assert dict(got) == {("a", "b"): 6, ("b", "a"): 3, ("b", "</w>"): 3}, (
    f"(a, b) occurs twice in a b a b </w>, a word seen 3 times, so its count is 2 * 3 = 6; got {got}")
### BEGIN HIDDEN TESTS
import random

_rng = random.Random(5)
_vocabs = [{}, {("a",): 7}, {("a", "a", "a", "a"): 3}, {("ab", "ab", "</w>"): 2, ("a", "b", "a", "b", "</w>"): 5}]
for _ in range(6):
    _v = {}
    for _ in range(_rng.randint(1, 30)):
        _w = tuple(_rng.choice(["a", "b", "c", "ab", "</w>"]) for _ in range(_rng.randint(1, 6)))
        _v[_w] = _rng.randint(1, 9)
    _vocabs.append(_v)
for _v in _vocabs:
    _copy = dict(_v)
    _got = pair_counts(_copy)
    _want = _bpe_ref_pair_counts(_v)
    assert isinstance(_got, dict) and dict(_got) == _want, f"wrong pair counts for {list(_v.items())[:3]}..."
    assert _copy == _v, "pair_counts must not change its input"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "merge_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3 · Merging a pair
#
# Write `merge_pair(vocab, pair, new_symbol)`: return a **new** corpus in which every occurrence of the
# two adjacent symbols `pair` is replaced by the single symbol `new_symbol`. Scan each word from left to
# right and do not let occurrences overlap: merging `(a, a)` in `a a a` gives `aa a`. Leave the input
# unchanged. If two words end up as the same tuple, add their counts.
#
# A tempting shortcut is to join the symbols with spaces and call `str.replace("a b", "ab")`: it goes
# wrong on `a bc`, where `"a b"` appears although `b` is not a symbol of that word.

# %% nbgrader={"grade": false, "grade_id": "merge_pair_helper", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The test under your answer uses this helper to see whether merge_pair changed its input dict:
# call_and_inputs(f, *args) calls f(*args) and returns {"result": ..., "inputs_changed": True or False}.
from tfscourse.bpe_trace import call_and_inputs


# %% nbgrader={"grade": false, "grade_id": "merge_pair", "locked": false, "schema_version": 3, "solution": true, "task": false}
def merge_pair(vocab, pair, new_symbol):
    """A new vocab in which each non-overlapping occurrence of `pair` (left to right) is `new_symbol`.

    Example: merge_pair({("a", "b", "b", "</w>"): 2}, ("a", "b"), "ab") -> {("ab", "b", "</w>"): 2}
    """
    ### BEGIN SOLUTION
    new_vocab = {}
    for word, freq in vocab.items():
        out, i = [], 0
        while i < len(word):
            if i + 1 < len(word) and word[i] == pair[0] and word[i + 1] == pair[1]:
                out.append(new_symbol)
                i += 2
            else:
                out.append(word[i])
                i += 1
        key = tuple(out)
        new_vocab[key] = new_vocab.get(key, 0) + freq
    return new_vocab
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_merge_pair", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check one merge on the toy corpus and the no-overlap rule."""
toy_vocab_check = {("a", "b", "b", "c", "</w>"): 1, ("a", "b", "b", "</w>"): 2, ("a", "b", "c", "</w>"): 1}
got = merge_pair(toy_vocab_check, ("a", "b"), "ab")
want = {("ab", "b", "c", "</w>"): 1, ("ab", "b", "</w>"): 2, ("ab", "c", "</w>"): 1}
assert dict(got) == want, f"expected {want}, got {got}"
got = merge_pair({("a", "a", "a", "</w>"): 1}, ("a", "a"), "aa")
assert dict(got) == {("aa", "a", "</w>"): 1}, (
    f"merging (a, a) in a a a </w> should give aa a </w> (scan left to right, no overlaps), got {got}")
got = merge_pair({("a", "bc", "</w>"): 1}, ("a", "b"), "ab")
assert dict(got) == {("a", "bc", "</w>"): 1}, (
    f"the word a bc </w> has no symbol b, so merging (a, b) must leave it alone; got {got} "
    "(joining the symbols with spaces and calling str.replace('a b', 'ab') makes this mistake)")
got = merge_pair({("a", "b", "x", "a", "b", "</w>"): 1}, ("a", "b"), "ab")
assert dict(got) == {("ab", "x", "ab", "</w>"): 1}, f"merge every occurrence in a word, not only the first; got {got}"
got = merge_pair({("a", "b", "</w>"): 2, ("ab", "</w>"): 3}, ("a", "b"), "ab")
assert dict(got) == {("ab", "</w>"): 5}, f"two words that become the same tuple must add their counts (2 + 3); got {got}"
call = call_and_inputs(merge_pair, {("a", "b", "</w>"): 2}, ("a", "b"), "ab")  # see the cell above your answer
assert not call["inputs_changed"], "merge_pair must build a new dict and leave its input unchanged, but it changed the input"
### BEGIN HIDDEN TESTS
import random

_cases = [
    ({("a", "bc", "</w>"): 3, ("a", "b", "c", "</w>"): 1}, ("a", "b"), "ab"),
    ({("a", "a", "a", "a", "a"): 2, ("b", "a", "a"): 1}, ("a", "a"), "aa"),
    ({("x",): 4, ("a", "b"): 1, ("X",): 2}, ("a", "b"), "X"),
    ({("ab", "c", "ab", "c"): 5}, ("ab", "c"), "abc"),
    ({}, ("a", "b"), "ab"),
]
_rng = random.Random(8)
for _ in range(6):
    _v = {}
    for _ in range(_rng.randint(1, 25)):
        _w = tuple(_rng.choice("aab") for _ in range(_rng.randint(1, 7))) + ("</w>",)
        _v[_w] = _v.get(_w, 0) + _rng.randint(1, 5)
    _cases.append((_v, _rng.choice([("a", "b"), ("a", "a"), ("b", "</w>")]), "Z"))
for _v, _pair, _new in _cases:
    _call = call_and_inputs(merge_pair, dict(_v), _pair, _new)
    _got = _call["result"]
    _want = _bpe_ref_merge_word(_v, _pair, _new)
    assert isinstance(_got, dict) and dict(_got) == _want, f"merging {_pair} -> {_new!r} in {list(_v)[:3]}... is wrong"
    assert _call["inputs_changed"] is False, "merge_pair must return a new dict and leave its input unchanged"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "learn_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4 · Learning the merges, and the tie-break
#
# BPE training repeats three steps: count the pairs (weighted), pick the most frequent pair, merge it
# everywhere. The sheet stops when **no pair occurs more than once**: a pair seen once would only
# memorise a single word.
#
# **Ties.** The sheet does not say what to do when two pairs have the same count, and the toy corpus
# hits a tie at step 3. This course's rule: *among the pairs with the highest count, take the smallest
# pair in Python's ordering of tuples of strings* (compare the left symbols, then the right ones; strings
# compare code point by code point, so `"</w>" < "B" < "a"`). In code:
# `best = min(counts, key=lambda p: (-counts[p], p))`. Note that `max(counts, key=counts.get)` would
# instead return whichever tied pair happens to come first in the dict, which depends on the order of
# the words.
#
# **New symbols.** The merged symbol is the concatenation of the two parts, e.g. `("ab", "b") -> "abb"`.
# The exercise sheet calls the new symbols A, B, C, ...; the trace below shows both names.
#
# **The toy corpus by hand.** Counts of all pairs before each merge (the winner in bold):
#
# | step | pair counts | merge | new symbol |
# |---|---|---|---|
# | 1 | **(a, b): 4**, (b, b): 3, (b, c): 2, (b, &lt;/w&gt;): 2, (c, &lt;/w&gt;): 2 | (a, b) | A = `ab` |
# | 2 | **(A, b): 3**, (A, c): 1, (b, c): 1, (b, &lt;/w&gt;): 2, (c, &lt;/w&gt;): 2 | (A, b) | B = `abb` |
# | 3 | **(B, &lt;/w&gt;): 2**, (c, &lt;/w&gt;): 2, (B, c): 1, (A, c): 1 | (B, &lt;/w&gt;), the tie broken by `"abb" < "c"` | C = `abb</w>` |
# | 4 | **(c, &lt;/w&gt;): 2**, (B, c): 1, (A, c): 1 | (c, &lt;/w&gt;) | D = `c</w>` |
# | 5 | (B, D): 1, (A, D): 1 | stop: no pair occurs twice | |
#
# At the end the corpus is `B D` (abbc, once), `C` (abb, twice) and `A D` (abc, once). The other
# tie-break (take `(c, </w>)` first) would learn the same four symbols with C and D swapped. On this
# corpus the swap happens to be harmless, because both pairs end in `</w>` and never compete for the same
# symbol; on larger corpora a different tie-break changes the later counts, the merges and the encodings,
# so the tests hold you to the rule above.
#
# Write `learn_bpe(text, end_of_word="</w>")` returning the list of merges `[(pair, new_symbol), ...]` in
# the order they are learned. Use your three functions.

# %% nbgrader={"grade": false, "grade_id": "learn_bpe", "locked": false, "schema_version": 3, "solution": true, "task": false}
def learn_bpe(text, end_of_word="</w>"):
    """Learn BPE merges on the words of `text` until no pair occurs more than once.

    Ties between pairs with the same count go to the smallest pair (tuple order).
    Returns a list of ((left, right), left + right).
    Example: learn_bpe("ab ab") -> [(("a", "b"), "ab"), (("ab", "</w>"), "ab</w>")]
    """
    ### BEGIN SOLUTION
    vocab = {}
    for word, freq in word_frequencies(text).items():
        symbols = tuple(word) + ((end_of_word,) if end_of_word else ())
        vocab[symbols] = vocab.get(symbols, 0) + freq
    merges = []
    while True:
        counts = pair_counts(vocab)
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        if counts[best] <= 1:
            break
        new_symbol = best[0] + best[1]
        merges.append((best, new_symbol))
        vocab = merge_pair(vocab, best, new_symbol)
    return merges
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_learn_bpe", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the toy corpus's whole trace, the tie-break at step 3 and the stopping rule."""
# learn_bpe calls your word_frequencies, pair_counts and merge_pair. When one of them fails its own test,
# the checks below are skipped (fix that function first), and grading compares learn_bpe with a reference
# built on your version of it: one bug costs the points of one function.
upstream = [name for name, ok in (
    ("word_frequencies", dict(word_frequencies("abbc abb abc abb")) == {"abbc": 1, "abb": 2, "abc": 1}),
    ("pair_counts", dict(pair_counts({("a", "b", "a", "b"): 2, ("b", "c"): 1})) == {("a", "b"): 4, ("b", "a"): 2, ("b", "c"): 1}),
    ("merge_pair", dict(merge_pair({("a", "bc", "a", "b", "a", "b"): 1, ("b", "b"): 2}, ("a", "b"), "ab"))
     == {("a", "bc", "ab", "ab"): 1, ("b", "b"): 2}
     and dict(merge_pair({("a", "a", "a"): 1}, ("a", "a"), "aa")) == {("aa", "a"): 1}
     and dict(merge_pair({("a", "b"): 1, ("ab",): 2}, ("a", "b"), "ab")) == {("ab",): 3}),
) if not ok]
if upstream:
    print(f"learn_bpe is not checked here: your {' and '.join(upstream)} fails its own test; fix that first")
else:
    got = learn_bpe("ab ab")
    assert got == [(("a", "b"), "ab"), (("ab", "</w>"), "ab</w>")], (
        f"'ab' occurs twice, so (a, b) and then (ab, </w>) have count 2 (weight each pair by its word's count, "
        f"and end every word with </w>); got {got}")
    toy_merges_check = learn_bpe("abbc abb abc abb")
    assert isinstance(toy_merges_check, list), f"learn_bpe should return a list, got {type(toy_merges_check).__name__}"
    toy_merges_check = [tuple(m) for m in toy_merges_check]
    toy_want = [(("a", "b"), "ab"), (("ab", "b"), "abb"), (("abb", "</w>"), "abb</w>"), (("c", "</w>"), "c</w>")]
    assert toy_merges_check[:2] == toy_want[:2], (
        f"the first merges are (a, b) -> ab (count 4) and (ab, b) -> abb (count 3), got {toy_merges_check[:2]}")
    assert toy_merges_check[2:3] != [(("c", "</w>"), "c</w>")], (
        "step 3 is a tie: (abb, </w>) and (c, </w>) both occur twice. The rule takes the smaller pair, and 'abb' < 'c', "
        "so (abb, </w>) comes first; max(counts, key=counts.get) takes whichever tied pair the dict happens to list first")
    assert toy_merges_check == toy_want, (
        f"the toy trace is ab, abb, abb</w>, c</w> and then stops (no pair occurs twice), got {toy_merges_check}")
    got = learn_bpe("ab cd")
    assert got == [], f"no pair occurs more than once in 'ab cd', so there is nothing to learn; got {got}"
### BEGIN HIDDEN TESTS
_bpe_check_learn("abbc abb abc abb", "</w>", "the toy trace must be ab, abb, abb</w>, c</w> (tie at step 3 goes to the smaller pair)")
_bpe_check_learn("ab ab", "</w>", "wrong merges for 'ab ab'")
_bpe_check_learn("", "</w>", "an empty text has no merges")
_bpe_check_learn("a b c", "</w>", "no pair occurs twice: no merges")
_bpe_check_learn("ab ab", "#", "use the given end_of_word")
_bpe_check_learn("aaaa aaaa", "</w>", "wrong merges for 'aaaa aaaa' (a pair that occurs twice in a word counts twice)")
_bpe_check_learn("ab ab ab cd cd ce", "</w>", "wrong merges for 'ab ab ab cd cd ce'")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_learn_bpe_corpora", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check learn_bpe on a corpus where the word counts decide (random corpora are checked when grading)."""
# learn_bpe calls your word_frequencies, pair_counts and merge_pair. When one of them fails its own test,
# the checks below are skipped (fix that function first), and grading compares learn_bpe with a reference
# built on your version of it: one bug costs the points of one function.
upstream = [name for name, ok in (
    ("word_frequencies", dict(word_frequencies("abbc abb abc abb")) == {"abbc": 1, "abb": 2, "abc": 1}),
    ("pair_counts", dict(pair_counts({("a", "b", "a", "b"): 2, ("b", "c"): 1})) == {("a", "b"): 4, ("b", "a"): 2, ("b", "c"): 1}),
    ("merge_pair", dict(merge_pair({("a", "bc", "a", "b", "a", "b"): 1, ("b", "b"): 2}, ("a", "b"), "ab"))
     == {("a", "bc", "ab", "ab"): 1, ("b", "b"): 2}
     and dict(merge_pair({("a", "a", "a"): 1}, ("a", "a"), "aa")) == {("aa", "a"): 1}
     and dict(merge_pair({("a", "b"): 1, ("ab",): 2}, ("a", "b"), "ab")) == {("ab",): 3}),
) if not ok]
if upstream:
    print(f"learn_bpe is not checked here: your {' and '.join(upstream)} fails its own test; fix that first")
else:
    got = learn_bpe("ab ab ab ac ac")
    want = [(("a", "b"), "ab"), (("ab", "</w>"), "ab</w>"), (("a", "c"), "ac"), (("ac", "</w>"), "ac</w>")]
    assert [tuple(m) for m in got] == want, (
        f"expected {want}: weight each pair by its word's count ((a, b) and (b, </w>) tie at 3, (a, b) is smaller); got {got}")
### BEGIN HIDDEN TESTS
import random

# A learn_bpe that is right in itself passes, even when it inherits a bug of the student's own helpers
# (that bug costs the points of the helper's test, not these).
_rng = random.Random(11)
for _trial in range(8):
    _letters = "abcd"[: _rng.randint(2, 4)]
    _pool = ["".join(_rng.choice(_letters) for _ in range(_rng.randint(1, 6))) for _ in range(_rng.randint(3, 25))]
    _text = " ".join(_rng.choice(_pool) for _ in range(_rng.randint(5, 120)))
    _bpe_check_learn(_text, "</w>", f"wrong merges for the corpus {_text[:50]!r}...")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "trace_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The cell below replays **your** merges on the toy corpus with your `pair_counts` and `merge_pair`: a
# table of all steps (with the sheet's names A, B, C, ...) and a slider that steps through them, showing
# every pair count. It should match the hand trace above.

# %% nbgrader={"grade": false, "grade_id": "toy_trace", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tfscourse.bpe_trace import handout_names, show_merge_trace, trace_steps

toy_corpus = "abbc abb abc abb"
toy_vocab = {tuple(word) + ("</w>",): freq for word, freq in word_frequencies(toy_corpus).items()}
toy_merges = learn_bpe(toy_corpus)
toy_stepper = show_merge_trace(trace_steps(toy_vocab, toy_merges, pair_counts, merge_pair), handout_names(toy_merges))


# %% [markdown] nbgrader={"grade": true, "grade_id": "end_of_word_role", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** What does the end-of-word symbol buy us? Give an example from the toy corpus of two
# symbols that would be the same without it, say what a tokenizer without it cannot tell apart when
# it decodes, and what even a tokenizer with it cannot give back.
#
# ### BEGIN SOLUTION
# It records whether a piece ends a word. In the toy corpus `c</w>` (D) is a `c` at the end of a word,
# while a plain `c` can only be followed by more letters; likewise `abb</w>` (C) is the whole word
# `abb`, while `abb` (B) is the start of `abbc`. Without the marker these pairs collapse into one symbol,
# so the merges learned from word endings are also applied inside words, and a sequence of tokens no
# longer says where the spaces were: `abb` + `c` could be "abbc" or "abb c". With the marker, the word
# boundaries come back: concatenate the symbols and turn every `</w>` into a space. That is still not the
# original text: the words were split on any whitespace, so a tab, a newline or a run of spaces all come
# back as one space (`"def f(x):\n\treturn  x"` decodes to `"def f(x): return x"`). Byte-level BPE
# (section 6) removes this loss by keeping the whitespace inside the chunks it encodes.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "encode_word_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5 · Encoding a new word
#
# To encode a word, split it into characters, append the end-of-word symbol, and apply the learned
# merges **in the order they were learned**, each one to the whole word (merge 1 everywhere, then merge
# 2, ...). Characters never seen in training simply stay single symbols.
#
# The order matters. With the merges `[(b, c) -> bc, (a, b) -> ab]`, the word `abc` becomes `a bc </w>`:
# `(b, c)` was learned first. Picking the **longest known piece from the left** instead (`ab`, then `c`)
# gives a different split that training never produced; that is how WordPiece works, not BPE.

# %% nbgrader={"grade": false, "grade_id": "bpe_encode_word", "locked": false, "schema_version": 3, "solution": true, "task": false}
def bpe_encode_word(word, merges, end_of_word="</w>"):
    """The symbols of `word` (plus end_of_word) after applying `merges` in order.

    Example: with the toy merges, bpe_encode_word("abbc", toy_merges) -> ["abb", "c</w>"]
    """
    ### BEGIN SOLUTION
    symbols = {tuple(word) + ((end_of_word,) if end_of_word else ()): 1}
    for pair, new_symbol in merges:
        symbols = merge_pair(symbols, pair, new_symbol)
    return list(next(iter(symbols)))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_bpe_encode_word", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the encoding of toy words and of a word where the merge order matters."""
# bpe_encode_word may call your merge_pair. When it fails its own test, the checks below are skipped (fix
# merge_pair first), and grading also accepts the words your merge_pair would give: one bug, one cost.
merge_pair_ok = (
    dict(merge_pair({("a", "bc", "a", "b", "a", "b"): 1}, ("a", "b"), "ab")) == {("a", "bc", "ab", "ab"): 1}
    and dict(merge_pair({("a", "a", "a"): 1}, ("a", "a"), "aa")) == {("aa", "a"): 1})
if not merge_pair_ok:
    print("bpe_encode_word is not checked here: your merge_pair fails its own test; fix that first")
else:
    toy_merges_given = [(("a", "b"), "ab"), (("ab", "b"), "abb"), (("abb", "</w>"), "abb</w>"), (("c", "</w>"), "c</w>")]
    for word, want in [("abbc", ["abb", "c</w>"]), ("abb", ["abb</w>"]), ("cab", ["c", "ab", "</w>"]), ("bbc", ["b", "b", "c</w>"])]:
        got = bpe_encode_word(word, toy_merges_given)
        assert list(got) == want, f"{word!r}: expected {want}, got {got} (and end the word with the end-of-word symbol)"
    got = bpe_encode_word("abc", [(("b", "c"), "bc"), (("a", "b"), "ab")])
    assert list(got) == ["a", "bc", "</w>"], (
        f"(b, c) was learned first, so 'abc' -> ['a', 'bc', '</w>'], got {got}: apply the merges in the order learned, "
        "not the longest known piece from the left")
### BEGIN HIDDEN TESTS
import random


def _ref_encode_with_yours(word, merges, eow):
    """The reference with the student's merge_pair (called in the kernel) doing each merge."""
    symbols = {tuple(word) + (eow,): 1}
    for pair, new in merges:
        symbols = dict(merge_pair(symbols, pair, new))
    return list(next(iter(symbols)))


def _check(word, merges, eow, what):
    got = bpe_encode_word(word, list(merges), end_of_word=eow) if eow != "</w>" else bpe_encode_word(word, list(merges))
    got = list(got) if isinstance(got, (list, tuple)) else got
    ok = isinstance(got, list) and got == _bpe_ref_encode_word(word, merges, eow)
    if not ok and isinstance(got, list):
        try:
            ok = got == _ref_encode_with_yours(word, merges, eow)
        except Exception:  # the student's merge_pair crashes: only the reference counts
            ok = False
    assert ok, what


_m = [(("b", "c"), "bc"), (("a", "b"), "ab"), (("ab", "bc"), "abbc"), (("c", "</w>"), "c</w>")]
for _word in ["abc", "abbc", "", "xc", "cab", "abcabc"]:
    _check(_word, _m, "</w>", f"wrong symbols for {_word!r} with merges {_m}")
_check("ab", [(("a", "b"), "ab"), (("ab", "#"), "ab#")], "#", "use the given end_of_word")
# two merge lists with overlapping pieces, on random words (every correct method gives the same result here)
_rng = random.Random(21)
_merge_lists = [
    [(("a", "b"), "ab"), (("b", "a"), "ba"), (("ab", "a"), "aba"), (("a", "</w>"), "a</w>"), (("aba", "b"), "abab")],
    [(("a", "a"), "aa"), (("aa", "a"), "aaa"), (("a", "b"), "ab"), (("aa", "</w>"), "aa</w>"), (("b", "aa"), "baa")],
]
for _merges in _merge_lists:
    for _ in range(25):
        _word = "".join(_rng.choice("aab") for _ in range(_rng.randint(1, 9)))
        _check(_word, _merges, "</w>", f"wrong symbols for {_word!r} with merges {_merges}")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "bytes_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6 · Byte-level BPE, GPT-2 style
#
# The word-level BPE above has two problems. It loses whitespace: the words were split on any run of
# whitespace, so decoding can only put one space between them, and `"def f(x):\n\treturn  x"` comes back
# as `"def f(x): return x"` (for Python code, where indentation is syntax, that is fatal). And it has an
# *unknown character* problem: a symbol never seen in training (an emoji, a Chinese character) has no id. GPT-2's answer: run BPE on the **UTF-8 bytes** of the text. The base
# vocabulary is the 256 byte values (ids 0-255), every string is a sequence of them, and merged tokens
# get the ids 256, 257, ... in the order they are learned. Decoding concatenates the bytes of the tokens
# and decodes the result as UTF-8 **once**: a single token may hold half of a character.

# %% nbgrader={"grade": false, "grade_id": "utf8_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
for sample in ["a", "é", "日", "🙂", "e\u0301"]:
    print(f"{sample!r:>10}: {len(sample)} code point(s) -> bytes {list(sample.encode('utf-8'))}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "pretokenizer_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Pre-tokenizer.** Merges must not glue the end of one word to the start of the next, or a token like
# `"e t"` would appear. GPT-2 first cuts the text into chunks with a regular expression and runs BPE
# inside each chunk only:
#
# ```
# 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
# ```
#
# i.e. contractions, a run of letters, a run of digits, or a run of other symbols (each may start with one
# space, so `" cat"` is one chunk), then whitespace. Python's `re` has no `\p{L}` (Unicode letter), so
# this course uses an equivalent built from what `re` does know: `[^\W\d_]` ("a word character that is
# neither a digit nor an underscore", i.e. a letter), `\d` for digits, and `(?:_|[^\s\w])` for everything
# else. The two patterns differ only on rare characters such as `²` or `½` (numbers for GPT-2, letters
# here). Every character belongs to exactly one class, so the chunks always add up to the whole text:
# nothing is lost, which is what makes `decode(encode(s)) == s` possible.

# %% nbgrader={"grade": false, "grade_id": "pretokenizer", "locked": true, "schema_version": 3, "solution": false, "task": false}
import re

SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:_|[^\s\w])+|\s+(?!\S)|\s+"""
split_chunks = re.compile(SPLIT_PATTERN).findall

demo = "Hello world's  end: naïve café_2024 🙂🙂 日本語\n\n"
print(split_chunks(demo))
assert "".join(split_chunks(demo)) == demo


def merge_ids(ids, pair, new_id):
    """Replace each non-overlapping occurrence of `pair` in the list `ids` (left to right) by `new_id`.

    Example: merge_ids([97, 97, 97, 98], (97, 97), 256) -> [256, 97, 98]
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


# %% [markdown] nbgrader={"grade": false, "grade_id": "fast_training_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Training, fast.** The naive trainer recounts every pair of every word after each merge, although a
# merge only changes the words that contain the merged pair. The efficient trainer keeps the pair counts
# and, for each pair, the set of words (distinct chunks) in which it occurs. To merge pair $p$ into a new
# id: for each word that contains $p$, subtract the counts of all its old pairs (times the word's
# frequency), merge, and add the counts of its new pairs. Everything else stays as it was.
#
# Write the class `ByteLevelBPE`:
#
# * `train(text, vocab_size)`: split `text` with `split_chunks`, count the distinct chunks, and learn
#   `vocab_size - 256` merges on their UTF-8 bytes, **updating the counts incrementally**. The same rules
#   as above: weighted counts, highest count first, ties to the smallest pair `(left id, right id)`, stop
#   early when no pair occurs at least twice. Merge $k$ (from 0) creates id $256 + k$. Fill
#   `self.merges` (`dict` pair -> new id, in the order learned) and `self.vocab` (`dict` id -> `bytes`).
#   Return `self`.
# * `encode(text) -> list[int]`: split into chunks; in each chunk start from the bytes and apply the
#   merges in the order they were learned (repeatedly merge the pair present with the smallest new id).
#   Use only `self.merges`, so that a tokenizer whose merges were set by hand works too.
# * `decode(ids) -> str`: concatenate the bytes of the tokens (`self.vocab`), then decode them as UTF-8
#   with `errors="replace"` (an arbitrary list of ids need not be valid UTF-8).
#
# A speed test follows: at 500 merges your `train` must be at least 5 times faster than the naive
# trainer, measured in the same run (the reference solution is 20 to 60 times faster, depending on how
# busy the machine is).

# %% nbgrader={"grade": false, "grade_id": "byte_level_bpe", "locked": false, "schema_version": 3, "solution": true, "task": false}
class ByteLevelBPE:
    """Byte-level BPE tokenizer (GPT-2 style).

    merges: dict (left id, right id) -> new id, in the order learned; vocab: dict id -> bytes.
    Example:
        >>> tok = ByteLevelBPE().train("aaab aaab", 258)
        >>> tok.merges
        {(97, 97): 256, (97, 98): 257}
        >>> tok.decode(tok.encode("aab 🙂")) == "aab 🙂"
        True
    """

    def __init__(self, merges=None):
        """An untrained tokenizer, or one that uses the given merges ({(left id, right id): new id})."""
        self.merges = {}
        self.vocab = {i: bytes([i]) for i in range(256)}
        for pair, new_id in sorted((merges or {}).items(), key=lambda item: item[1]):
            self.merges[tuple(pair)] = new_id
            self.vocab[new_id] = self.vocab[pair[0]] + self.vocab[pair[1]]

    def train(self, text, vocab_size):
        """Learn vocab_size - 256 merges from `text` (fewer if no pair occurs twice); returns self."""
        ### BEGIN SOLUTION
        chunk_counts = {}
        for chunk in split_chunks(text):
            key = chunk.encode("utf-8")
            chunk_counts[key] = chunk_counts.get(key, 0) + 1
        words = [list(chunk) for chunk in chunk_counts]
        freqs = list(chunk_counts.values())
        stats = {}  # pair -> weighted count
        where = {}  # pair -> indices of the words that (may) contain it
        for w, ids in enumerate(words):
            for pair in zip(ids, ids[1:]):
                stats[pair] = stats.get(pair, 0) + freqs[w]
                where.setdefault(pair, set()).add(w)
        self.merges = {}
        self.vocab = {i: bytes([i]) for i in range(256)}
        while 256 + len(self.merges) < vocab_size and stats:
            top = max(stats.values())
            if top < 2:
                break
            best = min(pair for pair, count in stats.items() if count == top)
            new_id = 256 + len(self.merges)
            self.merges[best] = new_id
            self.vocab[new_id] = self.vocab[best[0]] + self.vocab[best[1]]
            for w in where.pop(best):
                old = words[w]
                new = merge_ids(old, best, new_id)
                if len(new) == len(old):
                    continue  # the pair left this word in an earlier merge
                for pair in zip(old, old[1:]):
                    stats[pair] -= freqs[w]
                    if stats[pair] == 0:
                        del stats[pair]
                for pair in zip(new, new[1:]):
                    stats[pair] = stats.get(pair, 0) + freqs[w]
                    where.setdefault(pair, set()).add(w)
                words[w] = new
        return self
        ### END SOLUTION

    def encode(self, text):
        """The token ids of `text`."""
        ### BEGIN SOLUTION
        out = []
        for chunk in split_chunks(text):
            ids = list(chunk.encode("utf-8"))
            while len(ids) > 1:
                ranked = [(self.merges[p], p) for p in zip(ids, ids[1:]) if p in self.merges]
                if not ranked:
                    break
                new_id, pair = min(ranked)
                ids = merge_ids(ids, pair, new_id)
            out.extend(ids)
        return out
        ### END SOLUTION

    def decode(self, ids):
        """The text of a list of token ids."""
        ### BEGIN SOLUTION
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_byte_level_roundtrip", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check that decode(encode(s)) == s, before and after training."""
fresh = ByteLevelBPE()
assert fresh.encode("é") == [195, 169], f"an untrained tokenizer encodes the UTF-8 bytes: expected [195, 169], got {fresh.encode('é')}"
try:
    got = fresh.decode([255])
except Exception as error:
    raise AssertionError(f"byte 255 is no valid UTF-8: decode must replace it with U+FFFD (errors='replace'), "
                         f"but it raised {type(error).__name__}: {error}") from None
assert got == "\ufffd", f"byte 255 is no valid UTF-8: decode must replace it with U+FFFD (errors='replace'); got {got!r}"
got = fresh.decode([240, 159, 153, 130])
assert got == "🙂", f"the four bytes of 🙂 decode to one character (join all bytes, then decode once); got {got!r}"
tok_small = ByteLevelBPE().train("the cat sat on the mat; the cat ate the rat", 270)
for s in ["", "the cat", "  two  spaces\n\n", "naïve café 日本 🙂", "e\u0301"]:
    ids = tok_small.encode(s)
    assert isinstance(ids, list) and all(isinstance(i, int) for i in ids), f"encode should return a list of ints, got {ids!r}"
    try:
        back = tok_small.decode(ids)
    except Exception as error:
        raise AssertionError(f"decode(encode({s!r})) raised {type(error).__name__}: {error} "
                             "(does vocab hold the bytes of every merged token?)") from None
    assert back == s, f"decode(encode({s!r})) gave {back!r}"
### BEGIN HIDDEN TESTS
import random

from tfscourse.corpora import reference_text

_ranges = [(0x20, 0x7E), (0xA0, 0xFF), (0x300, 0x36F), (0x400, 0x4FF), (0x4E00, 0x9FFF), (0x1F300, 0x1F64F),
           (0x1F900, 0x1F9FF), (0x10000, 0x1007F)]
_spaces = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2028"]
_rng = random.Random(31)


def _random_text(n):
    parts = []
    for _ in range(n):
        if _rng.random() < 0.25:
            parts.append(_rng.choice(_spaces) * _rng.randint(1, 3))
        else:
            lo, hi = _rng.choice(_ranges)
            parts.append(chr(_rng.randint(lo, hi)))
    return "".join(parts)


_tokenizers = [ByteLevelBPE(), ByteLevelBPE().train(reference_text(20000), 400),
               ByteLevelBPE().train("🙂🙂 🙂🙂 日本日本 日本 e\u0301e\u0301 " * 5, 300)]
_samples = ["", " ", "\n\n\n", "   leading and trailing   ", "'s 're x_y __init__ 3.14", "👩‍👩‍👧 🇳🇱 a\u0301\u0302"]
_samples += [_random_text(_rng.randint(1, 60)) for _ in range(40)]
for _ids, _want in [([255], "\ufffd"), ([97, 195], "a\ufffd"), ([240, 159, 153, 130, 128], "🙂\ufffd")]:
    try:
        _got = ByteLevelBPE().decode(_ids)
    except Exception as _error:
        raise AssertionError(f"decode({_ids}) raised {type(_error).__name__}: invalid UTF-8 must become U+FFFD") from None
    assert _got == _want, f"decode({_ids}) must replace the invalid bytes with U+FFFD (errors='replace')"
for _index, _tok in enumerate(_tokenizers):
    for _s in _samples:
        _ids = _tok.encode(_s)
        assert type(_ids) is list and all(type(i) is int for i in _ids), "encode must return a list of ints"
        try:
            _back = _tok.decode(list(_ids))
        except Exception as _error:
            raise AssertionError(f"decode(encode({_s!r})) raised {type(_error).__name__}") from None
        assert type(_back) is str and _back == _s, f"round trip failed for {_s!r}"
        if _index == 0:
            assert _ids == list(_s.encode("utf-8")), "without merges the ids are the UTF-8 bytes"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_byte_level_train", "locked": true, "points": 4.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the merges learned on a tiny text."""
tok_tiny = ByteLevelBPE().train("aaab aaab", 258)
assert tok_tiny.merges == {(97, 97): 256, (97, 98): 257}, (
    f"(97, 97) occurs 4 times; then (256, 97) and (97, 98) tie at 2 and (97, 98) is smaller. Got {tok_tiny.merges}")
assert tok_tiny.vocab.get(257) == b"ab", f"vocab[257] should be b'ab' (the bytes of merge 257), got {tok_tiny.vocab.get(257)!r}"
assert len(ByteLevelBPE().train("ab cd", 300).merges) == 0, "no pair occurs twice in 'ab cd': no merges"
got = ByteLevelBPE().train("xy xy xy ab ab", 260).merges
assert got == {(120, 121): 256, (32, 97): 257, (32, 256): 258, (257, 98): 259}, (
    "'xy xy xy ab ab' is cut into the chunks 'xy', ' xy' (twice) and ' ab' (twice): count each pair once per "
    "occurrence of its chunk, never across chunks, and break ties by the smaller pair; expected "
    f"{{(120, 121): 256, (32, 97): 257, (32, 256): 258, (257, 98): 259}}, got {got}")
### BEGIN HIDDEN TESTS
import random

from tfscourse.corpora import reference_text

_rng = random.Random(41)
_pieces = ["the", "cat", "at", "a", "é", "日本", "🙂", "'s", "123", "x_y", "naïve", "..", "aa", "ab"]
_corpora = [(reference_text(6000), 330), ("aaaa aaaa aaaa ab ab", 400), ("", 300), ("x", 256)]
for _ in range(5):
    _text = "".join(_rng.choice(_pieces) + _rng.choice([" ", "", " ", "\n", "  "]) for _ in range(_rng.randint(20, 300)))
    _corpora.append((_text, _rng.randint(260, 330)))
for _text, _size in _corpora:
    _tok = ByteLevelBPE()
    _tok.train(_text, _size)
    _want = _bpe_ref_train(_text, _size)
    _got = list(_tok.merges.items())  # one request: a snapshot of the student's dict
    _expected = [(p, 256 + k) for k, p in enumerate(_want)]
    _first_bad = next((k for k, (g, w) in enumerate(zip(_got, _expected)) if g != w), min(len(_got), len(_expected)))
    assert _got == _expected, (
        f"merges for vocab_size={_size} on {_text[:40]!r}...: {len(_got)} merges learned, the first wrong or missing "
        f"one is number {_first_bad}")
    _bytes = {i: bytes([i]) for i in range(256)}
    for _k, (_a, _b) in enumerate(_want):
        _bytes[256 + _k] = _bytes[_a] + _bytes[_b]
    _vocab = _tok.vocab
    assert type(_vocab) is dict and all(_vocab.get(i) == b for i, b in _bytes.items()), "vocab must map every id to its bytes"

# the same compression as Hugging Face's BPE trainer (same text, same vocabulary size, its own tie-break)
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

_train, _held = reference_text(60000), reference_text()[-20000:]
_tok = ByteLevelBPE()
_tok.train(_train, 256 + 200)
_learned = dict(_tok.merges)  # one request: a snapshot of the student's merges
assert all(type(p) is tuple and len(p) == 2 and type(i) is int for p, i in _learned.items()), "merges: (id, id) -> id"
_n_ours = len(_bpe_ref_encode(_held, _learned))
_hf = Tokenizer(models.BPE())
_hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
_hf.train_from_iterator([_train], trainer=trainers.BpeTrainer(
    vocab_size=256 + 200, min_frequency=2, show_progress=False, special_tokens=[],
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
_ratio = len(_hf.encode(_held).ids) / _n_ours
assert 0.98 < _ratio < 1.02, f"Hugging Face needs {_ratio:.3f} times as many tokens as your merges on held-out text"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_byte_level_encode", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check encoding with hand-made merges and with trained ones."""
tok_hand = ByteLevelBPE({(98, 99): 256, (97, 98): 257})  # merges given by hand: b c -> 256, then a b -> 257
assert tok_hand.encode("abc") == [97, 256], f"(b, c) was learned first: 'abc' -> [97, 256], got {tok_hand.encode('abc')}"
assert tok_hand.encode("abc abc") == [97, 256, 32, 97, 256], f"got {tok_hand.encode('abc abc')}"
tok_cross = ByteLevelBPE({(99, 32): 256})  # a merge of "c" and " ", which never meet inside one chunk
got = tok_cross.encode("abc abc")
assert got == [97, 98, 99, 32, 97, 98, 99], (
    f"'abc abc' is cut into the chunks 'abc' and ' abc', so the pair (c, space) must not merge; got {got} "
    "(split the text with split_chunks first and encode each chunk on its own)")
### BEGIN HIDDEN TESTS
from tfscourse.corpora import reference_text


def _with_merges(pairs):
    """A tokenizer given these merges, and the merges as the judge's own dict (for the reference)."""
    merges = {p: 256 + k for k, p in enumerate(pairs)}
    return ByteLevelBPE(dict(merges)), merges


# hand-made merges where order, overlaps and chunk boundaries matter
_hand = [(98, 99), (97, 98), (97, 256), (32, 97), (258, 256), (97, 97), (101, 32), (46, 10)]
_tok, _merges = _with_merges(_hand)
for _text in ["abc", "aabcbc", "aaaa", " abc abcbc", "e a.\n", "bcabc abc", "", "é"]:
    _got = _tok.encode(_text)
    assert type(_got) is list and _got == _bpe_ref_encode(_text, _merges), f"wrong ids for {_text!r} with merges {_hand}"
# merges learned from the corpus (by a reference trainer), then text that was not in it
_pairs = _bpe_ref_train(reference_text(30000), 256 + 120)
_tok, _merges = _with_merges(_pairs)
_held_out = reference_text()[-4000:] + " naïve 日本語 🙂 it's 3.14159  \n\n end"
_got = _tok.encode(_held_out)
assert type(_got) is list and _got == _bpe_ref_encode(_held_out, _merges), "wrong ids for held-out text with 120 learned merges"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "speed_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 7 · How much faster?
#
# The test below trains your tokenizer and the naive trainer of the course package
# (`tfscourse.bpe_baseline.learn_merges_naive`, same rules, recounting everything after each merge) for 500 merges
# on the first 100,000 characters of the corpus, checks that both learn 500 merges, and compares the
# times (your best of three runs against one naive run). Timings on a shared machine are noisy, hence the
# generous threshold. To try your own text later, `tfscourse.corpora.load_text("file.txt")` reads any local
# UTF-8 file.

# %% nbgrader={"grade": true, "grade_id": "test_byte_level_speed", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check that your trainer is at least 5 times faster than the naive one at 500 merges (same run)."""
import time

from tfscourse.bpe_baseline import chunk_counts, learn_merges_naive
from tfscourse.corpora import reference_text

speed_text = reference_text(100_000)
naive_curve = []  # (merges so far, seconds so far), for the plot below
start = time.perf_counter()
naive_pairs = learn_merges_naive(chunk_counts(speed_text), 500,
                                 on_merge=lambda k: naive_curve.append((k, time.perf_counter() - start)))
naive_seconds = time.perf_counter() - start
your_seconds = float("inf")
for _ in range(3):
    start = time.perf_counter()
    speed_tok = ByteLevelBPE().train(speed_text, 256 + 500)
    your_seconds = min(your_seconds, time.perf_counter() - start)
assert len(speed_tok.merges) == len(naive_pairs) == 500, (
    f"both trainers should learn 500 merges here, yours learned {len(speed_tok.merges)} "
    "(whether they are the right ones is test_byte_level_train's job)")
print(f"naive: {naive_seconds:.2f} s, yours: {your_seconds:.3f} s, speed-up {naive_seconds / your_seconds:.1f}x")
assert naive_seconds / your_seconds >= 5, (
    f"your trainer is only {naive_seconds / your_seconds:.1f}x faster than recounting every pair after each merge; "
    "update only the words that contain the merged pair")

# %% [markdown] nbgrader={"grade": false, "grade_id": "speed_plot_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The plot shows the time against the number of merges: the naive trainer's cumulative time as it went
# (recorded during the test above), and your trainer run to several sizes.

# %% nbgrader={"grade": false, "grade_id": "speed_plot", "locked": true, "schema_version": 3, "solution": false, "task": false}
import time

import matplotlib.pyplot as plt

from tfscourse.corpora import reference_text

speed_text = reference_text(100_000)
merge_counts = [10, 50, 100, 200, 300, 500]
your_curve = []
for n_merges in merge_counts:
    runs = []
    for _ in range(2):  # best of two: less noise from other programs
        start = time.perf_counter()
        ByteLevelBPE().train(speed_text, 256 + n_merges)
        runs.append(time.perf_counter() - start)
    your_curve.append(min(runs))
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot([k for k, _ in naive_curve], [s for _, s in naive_curve], label="naive: recount after each merge")
ax.plot(merge_counts, your_curve, "o-", label="yours: incremental counts")
ax.set(xlabel="number of merges", ylabel="training time (s)", title="BPE training on 100,000 characters")
ax.legend()
plt.show()

# %% [markdown] nbgrader={"grade": false, "grade_id": "hf_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 8 · Against Hugging Face `tokenizers`
#
# The library behind most tokenizers on the Hugging Face hub is written in Rust. Below, it trains a
# byte-level BPE (`ByteLevel` pre-tokenizer with GPT-2's pattern, the 256 bytes as the initial alphabet,
# the same vocabulary size) on the same text. The table gives the training time and the compression on
# text that neither saw in training: **bytes per token** (higher = fewer tokens for the same text).

# %% nbgrader={"grade": false, "grade_id": "hf_comparison", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from tfscourse.hf_tokens import hf_token_bytes

held_out_text = reference_text()[-50_000:]
held_out_bytes = len(held_out_text.encode("utf-8"))
vocab_size_cmp = 256 + 500

start = time.perf_counter()
yours_cmp = ByteLevelBPE().train(speed_text, vocab_size_cmp)
yours_seconds = time.perf_counter() - start
yours_ids = yours_cmp.encode(held_out_text)

hf_tok = Tokenizer(models.BPE())
hf_tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
hf_tok.decoder = decoders.ByteLevel()
hf_trainer = trainers.BpeTrainer(vocab_size=vocab_size_cmp, min_frequency=2, show_progress=False, special_tokens=[],
                                 initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
start = time.perf_counter()
hf_tok.train_from_iterator([speed_text], trainer=hf_trainer)
hf_seconds = time.perf_counter() - start
hf_ids = hf_tok.encode(held_out_text).ids
assert hf_tok.decode(hf_ids) == held_out_text

yours_tokens = {yours_cmp.vocab[i] for i in yours_cmp.merges.values()}
hf_tokens = {hf_token_bytes(token) for token in hf_tok.get_vocab()} - {bytes([b]) for b in range(256)}
rows = [
    ("naive trainer (recount)", naive_curve[-1][0], f"{naive_curve[-1][1]:.3f}", "same as yours"),
    ("yours (incremental)", len(yours_cmp.merges), f"{yours_seconds:.3f}", f"{held_out_bytes / len(yours_ids):.3f}"),
    ("Hugging Face tokenizers", len(hf_tokens), f"{hf_seconds:.3f}", f"{held_out_bytes / len(hf_ids):.3f}"),
]
print(f"{'trainer':<26}{'merges':>8}{'train time (s)':>16}{'bytes/token':>15}")
for name, merges_done, seconds, bpt in rows:
    print(f"{name:<26}{merges_done:>8}{seconds:>16}{bpt:>15}")
print(f"\nlearned tokens in common: {len(yours_tokens & hf_tokens)} of {len(yours_tokens)}")


# %% [markdown] nbgrader={"grade": true, "grade_id": "hf_discussion", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** Compare your tokenizer with the Hugging Face one: compression, training time, and what
# could make their merges differ even though both follow "merge the most frequent pair".
#
# ### BEGIN SOLUTION
# The compression is practically the same (about 2.5 bytes per token at 500 merges on this corpus), so
# both learn essentially the same vocabulary. Hugging Face trains in compiled Rust (and can use several
# threads), yet the incremental Python trainer is within a small factor of it here, while the naive one is
# an order of magnitude slower. The merge lists agree for the most frequent pairs but not everywhere:
# ties are broken differently (Hugging Face orders pairs by its own token ids, which place the bytes in
# the order of GPT-2's printable stand-in characters, e.g. space is `Ġ`; we order by byte value), and
# one early difference changes the counts of everything built on it. The pre-tokenizers also differ on
# rare characters (`\p{L}`, `\p{N}` vs `re`'s classes).
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "special_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 9 · Special tokens
#
# A language model is trained on one long stream of ids, cut into windows of fixed length, so one window
# often holds the end of one document and the start of the next. Without a marker the model would learn
# that a news article may continue with an unrelated recipe. GPT-2 puts the string `<|endoftext|>`
# between documents and gives it an id of its own (50256, the last id of its vocabulary, right after the
# 50,000 merges). When the model generates this id, the text is finished and generation stops.
# Other models add more such **special tokens**: BERT's `[CLS]` and `[SEP]` (Q1 below), padding, or the
# role markers of chat models.
#
# A special token is not text to be compressed: it must become exactly one id, always the same one, so
# the pre-tokenizer must not cut it (`split_chunks` would make `<|`, `endoftext` and `|>` of it) and no
# merge may glue it to its neighbours. Hence the text is first cut **at** the special tokens, and only
# the pieces between them go through `split_chunks` and the merges.
#
# Who may produce a special id? When the training data are assembled, the program that joins the
# documents does, on purpose. But a web page, a user's chat message or a file about tokenizers (this
# notebook!) may contain the characters `<|endoftext|>`. If `encode` turned them into the real
# separator, anyone who can write text could end a document early or forge a chat role. So our
# `encode(text, allow_special=False)` treats special tokens as ordinary text by default (the 13
# characters are encoded byte by byte, like any other text), and recognises them only when the caller
# passes `allow_special=True`. Libraries decide differently: OpenAI's `tiktoken` raises an error by
# default when the text contains a special token, Hugging Face `tokenizers` always recognises the
# special tokens it was given, and so does the tokenizer of Stanford CS336's first assignment.
#
# **Which token when they overlap?** With both `<|endoftext|>` and `<|endoftext|><|endoftext|>`
# registered (CS336 asks for this case), the text `<|endoftext|><|endoftext|><|endoftext|>` could be cut
# in several ways. The rule here, the same as Hugging Face's: scan from the left, and at each position
# take the **longest** special token that starts there, whatever the order in which they were given;
# the example gives the double token, then the single one. With Python's `re`, an alternation
# `(A|B)` tries `A` first, so sort the tokens by length (longest first) before joining them, and pass
# each through `re.escape`: `|` means "or" in a regular expression, so the unescaped pattern
# `<|endoftext|>` matches a lone `<`.
#
# Write `SpecialTokensBPE`, a `ByteLevelBPE` with special tokens:
#
# * `__init__(merges=None, special_tokens=())`: after the byte and merge ids (the given part of
#   `__init__` sets them), give the special tokens the next ids, `len(self.vocab)`, `len(self.vocab) + 1`,
#   ... in the order given (a string given twice keeps its first id). Store them in
#   `self.special_ids` (`dict` string -> id) and put each one's UTF-8 bytes into `self.vocab`, so that
#   `decode` (inherited) turns the id back into the string.
# * `encode(text, allow_special=False)`: without `allow_special`, or without special tokens, the same as
#   `ByteLevelBPE.encode` (`super().encode(text)`). Otherwise cut the text at the special tokens (the
#   longest first, as above), encode each piece between them with `super().encode`, and put the special
#   ids in between: `"a<|endoftext|>b"` gives `encode("a") + [id of <|endoftext|>] + encode("b")`.
#
# We give the tokenizer its merges and special tokens after training. A real trainer would also cut the
# training text at the document separator first, so that no merge spans two documents.

# %% nbgrader={"grade": false, "grade_id": "special_tokens_bpe", "locked": false, "schema_version": 3, "solution": true, "task": false}
class SpecialTokensBPE(ByteLevelBPE):
    """A ByteLevelBPE whose special tokens get ids after the merges and are never split or merged.

    Example:
        >>> tok = SpecialTokensBPE({(97, 98): 256}, ["<|endoftext|>"])
        >>> tok.special_ids
        {'<|endoftext|>': 257}
        >>> tok.encode("ab<|endoftext|>ab", allow_special=True)
        [256, 257, 256]
        >>> tok.decode([256, 257])
        'ab<|endoftext|>'
    """

    def __init__(self, merges=None, special_tokens=()):
        """A tokenizer with the given merges ({(left id, right id): new id}) and special tokens (strings)."""
        super().__init__(merges)
        ### BEGIN SOLUTION
        self.special_ids = {}
        for token in special_tokens:
            if token not in self.special_ids:
                new_id = len(self.vocab)
                self.special_ids[token] = new_id
                self.vocab[new_id] = token.encode("utf-8")
        ### END SOLUTION

    def encode(self, text, allow_special=False):
        """The token ids of `text`; special tokens in it become their ids only when allow_special is True."""
        ### BEGIN SOLUTION
        if not allow_special or not self.special_ids:
            return super().encode(text)
        longest_first = sorted(self.special_ids, key=len, reverse=True)
        pieces = re.split("(" + "|".join(re.escape(token) for token in longest_first) + ")", text)
        out = []
        for index, piece in enumerate(pieces):
            if index % 2 == 1:  # re.split puts the matched separators at the odd positions
                out.append(self.special_ids[piece])
            elif piece:
                out.extend(super().encode(piece))
        return out
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_special_tokens", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the ids of special tokens, encoding around them, allow_special and decoding."""
# The text between special tokens is encoded by your ByteLevelBPE.encode, so the expected ids are built
# with it: a bug there costs the points of ByteLevelBPE's tests, not these.
eot = "<|endoftext|>"
tok_sp = SpecialTokensBPE({(97, 98): 256, (256, 99): 257}, [eot, "<|pad|>"])
base_sp = ByteLevelBPE({(97, 98): 256, (256, 99): 257})  # the same merges, no special tokens
assert dict(tok_sp.special_ids) == {eot: 258, "<|pad|>": 259}, (
    f"bytes and merges use the ids 0-257, so the special tokens get 258 and 259 in the order given; "
    f"got {tok_sp.special_ids} (ids that start at 256 collide with the merges)")
try:
    got = tok_sp.encode(eot, allow_special=True)
except Exception as error:
    raise AssertionError(f"encode({eot!r}, allow_special=True) raised {type(error).__name__}: {error}") from None
assert got == [258], (
    f"with allow_special=True, {eot!r} is one token, id 258; got {got} (cut the text at the special tokens "
    "before split_chunks, which would cut it into '<|', 'endoftext' and '|>')")
text = f"abc{eot}ab c<|pad|>"
try:
    got = tok_sp.encode(text, allow_special=True)
    plain = tok_sp.encode("a < b | endoftext >", allow_special=True)
except Exception as error:
    raise AssertionError(f"encode(..., allow_special=True) raised {type(error).__name__}: {error} (in a regular "
                         "expression '|' means 'or': pass the special tokens through re.escape)") from None
want = base_sp.encode("abc") + [258] + base_sp.encode("ab c") + [259]
assert got == want, (
    f"encode({text!r}, allow_special=True) should be encode('abc') + [258] + encode('ab c') + [259] = {want}, "
    f"got {got}")
assert plain == base_sp.encode("a < b | endoftext >"), (
    f"'a < b | endoftext >' holds no special token, yet encode gave {plain} (escape the special tokens with re.escape: "
    "the unescaped pattern <|endoftext|> matches '<', 'endoftext' or '>')")
got = tok_sp.encode(f"x{eot}y")
assert got == base_sp.encode(f"x{eot}y"), (
    f"by default (allow_special=False) a special token in the text is ordinary text, encoded byte by byte; got {got}")
try:
    back = tok_sp.decode(want)
except Exception as error:
    raise AssertionError(f"decode raised {type(error).__name__}: {error} (put the bytes of each special token "
                         "into self.vocab)") from None
want_text = base_sp.decode(base_sp.encode("abc")) + eot + base_sp.decode(base_sp.encode("ab c")) + "<|pad|>"
assert back == want_text, f"decode should give back {want_text!r}, got {back!r}"
### BEGIN HIDDEN TESTS
import random

from tfscourse.corpora import reference_text


def _ref_pieces(text, specials):
    """[(piece, is it a special token)], scanning from the left and taking the longest special token."""
    out, start, i = [], 0, 0
    while i < len(text):
        match = max((s for s in specials if text.startswith(s, i)), key=len, default=None)
        if match is None:
            i += 1
            continue
        if start < i:
            out.append((text[start:i], False))
        out.append((match, True))
        i = start = i + len(match)
    if start < len(text):
        out.append((text[start:], False))
    return out


def _check_special(merges, specials, texts, what):
    """SpecialTokensBPE(merges, specials) against the reference, where the text between special tokens may
    also be encoded (and decoded) by the student's own ByteLevelBPE: its bugs cost its own tests' points."""
    tok, base = SpecialTokensBPE(dict(merges), list(specials)), ByteLevelBPE(dict(merges))
    want_ids = {}
    for s in specials:
        want_ids.setdefault(s, 256 + len(merges) + len(want_ids))
    assert dict(tok.special_ids) == want_ids, f"{what}: the special tokens need the ids after the merges, in the order given"
    for text in texts:
        pieces = _ref_pieces(text, want_ids)
        try:
            got = tok.encode(text, allow_special=True)
        except Exception as error:
            raise AssertionError(f"{what}: encode({text[:60]!r}, allow_special=True) raised {type(error).__name__}") from None
        ref = [i for p, special in pieces for i in ([want_ids[p]] if special else _bpe_ref_encode(p, merges))]
        if got != ref:
            yours = [i for p, special in pieces for i in ([want_ids[p]] if special else base.encode(p))]
            assert got == yours, f"{what}: wrong ids for {text[:60]!r} with allow_special=True"
        try:
            back = tok.decode(list(got))
        except Exception as error:
            raise AssertionError(f"{what}: decode(encode({text[:60]!r}, allow_special=True)) raised "
                                 f"{type(error).__name__}") from None
        if back != text:
            yours = "".join(p if special else base.decode(base.encode(p)) for p, special in pieces)
            assert back == yours, f"{what}: decode(encode({text[:60]!r}, allow_special=True)) does not give the text back"
        got = tok.encode(text)
        if got != _bpe_ref_encode(text, merges):
            assert got == base.encode(text), f"{what}: without allow_special, {text[:60]!r} must be encoded as ordinary text"


_rng = random.Random(51)
_learned = {p: 256 + k for k, p in enumerate(_bpe_ref_train(reference_text(8000), 256 + 60))}
_words = ["the", " cat", " é", "日本", "🙂", "'s", " 42", "\n\n", "  ", "ab", "<|", "|>", "endoftext", "<", "|"]
for _merges, _specials in [({(97, 98): 256, (98, 99): 257}, ["<|endoftext|>"]),
                           (_learned, ["<|endoftext|>", "<|pad|>", "<|endoftext|>"]),
                           (_learned, ["[SEP]", "[CLS]", "<|im_start|>"]),
                           ({}, ["<|endoftext|>"])]:
    _texts = ["", _specials[0], _specials[0] * 3, f" {_specials[0]} ", f"ab{_specials[-1]}bc", "no special token here"]
    for _ in range(12):
        _texts.append("".join(_rng.choice(_words + list(_specials)) for _ in range(_rng.randint(1, 25))))
    _check_special(_merges, _specials, _texts, f"merges {list(_merges.items())[:2]}..., special tokens {_specials}")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_special_tokens_longest", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check that overlapping special tokens are matched longest first, whatever the order they were given in."""
eot = "<|endoftext|>"
for specials in ([eot, eot + eot], [eot + eot, eot]):
    tok_two = SpecialTokensBPE({}, specials)
    ids = dict(tok_two.special_ids)
    try:
        got = tok_two.encode(eot * 3, allow_special=True)
    except Exception as error:
        raise AssertionError(f"encode raised {type(error).__name__}: {error} (in a regular expression '|' means 'or': "
                             "pass the special tokens through re.escape)") from None
    want = [ids.get(eot + eot), ids.get(eot)]
    assert got == want, (
        f"with the special tokens {specials} (ids {ids}), three {eot} in a row are the double token and then the "
        f"single one, {want}; got {got}. At each position take the longest special token: sort them by length, "
        "longest first, before joining them into a pattern")
### BEGIN HIDDEN TESTS
import random

from tokenizers import Tokenizer, models, pre_tokenizers, trainers

_rng = random.Random(61)
for _specials in (["<|a|>", "<|a|><|b|>", "<|b|>"], ["<s>", "</s>", "<s", "s>"], ["ab", "abab", "b", "aba"]):
    _tok = SpecialTokensBPE({}, list(_specials))
    _ids = dict(_tok.special_ids)
    _names = {i: s for s, i in _ids.items()}
    # Hugging Face tokenizers as an independent reference for where the special tokens are
    _hf = Tokenizer(models.BPE())
    _hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    _hf.train_from_iterator(["x"], trainer=trainers.BpeTrainer(
        vocab_size=300, show_progress=False, special_tokens=list(_specials), initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    for _ in range(25):
        _text = "".join(_rng.choice(list(_specials) + ["x", " ", "<", ">", "|", "a", "s", "b"]) for _ in range(_rng.randint(1, 12)))
        try:
            _got = _tok.encode(_text, allow_special=True)
        except Exception as _error:
            raise AssertionError(f"special tokens {_specials}: encode({_text!r}) raised {type(_error).__name__}") from None
        _found = [_names[i] for i in _got if i in _names]
        _want = [t for t in _hf.encode(_text).tokens if t in _ids]
        assert _found == _want, f"special tokens {_specials}: wrong special tokens found in {_text!r}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "concepts_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 10 · Concept questions
#
# Each answer is a **set** of letters, e.g. `{"A", "C"}`; a question may have one or several correct
# options. Write them in `answer_q1` to `answer_q6` in the cell below (replace each `...`, and delete the
# `raise NotImplementedError()` line). Your answers are checked when the notebook is graded.
#
# **Q1.** How does BERT expect a pair of sentences to be given to it?
# A. `Tokens-of-sentence-1 [SEP] Tokens-of-sentence-2` ·
# B. `[CLS] Tokens-of-sentence-1 Tokens-of-sentence-2` ·
# C. `[CLS] Tokens-of-sentence-1 [SEP] Tokens-of-sentence-2`
#
# **Q2.** When should you train a new tokenizer?
# A. your data resemble those of an existing pretrained model, and you want to pretrain a new model ·
# B. your data resemble those of an existing pretrained model, and you want to fine-tune a new model from
# that pretrained model · C. your data differ from those of an existing pretrained model, and you want to
# pretrain a new model
#
# **Q3.** Which statements describe BPE tokenization?
# A. It is a subword algorithm that starts from a small vocabulary and learns merge rules. ·
# B. It is a subword algorithm that starts from a large vocabulary and removes tokens from it. ·
# C. It learns a merge rule by merging the most frequent pair of tokens. ·
# D. It learns a merge rule by merging the pair that maximises a score favouring frequent pairs whose
# parts are rare. · E. It tokenizes a word by splitting it into characters and applying the merge rules. ·
# F. It tokenizes a word by repeatedly taking the longest vocabulary entry at the start of what is left.
#
# **Q4.** What are the labels in masked language modelling?
# A. Some input tokens are masked at random; the labels are the original input tokens. ·
# B. Some input tokens are masked at random; the labels are the original tokens shifted to the left. ·
# C. Some input tokens are masked at random; the label says whether the sentence is positive or negative. ·
# D. Some tokens of two input sentences are masked at random; the label says whether the sentences are similar.
#
# **Q5.** When should you pretrain a new model?
# A. when no pretrained model exists for your language · B. when you have lots of data, even if a
# pretrained model could work on it · C. when you are worried about the biases of the pretrained model
# you use
#
# **Q6.** Is something wrong with this code?
# ```python
# from transformers import AutoTokenizer, AutoModel
# tokenizer = AutoTokenizer.from_pretrained("bert-base-cased")
# model = AutoModel.from_pretrained("gpt2")
# encoded = tokenizer("Hey!", return_tensors="pt")
# result = model(**encoded)
# ```
# A. No, it looks right. · B. The tokenizer and the model should always come from the same checkpoint. ·
# C. It is good practice to pad and truncate with the tokenizer, since every input is a batch.
#
# *Where the course departs from the handout.* The quiz sheet gives **C** for Q6. That is not the
# problem with this code: a single sentence needs no padding or truncation. The real bug is that the ids
# come from BERT's WordPiece vocabulary while GPT-2 reads them as entries of its own BPE vocabulary, so
# the model receives meaningless tokens (it may even run without an error, which makes the bug worse).
# The course grades **B**. For Q1 the sheet's answer C is the best of the three options, but note that
# BERT also closes the second sentence with a `[SEP]`.

# %% nbgrader={"grade": false, "grade_id": "concept_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
answer_q1 = ...  # a set of letters, e.g. {"A"}
answer_q2 = ...  # a set of letters
answer_q3 = ...  # a set of letters
answer_q4 = ...  # a set of letters
answer_q5 = ...  # a set of letters
answer_q6 = ...  # a set of letters
### BEGIN SOLUTION
answer_q1 = {"C"}
answer_q2 = {"C"}
answer_q3 = {"A", "C", "E"}
answer_q4 = {"A"}
answer_q5 = {"A", "C"}
answer_q6 = {"B"}
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_concept_q1", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q1: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q1, set) and answer_q1 <= {"A", "B", "C"}, "answer_q1 must be a set of letters among A-C"
### BEGIN HIDDEN TESTS
assert type(answer_q1) is set and answer_q1 == {"C"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q2", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q2: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q2, set) and answer_q2 <= {"A", "B", "C"}, "answer_q2 must be a set of letters among A-C"
### BEGIN HIDDEN TESTS
assert type(answer_q2) is set and answer_q2 == {"C"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q3", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q3: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q3, set) and answer_q3 <= set("ABCDEF"), "answer_q3 must be a set of letters among A-F"
### BEGIN HIDDEN TESTS
assert type(answer_q3) is set and answer_q3 == {"A", "C", "E"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q4", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q4: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q4, set) and answer_q4 <= {"A", "B", "C", "D"}, "answer_q4 must be a set of letters among A-D"
### BEGIN HIDDEN TESTS
assert type(answer_q4) is set and answer_q4 == {"A"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q5", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q5: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q5, set) and answer_q5 <= {"A", "B", "C"}, "answer_q5 must be a set of letters among A-C"
### BEGIN HIDDEN TESTS
assert type(answer_q5) is set and answer_q5 == {"A", "C"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_concept_q6", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q6: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q6, set) and answer_q6 <= {"A", "B", "C"}, "answer_q6 must be a set of letters among A-C"
### BEGIN HIDDEN TESTS
assert type(answer_q6) is set and answer_q6 == {"B"}
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "wrap_up", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Wrap-up
#
# You went from a hand trace of four merges to a byte-level tokenizer that handles any Unicode text and
# trains in a fraction of a second. Before handing in: *Kernel → Restart and run all*, check that every
# visible test passes, then save (on Colab: *File → Download → Download .ipynb*).
