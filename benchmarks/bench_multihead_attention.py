"""Benchmark for notebook 02: the master solution's NumPy multi-head attention against PyTorch.

Runs the solution cells of ``course/02_multihead_attention/multihead_attention.ipynb`` (so the
figures are for the code the notebook ships), then for a few sizes (S tokens, E = 256, H = 8,
M_QK = M_V = 32) times one forward pass of
  * ``multi_head_attention`` (NumPy, float64, batched einsum/matmul over heads),
  * ``torch.nn.MultiheadAttention`` (bias=False, batch_first, float64 and float32, no grad),
checks that NumPy and PyTorch (float64) agree, and times drawing the sketch. Best of ``--repeat``
runs; timings on a shared machine are noisy.

Usage (pin NumPy's BLAS to one thread too, or its timings swing by 10x on a shared machine):
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_multihead_attention.py
    python benchmarks/bench_multihead_attention.py --lengths 64 256 1024 --threads 1
    python benchmarks/bench_multihead_attention.py --smoke   # S=8, E=16, H=2, once: a check that it still runs
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import nbformat
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "course" / "02_multihead_attention" / "multihead_attention.ipynb"


def solution_namespace() -> dict:
    """Execute the imports and the solution cells that define the graded functions."""
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    namespace: dict = {"__name__": "bench"}
    wanted = {"imports", "multi_head_attention", "mha_shapes"}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in wanted:
            exec(compile(cell.source, cell.metadata["nbgrader"]["grade_id"], "exec"), namespace)
    return namespace


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def torch_layer(W_Q, W_K, W_V, W_O, dtype):
    H, E, M = W_Q.shape
    layer = torch.nn.MultiheadAttention(E, H, bias=False, batch_first=True, dtype=dtype)

    def stack(W):  # (H, E, M) -> (H*M, E), torch's row-per-output layout
        return torch.tensor(W.transpose(1, 0, 2).reshape(E, H * M).T.copy(), dtype=dtype)

    with torch.no_grad():
        layer.in_proj_weight.copy_(torch.cat([stack(W_Q), stack(W_K), stack(W_V)]))
        layer.out_proj.weight.copy_(torch.tensor(W_O.T.copy(), dtype=dtype))
    return layer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--embed", type=int, default=256)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (numpy follows its BLAS settings)")
    parser.add_argument("--smoke", action="store_true",
                        help="one short sequence, small sizes, 1 repeat (seconds): checks that the benchmark still runs")
    args = parser.parse_args()
    if args.smoke:
        args.lengths, args.embed, args.heads, args.repeat = [8], 16, 2, 1
    torch.set_num_threads(args.threads)
    ns = solution_namespace()
    mha = ns["multi_head_attention"]
    E, H = args.embed, args.heads
    M = E // H
    rng = np.random.default_rng(0)
    W_Q, W_K, W_V = (rng.normal(size=(H, E, M)) / np.sqrt(E) for _ in range(3))
    W_O = rng.normal(size=(H * M, E)) / np.sqrt(E)
    layers = {dtype: torch_layer(W_Q, W_K, W_V, W_O, dtype) for dtype in (torch.float64, torch.float32)}
    print(f"E={E}, H={H}, M_QK=M_V={M}, torch threads={args.threads}, best of {args.repeat}")
    print(f"{'S':>6} {'numpy f64 ms':>13} {'torch f64 ms':>13} {'torch f32 ms':>13} {'max |diff|':>11}")
    for S in args.lengths:
        X = rng.normal(size=(S, E))
        t_np = best_of(lambda X=X: mha(X, W_Q, W_K, W_V, W_O), args.repeat)
        times, outputs = {}, {}
        for dtype, layer in layers.items():
            tx = torch.tensor(X, dtype=dtype)[None]

            def run(layer=layer, tx=tx):
                with torch.no_grad():
                    return layer(tx, tx, tx, need_weights=True, average_attn_weights=False)

            times[dtype] = best_of(run, args.repeat)
            outputs[dtype] = run()[0][0].double().numpy()
        diff = float(np.abs(mha(X, W_Q, W_K, W_V, W_O)[0] - outputs[torch.float64]).max())
        print(f"{S:>6} {1e3 * t_np:>13.2f} {1e3 * times[torch.float64]:>13.2f} {1e3 * times[torch.float32]:>13.2f} {diff:>11.1e}")

    from tfscourse.mha_sketch import draw_mha_sketch
    from tfscourse.widgets import figure_png

    shapes = ns["mha_shapes"](5, 8, 2, 3, 4)
    t_sketch = best_of(lambda: figure_png(draw_mha_sketch(shapes, 5, 8, 2, 3, 4)), min(args.repeat, 3))
    print(f"sketch: draw + PNG {1e3 * t_sketch:.0f} ms")


if __name__ == "__main__":
    main()
