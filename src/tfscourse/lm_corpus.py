"""Corpora, a byte-level BPE tokenizer and a count-based baseline for the GPT notebook (06).

``load_corpus`` returns a training and a validation text:

* ``source="offline"`` (the default; what a Hugging Face source falls back to offline or while graded): the
  source code of the Python standard library that runs the notebook (``*.py`` files,
  test suites left out; about 12 MB on CPython 3.11). Every tenth file, in sorted
  order, is the validation text, so both splits cover the same kinds of module;
* ``source="tinystories"`` or ``"wikitext2"``: Hugging Face ``datasets``, streamed, so
  only the first ``max_chars`` characters are downloaded (Colab has the library and
  the network; ``hf_path=`` points the same code at a local copy);
* ``source="reference"``: Python's language reference bundled in ``pydoc_data``
  (0.47 MB of English prose with code examples, the last 10 % for validation): the CPU
  preset's text, read byte by byte, the same text and split as notebook 05's character LSTM;
* ``path=...``: any local UTF-8 text file (split 90/10, head and tail).

``train_tokenizer`` trains a byte-level BPE (Hugging Face ``tokenizers``) on the
training text only, so the validation text is never seen while building the vocabulary.
``bigram_baseline`` is the best count-based bigram model on the same tokens: the loss a
GPT has to beat before its context is worth anything.

Example:
    >>> corpus = load_corpus(source="reference", max_chars=20000)
    >>> tok = train_tokenizer(corpus.train, vocab_size=300)
    >>> decode(tok, encode(tok, "hello world").tolist())
    'hello world'
"""

from __future__ import annotations

import math
import os
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import torch

from tfscourse.corpora import load_text, reference_text, train_val_split
from tfscourse.environment import grading_mode


@dataclass
class Corpus:
    """A training text, a validation text and where they came from."""

    train: str
    val: str
    name: str


#: the Hugging Face data sets ``load_corpus`` can stream: (path, config name, text field, validation split)
HF_SOURCES = {
    "tinystories": ("roneneldan/TinyStories", None, "text", "validation", "TinyStories"),
    "wikitext2": ("wikitext", "wikitext-2-raw-v1", "text", "validation", "WikiText-2 (raw)"),
}
_SKIPPED_DIRS = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}


