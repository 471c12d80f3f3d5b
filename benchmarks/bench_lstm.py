"""Benchmark for notebook 05: the NumPy LSTM against torch.nn.LSTM, and the char-LSTM training speed.

Prints
  * forward time of the master notebook's solution ``lstm_forward`` (NumPy, float64, a Python loop
    over time) against ``torch.nn.LSTM`` (float64 and float32) on the same weights, and their
    largest difference;
  * training speed of the notebook's character-level LSTM (``tfscourse.char_lstm``, default config,
    torch's own clipping, one torch thread as in the notebook) in steps/s and characters/s, and the held-out loss after ``--steps`` steps.

The solution functions are executed from ``course/05_lstm/lstm.ipynb`` (cells sigmoid,
lstm_step_from_gates, lstm_cell, lstm_forward). Timings on a shared machine are noisy: each figure
is the best of ``--repeats`` runs.

Usage:
    python benchmarks/bench_lstm.py                 # T=100, B=32, D=64, H=128; 300 training steps
    python benchmarks/bench_lstm.py --steps 800     # the notebook's full training run
    python benchmarks/bench_lstm.py --smoke         # T=5, B=2, D=3, H=4; 3 steps: a check that it still runs
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import nbformat
import numpy as np
import torch

from tfscourse.char_lstm import CharLMConfig, CharLSTM, CharVocab, random_windows
from tfscourse.corpora import reference_text, train_val_split
from tfscourse_staff.notebooks import grade_id

ROOT = Path(__file__).resolve().parents[1]
SOLUTION_CELLS = ("sigmoid", "lstm_step_from_gates", "lstm_cell", "lstm_forward")


def solution_namespace() -> dict:
    nb = nbformat.read(str(ROOT / "course/05_lstm/lstm.ipynb"), as_version=4)
    namespace: dict = {}
    for cell in nb.cells:
        if grade_id(cell) in SOLUTION_CELLS:
            exec(compile(cell.source, grade_id(cell), "exec"), namespace)
    return namespace


def best_of(repeats: int, fn) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_forward(T: int, B: int, D: int, H: int, repeats: int) -> None:
    lstm_forward = solution_namespace()["lstm_forward"]
    torch.manual_seed(0)
    ref = torch.nn.LSTM(D, H).double()
    weights = [getattr(ref, n).detach().numpy() for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")]
    rng = np.random.default_rng(0)
    X, h0, c0 = rng.normal(size=(T, B, D)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    ours, _ = lstm_forward(X, h0, c0, *weights)
    with torch.no_grad():
        theirs, _ = ref(torch.tensor(X), (torch.tensor(h0)[None], torch.tensor(c0)[None]))
    ref32 = torch.nn.LSTM(D, H).float()
    ref32.load_state_dict({k: v.float() for k, v in ref.state_dict().items()})
    X32, state32 = torch.tensor(X, dtype=torch.float32), (torch.tensor(h0, dtype=torch.float32)[None], torch.tensor(c0, dtype=torch.float32)[None])
    t_numpy = best_of(repeats, lambda: lstm_forward(X, h0, c0, *weights))
    with torch.no_grad():
        t_torch64 = best_of(repeats, lambda: ref(torch.tensor(X), (torch.tensor(h0)[None], torch.tensor(c0)[None])))
        t_torch32 = best_of(repeats, lambda: ref32(X32, state32))
    print(f"forward T={T}, B={B}, D={D}, H={H} (best of {repeats}, {torch.get_num_threads()} torch threads)")
    print(f"  NumPy lstm_forward (solution) {t_numpy * 1e3:8.1f} ms")
    print(f"  torch.nn.LSTM float64         {t_torch64 * 1e3:8.1f} ms")
    print(f"  torch.nn.LSTM float32         {t_torch32 * 1e3:8.1f} ms")
    print(f"  largest |NumPy - torch| (float64): {np.abs(ours - theirs.numpy()).max():.2e}")


def bench_training(steps: int) -> None:
    config = CharLMConfig(steps=steps)
    text = reference_text()
    vocab = CharVocab.from_text(text)
    train_text, val_text = train_val_split(text, config.val_fraction)
    train_ids, val_ids = torch.tensor(vocab.encode(train_text)), torch.tensor(vocab.encode(val_text))
    torch.manual_seed(0)
    model = CharLSTM(len(vocab), config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    g = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(steps):
        x, y = random_windows(train_ids, config.seq_len, config.batch_size, g)
        logits, _ = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_norm)
        optimizer.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        x, y = random_windows(val_ids, config.seq_len, 8 * config.batch_size, torch.Generator().manual_seed(123))
        val = torch.nn.functional.cross_entropy(model(x)[0].reshape(-1, len(vocab)), y.reshape(-1)).item()
    chars = steps * config.batch_size * config.seq_len
    print(f"char-LSTM training, {steps} steps (H={config.hidden_size}, batch {config.batch_size} x {config.seq_len} chars)")
    print(f"  {seconds:.1f} s, {steps / seconds:.1f} steps/s, {chars / seconds / 1e3:.0f}k chars/s; held-out loss {val:.3f} nats/char")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the notebook uses 1)")
    parser.add_argument("--size", type=int, nargs=4, default=(100, 32, 64, 128), metavar=("T", "B", "D", "H"))
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, 3 training steps, 1 repeat (seconds): checks that the benchmark still runs")
    args = parser.parse_args()
    if args.smoke:
        args.size, args.steps, args.repeats = (5, 2, 3, 4), 3, 1
    torch.set_num_threads(args.threads)
    bench_forward(*args.size, repeats=args.repeats)
    bench_training(args.steps)


if __name__ == "__main__":
    main()
