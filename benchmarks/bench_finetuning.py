"""Benchmark of notebook 07's experiment (tfscourse.finetune): time, accuracy and parameters per method.

    python benchmarks/bench_finetuning.py            # the notebook's default settings (CPU: 1-3 minutes)
    python benchmarks/bench_finetuning.py --quick    # the autograde settings (a few seconds)
    python benchmarks/bench_finetuning.py --no-cache # pre-train again instead of loading the checkpoint
    python benchmarks/bench_finetuning.py --smoke    # --quick --no-cache, 2 timing repeats: a check that it still runs

Prints the pre-training time, then for each fine-tuning method its trainable parameters,
train/test accuracy and seconds, and finally the inference time of one batch for the
frozen model, LoRA unmerged, LoRA merged and prefix-tuning. No assertions: timings on a
shared machine are noisy; the numbers go into the course notes.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch import nn

from tfscourse import finetune as ft


class LoRALinear(nn.Module):
    """The benchmark's own LoRA layer (the notebook's graded class is not in the package)."""

    def __init__(self, base: nn.Linear, r, alpha):
        super().__init__()
        self.base = base.requires_grad_(False)
        self.scaling = alpha / r
        self.A = nn.Parameter(torch.empty(r, base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))

    def forward(self, x):
        return self.base(x) + self.scaling * (x @ self.A.T) @ self.B.T

    def merge(self):
        merged = nn.Linear(self.base.in_features, self.base.out_features)
        with torch.no_grad():
            merged.weight.copy_(self.base.weight + self.scaling * self.B @ self.A)
            merged.bias.copy_(self.base.bias)
        return merged


def build(method: str, pretrained, cfg: ft.ExperimentConfig, num_labels: int):
    torch.manual_seed(cfg.seed)
    if method == "no pre-training":
        return ft.GPTClassifier(ft.GPT(cfg.gpt_config()), num_labels), cfg.finetune_lr
    model = ft.GPTClassifier(ft.fresh_copy(pretrained), num_labels)
    if method == "full":
        return model, cfg.finetune_lr
    if method == "head only":
        return ft.freeze_body(model), cfg.peft_lr
    if method == "LoRA":
        return ft.add_lora(model, LoRALinear, cfg.lora_r, cfg.lora_alpha), cfg.peft_lr
    if method == "prefix":
        return ft.add_prefix(model, cfg.prefix_len), cfg.peft_lr
    raise ValueError(method)


def merge_all(model: nn.Module) -> nn.Module:
    """Replace every LoRALinear in ``model`` by its merged nn.Linear (in place)."""
    for module in list(model.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, LoRALinear):
                setattr(module, child_name, child.merge())
    return model


@torch.no_grad()
def inference_ms(model: nn.Module, x: torch.Tensor, repeats: int) -> float:
    model.eval()
    with ft.cpu_threads(1):
        model(x)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            best = min(best, time.perf_counter() - start)
    return 1000 * best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the autograde settings")
    parser.add_argument("--no-cache", action="store_true", help="pre-train again (and do not save)")
    parser.add_argument("--smoke", action="store_true",
                        help="--quick --no-cache with 2 timing repeats (seconds): checks that the benchmark still runs")
    args = parser.parse_args()
    if args.smoke:
        args.quick = args.no_cache = True
    repeats = 2 if args.smoke else 20
    cfg = ft.ExperimentConfig.quick() if args.quick else ft.ExperimentConfig()
    start = time.perf_counter()
    data = ft.topic_passages(cfg)
    print(f"data: {len(data.train_y)} train / {len(data.test_y)} test passages, vocabulary {len(data.vocab)}, "
          f"{len(data.pretrain_ids):,} pre-training tokens ({time.perf_counter() - start:.1f} s)")
    start = time.perf_counter()
    pretrained = ft.pretrained_gpt(cfg, cache_dir=None if args.no_cache else "default")
    print(f"pre-trained model ready in {time.perf_counter() - start:.1f} s")
    print(f"{'method':>16} | {'trainable':>9} | {'train acc':>9} | {'test acc':>8} | {'seconds':>7}")
    models = {}
    for method in ["full", "head only", "LoRA", "prefix", "no pre-training"]:
        model, lr = build(method, pretrained, cfg, len(data.labels))
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        run = ft.finetune(model, data, cfg, lr=lr, log=None)
        models[method] = model
        print(f"{method:>16} | {trainable:9,d} | {run.train_accuracy:9.3f} | {run.test_accuracy:8.3f} | {run.seconds:7.1f}")
    x = data.test_x[:64]
    lora = models["LoRA"]
    with torch.no_grad():
        before = lora(x)
    timings = {
        "frozen base (head only)": inference_ms(models["head only"], x, repeats),
        "LoRA unmerged": inference_ms(lora, x, repeats),
    }
    merge_all(lora)
    with torch.no_grad():
        print(f"merged LoRA max |difference| in logits: {float((lora(x) - before).abs().max()):.2e}")
    timings["LoRA merged"] = inference_ms(lora, x, repeats)
    timings["prefix"] = inference_ms(models["prefix"], x, repeats)
    for name, ms in timings.items():
        print(f"inference, batch of {len(x)}: {name:>24}: {ms:6.2f} ms")


if __name__ == "__main__":
    main()
