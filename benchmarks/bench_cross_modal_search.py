"""Benchmark of notebook 04's digits search (tfscourse.retrieval): training time and retrieval quality.

    python benchmarks/bench_cross_modal_search.py            # 3 seeds, the notebook's settings
    python benchmarks/bench_cross_modal_search.py --seeds 1
    python benchmarks/bench_cross_modal_search.py --smoke    # 1 seed, 2 epochs: a check that it still runs

Prints, per seed: training time for the notebook's 60 epochs and for the 10 epochs used while
grading, with 1 and with all torch threads; recall@1/5/10 in both directions on the held-out
gallery (one image per caption); and how often the top image gets the digit, the ink and the slant
right. Ends with the time of one typed query in the search widget. No assertions: timings on a
shared machine are noisy; the numbers go into the course notes.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from tfscourse import retrieval


def info_nce(image_emb, text_emb, temperature):
    """CLIP's symmetric InfoNCE (the notebook's answer; kept out of the package)."""
    logits = F.normalize(image_emb, dim=-1) @ F.normalize(text_emb, dim=-1).T / temperature  # (B, B)
    targets = torch.arange(len(logits))
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


def cosine(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return a @ b.T  # (n, d) x (d, m) -> (n, m)


def recall(similarity, k):
    correct = np.diag(similarity)[:, None]
    return float(np.mean((similarity >= correct).sum(axis=1) - 1 < k))


def evaluate(data, run):
    gallery = retrieval.gallery_indices(data, run.test_indices)
    t2i = cosine(run.model.embed_texts([data.captions[i] for i in gallery]), run.model.embed_images(data.images[gallery]))
    top = gallery[t2i.argmax(axis=1)]
    return {
        "gallery": len(gallery),
        "t2i": [recall(t2i, k) for k in (1, 5, 10)],
        "i2t": [recall(t2i.T, k) for k in (1, 5, 10)],
        "digit": float(np.mean(data.labels[top] == data.labels[gallery])),
        "ink": float(np.mean(data.thickness[top] == data.thickness[gallery])),
        "slant": float(np.mean(data.slant[top] == data.slant[gallery])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true",
                        help="one seed, 2 and 1 epochs, 2 queries (seconds): checks that the benchmark still runs")
    args = parser.parse_args()
    if args.smoke:
        args.seeds = 1

    start = time.perf_counter()
    data = retrieval.load_captioned_digits()
    print(f"load digits + captions: {time.perf_counter() - start:.2f} s, {len(data)} images, "
          f"{len(set(data.captions))} captions; torch {torch.__version__}, {torch.get_num_threads()} threads")
    base = retrieval.RetrievalConfig(epochs=2, grading_epochs=1) if args.smoke else retrieval.RetrievalConfig()
    queries = 2 if args.smoke else 20
    for seed in range(args.seeds):
        config = retrieval.RetrievalConfig(seed=seed)
        run = retrieval.train_dual_encoder(data, info_nce, config, epochs=base.epochs)
        grading = retrieval.train_dual_encoder(data, info_nce, config, epochs=base.grading_epochs)
        m, g = evaluate(data, run), evaluate(data, grading)
        print(f"seed {seed}: {base.epochs} epochs {run.seconds:.2f} s (loss {run.losses[-1]:.3f}); "
              f"{base.grading_epochs} epochs {grading.seconds:.2f} s (loss {grading.losses[-1]:.3f}); gallery {m['gallery']}")
        for name, r in (("full", m), ("grading", g)):
            print(f"  {name:>7}: text->image R@1/5/10 " + " ".join(f"{x:.3f}" for x in r["t2i"])
                  + "  image->text " + " ".join(f"{x:.3f}" for x in r["i2t"])
                  + f"  top-1 digit {r['digit']:.2f} ink {r['ink']:.2f} slant {r['slant']:.2f}")

    # Thread count: the package trains with one thread; compare with a plain multi-threaded loop.
    threads = torch.get_num_threads()
    if threads > 1:
        set_threads = torch.set_num_threads
        torch.set_num_threads = lambda n: None  # keep all threads for this one measurement
        try:
            run = retrieval.train_dual_encoder(data, info_nce, base, epochs=base.grading_epochs)
        finally:
            torch.set_num_threads = set_threads
        print(f"{base.grading_epochs} epochs with {threads} threads: {run.seconds:.2f} s (the package uses 1)")

    run = retrieval.train_dual_encoder(data, info_nce, base, epochs=base.grading_epochs)
    search = retrieval.CaptionSearch(run.model, data, retrieval.gallery_indices(data, run.test_indices), cosine)
    start = time.perf_counter()
    for _ in range(queries):
        search.top_k("a thick seven leaning right", 8)
    query_ms = (time.perf_counter() - start) / queries * 1000
    start = time.perf_counter()
    search.redraw()
    print(f"one typed query: ranking {query_ms:.2f} ms, redraw with the picture {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
