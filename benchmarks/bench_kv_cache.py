"""Benchmark of greedy generation with and without a key/value cache (notebook 06, section 11.4).

    python benchmarks/bench_kv_cache.py                 # the CPU preset's shape and the GPU presets' shapes
    python benchmarks/bench_kv_cache.py --gpt2-small    # adds GPT-2 small (124 M parameters, 200 new tokens)
    python benchmarks/bench_kv_cache.py --threads 2     # torch threads (default 1: steady figures on a busy machine)
    python benchmarks/bench_kv_cache.py --smoke         # one tiny model, a few tokens: a check that it still runs

For each model shape (random weights: the speed does not depend on training) it generates
greedily with ``GPT.generate(..., temperature=0)`` (the whole context through the model at every
step) and with ``generate_cached`` (the reference answer of notebook 06's section 11.3: only the
newest token, keys and values of the others from a cache), checks that both give the same
tokens, and prints tokens per second of each (best of ``--repeats`` runs) and the ratio. No
assertions on timings: the figures go into the notebook's prose.
"""

from __future__ import annotations

import argparse

import torch

from tfscourse import gpt_extras
from tfscourse.gpt_training import PRESETS, pick_device
from tfscourse.unlocked.gpt import GPT, GPTConfig, generate_cached


def best_rate(fn, n_tokens: int, device: torch.device, repeats: int):
    """(output, best tokens/s over ``repeats`` timed calls after one warm-up call)."""
    out, best = fn(), 0.0
    for _ in range(repeats):
        out, rate = gpt_extras.tokens_per_second(fn, n_tokens, device)
        best = max(best, rate)
    return out, best


def measure(label: str, config: GPTConfig, prompt_len: int, n_new: int, device: torch.device, repeats: int) -> dict:
    torch.manual_seed(0)
    model = GPT(config).to(device).eval()
    prompt = torch.randint(0, config.vocab_size, (1, prompt_len), generator=torch.Generator().manual_seed(0)).to(device)
    full, full_rate = best_rate(lambda: model.generate(prompt, n_new, temperature=0), n_new, device, repeats)
    cached, cached_rate = best_rate(lambda: generate_cached(model, prompt, n_new), n_new, device, repeats)
    same = torch.equal(full, cached)
    print(f"{label:<44} prompt {prompt_len:3d} + {n_new:3d} new: generate {full_rate:9,.0f} tokens/s, "
          f"cached {cached_rate:9,.0f} tokens/s, {cached_rate / full_rate:5.1f}x, same tokens: {same}", flush=True)
    return {"label": label, "generate": full_rate, "cached": cached_rate, "same": same}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--smoke", action="store_true", help="one tiny model, a few tokens (seconds)")
    parser.add_argument("--gpt2-small", action="store_true", help="also GPT-2 small (slow on a CPU)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (CPU; default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure (the best is printed)")
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the notebook's choice)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device) if args.device else pick_device()
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads")
    if args.smoke:
        measure("smoke: 1 layer, C = 16", GPTConfig(block_size=16, vocab_size=50, n_layer=1, n_head=2, n_embd=16),
                4, 8, device, 1)
        return
    for name, preset in PRESETS.items():
        shape = preset.model
        config = GPTConfig(block_size=shape.block_size, vocab_size=shape.vocab_size, n_layer=shape.n_layer,
                           n_head=shape.n_head, n_embd=shape.n_embd)
        prompt_len = 13  # the length of the CPU notebook's prompt "The value of " in bytes
        n_new = min(200, config.block_size - prompt_len)
        measure(f"preset {name} ({shape.n_layer} layers, C = {shape.n_embd})", config, prompt_len, n_new, device,
                args.repeats)
    if args.gpt2_small:
        measure("GPT-2 small (12 layers, C = 768)", GPTConfig(), 5, 200, device, args.repeats)


if __name__ == "__main__":
    main()
