"""Benchmark of notebook 07's experiment (tfscourse.finetune): the method comparison and the learning curve.

    python benchmarks/bench_finetuning.py            # the notebook's default settings (CPU: 3-5 minutes with the GPT cached)
    python benchmarks/bench_finetuning.py --quick    # the autograde settings (a few seconds)
    python benchmarks/bench_finetuning.py --no-cache # pre-train again instead of loading the checkpoint
    python benchmarks/bench_finetuning.py --smoke    # --quick --no-cache, 2 timing repeats: a check that it still runs

Runs the same functions as the notebook's section 10 (``ft.compare_methods`` and
``ft.learning_curve``), with the benchmark's own LoRA and adapter layers in place of the
student's. Prints the pre-training time; for each method its trainable parameters, chosen
learning rate, validation accuracy, test accuracy per seed with mean ± sd, and seconds per run;
the learning curve (test accuracy against labelled passages per topic, mean ± sd over the
seeds); and the inference time of one batch for the frozen model, LoRA unmerged, LoRA merged,
prefix- and prompt-tuning. No assertions: timings on a shared machine are noisy; the numbers
go into the course notes.
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


class Adapter(nn.Module):
    """The benchmark's own bottleneck adapter: h + up(relu(down(h))), up starting at zero."""

    def __init__(self, d, bottleneck):
        super().__init__()
        self.down, self.up = nn.Linear(d, bottleneck), nn.Linear(bottleneck, d)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, h):
        return h + self.up(torch.relu(self.down(h)))


def prepend_prompt(embeddings: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
    """The benchmark's own prompt placement: (B, T, d) and (P, d) -> (B, P + T, d), the prompt first."""
    return torch.cat([prompt.expand(embeddings.shape[0], -1, -1), embeddings], dim=1)


def count_trainable(model: nn.Module) -> int:
    """Trainable numbers in ``model`` (each shared parameter once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


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
    start = time.perf_counter()
    summary = ft.compare_methods(pretrained, data, cfg, count=count_trainable, lora_cls=LoRALinear, adapter_cls=Adapter,
                                 prepend=prepend_prompt)
    print(f"\nmethod comparison: {cfg.labels_per_class} labelled passages per topic, seeds {list(cfg.finetune_seeds)} "
          f"({time.perf_counter() - start:.0f} s in all)")
    print(ft.summary_table(summary))
    for s in summary.values():
        print(f"{s.method:>16}: learning rate -> validation accuracy {s.val_accuracy}; seconds per run "
              + " ".join(f"{t:.1f}" for t in s.seconds))
    start = time.perf_counter()
    curve = ft.learning_curve(pretrained, data, cfg, {m: s.lr for m, s in summary.items()}, known=summary,
                              prepend=prepend_prompt)
    print(f"\nlearning curve: test accuracy, mean ± sd over seeds {list(cfg.finetune_seeds)} "
          f"({time.perf_counter() - start:.0f} s)")
    print(ft.curve_table(curve))
    models = {m: ft.build_classifier(m, pretrained, cfg, len(data.labels), 0, LoRALinear, Adapter, prepend_prompt)
              for m in ("head only", "LoRA", "prefix", "prompt")}
    for model in models.values():
        with torch.no_grad():  # random, not trained: only the timing and the merge check matter here
            for name, p in model.named_parameters():
                if p.requires_grad and name.endswith(".B"):
                    p.normal_(0, 0.02)
    x = data.test_x[:64]
    lora = models["LoRA"]
    with torch.no_grad():
        before = lora(x)
    timings = {
        "frozen base (head only)": inference_ms(models["head only"], x, repeats),
        "LoRA unmerged": inference_ms(lora, x, repeats),
    }
    merge_all(lora)
    print()
    with torch.no_grad():
        print(f"merged LoRA max |difference| in logits: {float((lora(x) - before).abs().max()):.2e}")
    timings["LoRA merged"] = inference_ms(lora, x, repeats)
    timings["prefix"] = inference_ms(models["prefix"], x, repeats)
    timings["prompt"] = inference_ms(models["prompt"], x, repeats)
    for name, ms in timings.items():
        print(f"inference, batch of {len(x)}: {name:>24}: {ms:6.2f} ms")


if __name__ == "__main__":
    main()
