"""Benchmark of the course's reference GPT (tfscourse.unlocked.gpt): training speed and the loss it reaches.

    python benchmarks/bench_gpt.py                       # CPU reference preset (language reference, bytes), 2 threads
    python benchmarks/bench_gpt.py --seed 1                # the same with another seed (initialisation and batches)
    python benchmarks/bench_gpt.py --preset colab-t4-fp16   # needs CUDA (Colab T4); TinyStories if reachable
    python benchmarks/bench_gpt.py --preset large-gpu-bf16  # needs a bf16 GPU (A100/H100)
    python benchmarks/bench_gpt.py --list                 # the presets with their targets
    python benchmarks/bench_gpt.py --smoke                # a 1-layer model, 3 steps: a check that it still runs

Prints tokens/s of training, the final train/val loss against the preset's target and
against the best count-based bigram on the same tokens (nats per token and bits per character),
wall time, peak GPU memory (CUDA) and the tokens/s of the same model with the explicit
attention versus F.scaled_dot_product_attention. No assertions: timings on a shared
machine are noisy; the numbers go into the course notes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import resource
import time
from dataclasses import asdict

import torch

from tfscourse.gpt_training import (
    PRESETS,
    ModelSize,
    Preset,
    TrainConfig,
    fit_to_corpus,
    pick_device,
    set_sdpa,
    train,
)
from tfscourse.lm_corpus import (
    bigram_baseline,
    bits_per_character,
    encode,
    load_corpus,
    train_tokenizer,
)
from tfscourse.unlocked.gpt import GPT, GPTConfig, configure_optimizer, get_batch, lr_at, train_step


def attention_speed(model, data, block_size, batch_size, device, steps=8):
    """Training tokens/s with the explicit attention and with SDPA (forward + backward, no update)."""
    out = {}
    for name, flag in (("explicit", False), ("sdpa", True)):
        set_sdpa(model, flag)
        g = torch.Generator().manual_seed(0)
        x = torch.stack([data[i : i + block_size] for i in torch.randint(len(data) - block_size - 1, (batch_size,), generator=g).tolist()])
        x = x.to(device)
        for i in range(steps + 2):
            if i == 2:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
            _, loss = model(x, x)
            loss.backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        out[name] = steps * x.numel() / (time.perf_counter() - start)
        model.zero_grad(set_to_none=True)
    set_sdpa(model, True)
    return out


def smoke_preset(preset: Preset) -> Preset:
    """``preset`` shrunk to seconds on a CPU: one small layer, 3 steps, few evaluation batches."""
    return dataclasses.replace(
        preset, name=f"{preset.name} (smoke)", tokenizer_vocab=300, corpus="offline",
        model=ModelSize(block_size=16, vocab_size=300, n_layer=1, n_head=2, n_embd=16, dropout=0.0, bias=True),
        train=TrainConfig(batch_size=4, max_steps=3, warmup_steps=1, eval_interval=3, eval_iters=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu-reference", choices=sorted(PRESETS))
    parser.add_argument("--steps", type=int, default=None, help="override max_steps")
    parser.add_argument("--seed", type=int, default=None, help="override the preset's seed")
    parser.add_argument("--threads", type=int, default=2,
                        help="CPU threads for torch (default 2: the course's student machine)")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--smoke", action="store_true",
                        help="the preset shrunk to one small layer and 3 steps (seconds): checks that the benchmark still runs")
    args = parser.parse_args()
    if args.list:
        for p in PRESETS.values():
            print(json.dumps(p.as_dict()))
        return
    preset = smoke_preset(PRESETS[args.preset]) if args.smoke else PRESETS[args.preset]
    device = pick_device()
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    print(f"preset {preset.name} on {device} ({torch.get_num_threads()} CPU threads, torch {torch.__version__})")
    print(f"load average at start: {os.getloadavg()[0]:.1f} (other processes slow a shared CPU down)")
    if args.preset != "cpu-reference" and device.type != "cuda":
        print(f"no CUDA GPU here: not run. Target val loss {preset.target_val_loss} in about "
              f"{preset.expected_minutes:.0f} min ({preset.note}).")
        return
    t0 = time.perf_counter()
    corpus = load_corpus(preset.corpus, max_chars=20_000 if args.smoke else preset.corpus_chars)
    tok = train_tokenizer(corpus.train, preset.tokenizer_vocab)
    train_ids, val_ids = encode(tok, corpus.train), encode(tok, corpus.val)
    print(f"corpus: {corpus.name}; {len(train_ids):,} train / {len(val_ids):,} val tokens, "
          f"vocab {tok.get_vocab_size()} ({time.perf_counter() - t0:.1f} s)")
    preset = fit_to_corpus(preset, len(train_ids))
    cfg = dataclasses.replace(preset.train)  # a copy: the preset itself stays as defined
    if args.steps is not None:
        cfg.max_steps = args.steps
    if args.seed is not None:
        cfg.seed = args.seed
    baseline = bigram_baseline(train_ids, val_ids, preset.model.vocab_size)
    torch.manual_seed(cfg.seed)
    model = GPT(GPTConfig(**asdict(preset.model))).to(device)
    print(f"model: {model.num_params():,} parameters; initial loss should be ln({preset.model.vocab_size}) "
          f"= {math.log(preset.model.vocab_size):.3f}")
    hist = train(model, train_ids, val_ids, cfg, device, get_batch_fn=get_batch, lr_fn=lr_at,
                 optimizer_fn=configure_optimizer, step_fn=train_step)
    total = time.perf_counter() - t0
    speeds = attention_speed(model, train_ids, preset.model.block_size, cfg.batch_size, device, steps=2 if args.smoke else 8)
    print("---")
    print(f"train tokens/s: {hist.tokens_per_s:,.0f}")
    print(f"final train loss {hist.train_loss[-1]:.3f}, val loss {hist.val_loss[-1]:.3f} "
          f"(target {preset.target_val_loss}, {'measured' if preset.measured else 'an unmeasured estimate'})")
    bpc = lambda loss: bits_per_character(loss, len(val_ids), len(corpus.val))  # noqa: E731
    print(f"best bigram ({baseline['method']}): val loss {baseline['loss']:.3f}; GPT minus bigram "
          f"{hist.val_loss[-1] - baseline['loss']:+.3f} nats/token")
    print(f"bits per character: GPT {bpc(hist.val_loss[-1]):.3f}, bigram {bpc(baseline['loss']):.3f}")
    print(f"seed {cfg.seed}, {cfg.max_steps} steps of {cfg.batch_size} x {preset.model.block_size} tokens")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"CPU time of this process: {usage.ru_utime + usage.ru_stime:.0f} s")
    print(f"wall time {total:.0f} s (training steps {hist.seconds:.0f} s)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    if hist.peak_memory_mb is not None:
        print(f"peak GPU memory {hist.peak_memory_mb:,.0f} MiB")
    print(f"forward+backward tokens/s: explicit attention {speeds['explicit']:,.0f}, "
          f"F.scaled_dot_product_attention {speeds['sdpa']:,.0f}")
    model.eval()
    prompt = torch.tensor([encode(tok, "The").tolist()], device=device)
    sample = model.generate(prompt, 5 if args.smoke else 40, temperature=0.8, top_k=50)[0].tolist()
    print("sample:", repr(tok.decode(sample)))


if __name__ == "__main__":
    main()
