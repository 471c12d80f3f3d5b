"""Benchmark for notebook 03: byte-level BPE training, three trainers in one run.

Learns 1,000 merges on 1 MB of text with
  * the course's reference trainer (``tfscourse_staff.reference.bpe.learn_merges``: incremental pair counts, pure Python),
  * the naive trainer (``tfscourse_staff.reference.bpe.learn_merges_naive``: recounts every pair after each merge),
  * Hugging Face ``tokenizers`` (Rust BPE trainer, ByteLevel pre-tokenizer, same vocabulary size),
and prints training times and compression (bytes per token) on held-out text.

The default 1 MB corpus is offline: the Python language reference bundled with CPython
(``tfscourse.corpora.reference_text``, about 0.47 MB) followed by the docstrings of the standard
library's modules, classes and functions, cut at 1,000,000 UTF-8 bytes. ``--text FILE`` uses a
local UTF-8 file instead. Hugging Face runs on one thread (``RAYON_NUM_THREADS=1``) unless
``--hf-threads`` says otherwise, so that all three use one core.

Usage:
    python benchmarks/bench_bpe.py                      # 1 MB, 1000 merges, all three trainers
    python benchmarks/bench_bpe.py --naive-merges 200   # naive trainer stops at 200 merges (extrapolated)
    python benchmarks/bench_bpe.py --smoke              # 30 kB, 50 merges: a check that it still runs
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import sysconfig
import time
from pathlib import Path


def stdlib_docstrings(limit_bytes: int) -> str:
    """Docstrings of the standard library (sorted files), joined by blank lines, up to ``limit_bytes``."""
    parts, size = [], 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py")):
        if "test" in path.parts or "site-packages" in path.parts:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) > 40:
                    parts.append(doc)
                    size += len(doc.encode("utf-8")) + 2
                    if size >= limit_bytes:
                        return "\n\n".join(parts)
    return "\n\n".join(parts)


def offline_corpus(n_bytes: int = 1_000_000) -> str:
    """The reference text, then standard-library docstrings, cut at ``n_bytes`` UTF-8 bytes."""
    from tfscourse.corpora import reference_text

    text = reference_text() + "\n\n"
    text += stdlib_docstrings(n_bytes - len(text.encode("utf-8")))
    data = text.encode("utf-8")[:n_bytes]
    return data.decode("utf-8", errors="ignore")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", help="a local UTF-8 text file (default: the bundled 1 MB corpus)")
    parser.add_argument("--merges", type=int, default=1000)
    parser.add_argument("--naive-merges", type=int, default=None, help="merges for the naive trainer (default: --merges)")
    parser.add_argument("--hf-threads", type=int, default=1)
    parser.add_argument("--smoke", action="store_true",
                        help="30 kB of the corpus and 50 merges (seconds): checks that the benchmark still runs")
    args = parser.parse_args(argv)
    if args.smoke:
        args.merges = 50
    os.environ.setdefault("RAYON_NUM_THREADS", str(args.hf_threads))

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    from tfscourse_staff.reference.bpe import (
        ByteLevelBPE,
        chunk_counts,
        learn_merges,
        learn_merges_naive,
    )

    text = Path(args.text).read_text(encoding="utf-8") if args.text else offline_corpus(30_000 if args.smoke else 1_000_000)
    cut = int(len(text) * 0.95)
    train, held_out = text[:cut], text[cut:]
    held_bytes = len(held_out.encode("utf-8"))
    n, n_naive = args.merges, args.naive_merges or args.merges
    print(f"corpus: {len(text.encode('utf-8')):,} bytes ({len(train.encode('utf-8')):,} for training, "
          f"{held_bytes:,} held out); {n} merges; python {sys.version.split()[0]}, 1 core")

    # reference trainer (pre-tokenization included in its time)
    start = time.perf_counter()
    counts = chunk_counts(train)
    split_seconds = time.perf_counter() - start
    merges = learn_merges(counts, n)
    fast_seconds = time.perf_counter() - start
    ours = ByteLevelBPE(merges)
    start = time.perf_counter()
    ours_ids = ours.encode(held_out)
    encode_seconds = time.perf_counter() - start
    assert ours.decode(ours_ids) == held_out

    # naive trainer on the same chunk counts (pre-tokenization time added)
    start = time.perf_counter()
    naive = learn_merges_naive(counts, n_naive)
    naive_seconds = time.perf_counter() - start + split_seconds
    same = naive == merges[: len(naive)]

    # Hugging Face tokenizers
    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=256 + n, min_frequency=2, show_progress=False, special_tokens=[],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    start = time.perf_counter()
    hf.train_from_iterator([train], trainer=trainer)
    hf_seconds = time.perf_counter() - start
    hf_ids = hf.encode(held_out).ids

    print(f"\n{'trainer':<44}{'merges':>7}{'seconds':>10}{'bytes/token':>13}")
    print(f"{'tfscourse_staff.reference.bpe.learn_merges (incremental)':<44}{len(merges):>7}{fast_seconds:>10.2f}"
          f"{held_bytes / len(ours_ids):>13.3f}")
    naive_note = "" if n_naive == n else f"   (~{naive_seconds * n / n_naive:.0f} s for {n}, linear extrapolation)"
    print(f"{'tfscourse_staff.reference.bpe.learn_merges_naive (recount)':<44}{len(naive):>7}{naive_seconds:>10.2f}"
          f"{'same merges' if same else 'DIFFERENT':>13}{naive_note}")
    print(f"{'Hugging Face tokenizers ' + '(' + os.environ['RAYON_NUM_THREADS'] + ' thread)':<44}"
          f"{hf.get_vocab_size() - 256:>7}{hf_seconds:>10.2f}{held_bytes / len(hf_ids):>13.3f}")
    print(f"\nof which pre-tokenization (regex + chunk counts): {split_seconds:.2f} s; "
          f"encoding the held-out text: {encode_seconds:.2f} s")
    print(f"speed-up of the incremental trainer over the naive one: "
          f"{(naive_seconds * n / n_naive) / fast_seconds:.0f}x; target for the reference: < 10 s "
          f"({'met' if fast_seconds < 10 else 'MISSED'})")
    return 0 if same else 1  # the two course trainers must learn the same merges


if __name__ == "__main__":
    raise SystemExit(main())