def stdlib_files() -> list[Path]:
    """The standard library's ``*.py`` files in sorted order, test suites and installed packages left out."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        files += [Path(folder) / name for name in sorted(names) if name.endswith(".py")]
    return files


def stdlib_corpus(max_chars: int | None = None) -> Corpus:
    """The Python standard library's source: every tenth file validation, the others training."""
    files = stdlib_files()
    if not files:
        raise FileNotFoundError(f"no standard library source under {sysconfig.get_paths()['stdlib']}")

    def read(paths, limit):
        parts, total = [], 0
        for path in paths:
            text = path.read_text(encoding="utf-8", errors="replace")
            parts.append(text)
            total += len(text) + 2
            if limit is not None and total >= limit:
                break
        joined = "\n\n".join(parts)
        return joined if limit is None else joined[:limit]

    train = read([f for i, f in enumerate(files) if i % 10 != 9], max_chars)
    val = read([f for i, f in enumerate(files) if i % 10 == 9], None if max_chars is None else max_chars // 9 + 1)
    version = ".".join(map(str, sys.version_info[:2]))
    return Corpus(train, val, f"Python {version} standard library source (offline)")


def hf_corpus(source: str, max_chars: int | None = None, hf_path: str | None = None) -> Corpus:
    """A Hugging Face data set of ``HF_SOURCES``, streamed: only what ``max_chars`` needs is downloaded.

    ``hf_path`` replaces the data set's name (a local folder with ``train`` and
    ``validation`` files, as the tests write one).
    """
    import datasets  # optional: not a course dependency; Colab has it

    path, config, field, val_split, label = HF_SOURCES[source]
    val_chars = None if max_chars is None else max_chars // 9 + 1

    def take(split, limit):
        stream = datasets.load_dataset(hf_path or path, None if hf_path else config, split=split, streaming=True)
        parts, total = [], 0
        for row in stream:
            text = row[field]
            parts.append(text)
            total += len(text) + 1
            if limit is not None and total >= limit:
                break
        joined = "\n".join(parts)
        return joined if limit is None else joined[:limit]

    return Corpus(take("train", max_chars), take(val_split, val_chars), label + (f" ({hf_path})" if hf_path else ""))


def load_corpus(source: str = "offline", path: str | None = None, max_chars: int | None = None,
                hf_path: str | None = None) -> Corpus:
    """Training and validation text. source: "offline", "tinystories", "wikitext2" or "reference".

    A Hugging Face source that cannot be loaded (no ``datasets``, no network) falls back to
    "offline" with a printed note; while the notebook is graded (``grading_mode()``) only
    the offline sources are used.
    """
    if path is not None:
        train, val = train_val_split(load_text(path, max_chars), 0.1)
        return Corpus(train, val, str(path))
    if source in HF_SOURCES and not grading_mode():
        try:
            return hf_corpus(source, max_chars, hf_path)
        except Exception as exc:  # no datasets library, offline, or no cache
            print(f"{source} unavailable ({type(exc).__name__}: {str(exc)[:120]}); using the offline corpus instead.")
    elif source == "reference":
        train, val = train_val_split(reference_text(max_chars), 0.1)
        return Corpus(train, val, "Python language reference (offline)")
    elif source not in HF_SOURCES and source != "offline":
        raise ValueError(f"unknown source {source!r}: offline, reference, {', '.join(HF_SOURCES)}")
    return stdlib_corpus(max_chars)


def train_tokenizer(text: str, vocab_size: int = 2048, min_frequency: int = 2):
    """A byte-level BPE ``tokenizers.Tokenizer`` trained on ``text`` (256 bytes + merges).

    Byte level: every string can be encoded, nothing is ever unknown.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,  # its progress bar would write to stderr
    )
    tok.train_from_iterator(_chunks(text), trainer=trainer)
    return tok


def _chunks(text: str, size: int = 4096) -> list[str]:
    """Split at line ends into pieces of about ``size`` characters (encoding in batches is faster)."""
    lines = text.splitlines(keepends=True)
    out, buf, n = [], [], 0
    for line in lines:
        buf.append(line)
        n += len(line)
        if n >= size:
            out.append("".join(buf))
            buf, n = [], 0
    if buf:
        out.append("".join(buf))
    return out


def encode(tokenizer, text: str) -> torch.Tensor:
    """Token ids of ``text`` as a 1-D int64 tensor (pieces split at line ends, so nothing is lost)."""
    ids: list[int] = []
    for enc in tokenizer.encode_batch(_chunks(text)):
        ids.extend(enc.ids)
    return torch.tensor(ids, dtype=torch.long)


def decode(tokenizer, ids) -> str:
    """Text of a list (or 1-D tensor) of token ids."""
    if isinstance(ids, torch.Tensor):
        ids = ids.tolist()
    return tokenizer.decode(list(ids))


def token_strings(tokenizer, ids) -> list[str]:
    """One readable label per token id (its decoded text, spaces shown as '·')."""
    if isinstance(ids, torch.Tensor):
        ids = ids.tolist()
    return [tokenizer.decode([i]).replace(" ", "·").replace("\n", "⏎") or "∅" for i in ids]


def bigram_baseline(train_ids: torch.Tensor, val_ids: torch.Tensor, vocab_size: int) -> dict:
    """The best count-based bigram model on these tokens: its validation loss in nats per token.

    Two interpolated bigrams are tried, each with its parameter chosen on the validation
    split itself (so the baseline is, if anything, optimistic): Jelinek-Mercer,
    ``lam * c(a, b) / c(a) + (1 - lam) * p(b)`` with an add-one unigram ``p``, and
    interpolated Kneser-Ney, ``max(c(a, b) - d, 0) / c(a) + d * N(a) / c(a) * p_cont(b)``.
    Returns ``{"loss": ..., "method": ..., "losses": {method: loss}}``.
    """
    V = vocab_size
    counts = torch.zeros(V * V, dtype=torch.float64)
    counts.index_add_(0, train_ids[:-1] * V + train_ids[1:], torch.ones(len(train_ids) - 1, dtype=torch.float64))
    counts = counts.view(V, V)  # counts[a, b]: how often b follows a
    unigram = torch.bincount(train_ids, minlength=V).double() + 1.0
    unigram /= unigram.sum()
    row = counts.sum(1)  # c(a)
    a, b = val_ids[:-1], val_ids[1:]
    seen = row[a] > 0
    pair = counts[a, b] / row[a].clamp(min=1.0)
    losses = {}
    for lam in (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98):
        p = torch.where(seen, lam * pair + (1 - lam) * unigram[b], unigram[b])
        losses[f"Jelinek-Mercer lambda={lam}"] = -p.log().mean().item()
    followers = (counts > 0).sum(1).double()  # N(a): distinct tokens seen after a
    continuation = (counts > 0).sum(0).double() + 0.5  # in how many contexts b occurs (smoothed)
    continuation /= continuation.sum()
    for d in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
        discounted = (counts[a, b] - d).clamp(min=0.0) / row[a].clamp(min=1.0)
        p = torch.where(seen, discounted + d * followers[a] / row[a].clamp(min=1.0) * continuation[b], continuation[b])
        losses[f"Kneser-Ney d={d}"] = -p.log().mean().item()
    method = min(losses, key=losses.get)
    return {"loss": losses[method], "method": method, "losses": losses}


def bits_per_character(loss_per_token: float, n_tokens: int, n_chars: int) -> float:
    """A loss in nats per token as bits per character: comparable across tokenizers (and with notebook 05)."""
    return loss_per_token * n_tokens / n_chars / math.log(2)
