"""Training a GPT in a notebook: the loop, the optimiser, devices, presets and attention maps.

Notebook 06 trains the student's own model with the student's ``get_batch`` and
``lr_at``; the loop here only drives them (AdamW, warm-up + cosine through ``lr_fn``,
clipping, mixed precision, evaluation). Nothing here answers a graded cell: the
model and both functions always come from the caller.

Example (with the reference model that students get after notebook 06):
    >>> from tfscourse.unlocked.gpt import GPT, GPTConfig, get_batch, lr_at
    >>> model = GPT(GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, vocab_size=20))
    >>> data = torch.randint(20, (200,))
    >>> cfg = TrainConfig(batch_size=4, max_steps=2, warmup_steps=1, eval_interval=2, eval_iters=1)
    >>> history = train(model, data, data, cfg, torch.device("cpu"), get_batch_fn=get_batch, lr_fn=lr_at, log=None)
    >>> history.steps
    [0, 2]
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import torch
import torch.nn as nn


def set_sdpa(model: nn.Module, enabled: bool) -> None:
    """Switch every attention layer of ``model`` between SDPA and the explicit computation."""
    for module in model.modules():
        if hasattr(module, "use_sdpa"):
            module.use_sdpa = enabled


@torch.no_grad()
def attention_maps(model: nn.Module, idx: torch.Tensor) -> list[torch.Tensor]:
    """Attention weights (H, T, T) of every attention layer for one sequence idx (1, T) or (T,).

    Works for any module with ``c_attn`` (C -> 3C, q|k|v) and ``n_head`` attributes (the
    course's naming), whatever its forward does: the weights are recomputed from each
    layer's input, captured with a forward hook.
    """
    idx = idx.view(1, -1)
    layers = [m for m in model.modules() if hasattr(m, "c_attn") and hasattr(m, "n_head")]
    inputs: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, args, _out: inputs.append(args[0])) for m in layers]
    was_training = model.training
    model.eval()
    try:
        model(idx)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    maps = []
    for layer, x in zip(layers, inputs, strict=True):
        B, T, C = x.shape
        hs = C // layer.n_head
        q, k, _ = layer.c_attn(x).split(C, dim=2)
        q = q.view(B, T, layer.n_head, hs).transpose(1, 2)  # (1, H, T, hs)
        k = k.view(B, T, layer.n_head, hs).transpose(1, 2)  # (1, H, T, hs)
        att = torch.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(hs)  # (1, H, T, hs) x (1, H, T, hs) -> (1, H, T, T)
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool, device=x.device))
        att = att.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        maps.append(att[0].float().cpu())
    return maps


# ---------------------------------------------------------------------------------------------
# small helpers that notebook 06's graded checks call in the kernel (they run outside it and send
# plain data only: a generator, a seed or an optimiser step has to be made on the kernel's side)
# ---------------------------------------------------------------------------------------------


def make_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``: the source of ``get_batch``'s random windows."""
    return torch.Generator().manual_seed(seed)


def manual_seed(seed: int) -> None:
    """Seed torch's global random generator (initialisation, dropout, sampling)."""
    torch.manual_seed(seed)


def parameter_count(model_class, config) -> int:
    """Parameters of ``model_class(config)`` built on PyTorch's meta device (shapes only, no memory).

    Each tensor counts once, so a tied matrix counts once.
    """
    with torch.device("meta"):
        model = model_class(config)
    return sum(p.numel() for p in model.parameters())


def adamw_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float = 1e-2) -> dict:
    """One AdamW step (no weight decay) on the batch ``(x, y)``; what happened, as plain data.

    Returns ``{"loss_before": float, "loss_after": float, "parameters": {name: [numel, gradient
    norm or None]}}`` over ``model.named_parameters()``; the losses come from ``model(x, y)[1]``.
    """
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    loss = model(x, y)[1]
    optimizer.zero_grad()
    loss.backward()
    grads = {name: [p.numel(), None if p.grad is None else float(p.grad.norm())]
             for name, p in model.named_parameters()}
    optimizer.step()
    with torch.no_grad():
        after = model(x, y)[1]
    return {"loss_before": float(loss), "loss_after": float(after), "parameters": grads}


# ---------------------------------------------------------------------------------------------
# device
# ---------------------------------------------------------------------------------------------


def pick_device(prefer: str | None = None) -> torch.device:
    """CUDA if present, else Apple's MPS, else the CPU (or ``prefer`` when given)."""
    if prefer:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """bf16 on GPUs that support it (Ampere and newer), fp16 on older CUDA GPUs (T4), None on CPU/MPS."""
    if device.type != "cuda":
        return None
    # native bf16 needs compute capability 8.0 (Ampere); is_bf16_supported() also says yes for
    # emulated bf16 on a T4 (7.5), which is slow, so ask for the capability itself
    major, _ = torch.cuda.get_device_capability(device)
    return torch.bfloat16 if major >= 8 else torch.float16


def make_grad_scaler(enabled: bool):
    """A CUDA gradient scaler: ``torch.amp.GradScaler("cuda")`` (torch >= 2.3), else ``torch.cuda.amp.GradScaler``.

    The course allows torch 2.1, whose ``torch.amp`` has no ``GradScaler`` yet.
    """
    if hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler("cuda", enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled)  # torch 2.1 and 2.2


def configure_optimizer(model: nn.Module, lr: float, weight_decay: float = 0.1, betas=(0.9, 0.95)):
    """AdamW with weight decay on matrices (Linear weights, embeddings) only, not on biases or norms."""
    params = [p for p in model.parameters() if p.requires_grad]  # each tensor once (tied head)
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas)


# ---------------------------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------------------------


@dataclass
class TrainConfig:
    """How long and how hard to train."""

    batch_size: int = 32  # windows per step; more gives smoother gradients, costs memory
    max_steps: int = 1000  # optimiser steps (the cosine schedule ends here)
    warmup_steps: int = 50  # linear warm-up: Adam's moment estimates settle before big steps
    max_lr: float = 1e-3  # small models tolerate 1e-3; GPT-2 small used 6e-4
    min_lr: float = 1e-4  # a tenth of max_lr, as in the Chinchilla/nanoGPT recipes
    weight_decay: float = 0.1  # on matrices only (see configure_optimizer)
    betas: tuple[float, float] = (0.9, 0.95)  # beta2 0.95: faster to react to loss spikes than 0.999
    grad_clip: float = 1.0  # clip the global gradient norm: one bad batch cannot wreck the weights
    eval_interval: int = 100  # steps between train/val loss estimates
    eval_iters: int = 20  # batches per loss estimate
    seed: int = 1337  # batches and initialisation


@dataclass
class History:
    """Losses recorded by ``train``."""

    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    tokens_per_s: float = 0.0
    seconds: float = 0.0
    peak_memory_mb: float | None = None


@torch.no_grad()
def estimate_loss(model, data: dict[str, torch.Tensor], block_size, batch_size, iters, device, get_batch_fn, seed=0):
    """Mean loss over ``iters`` fixed random batches of each split (the same batches every call)."""
    was_training = model.training
    model.eval()
    out = {}
    dtype = autocast_dtype(device)
    for split, tokens in data.items():
        g = make_generator(seed)
        losses = []
        for _ in range(iters):
            x, y = get_batch_fn(tokens, block_size, batch_size, g)
            with _autocast(device, dtype):
                _, loss = model(x.to(device), y.to(device))
            losses.append(loss.item())
        out[split] = sum(losses) / len(losses)
    model.train(was_training)
    return out


def _autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def train(
    model: nn.Module,
    train_data: torch.Tensor,
    val_data: torch.Tensor,
    cfg: TrainConfig,
    device: torch.device | None = None,
    *,
    get_batch_fn: Callable,
    lr_fn: Callable,
    callback: Callable[[History, int], None] | None = None,
    log: Callable[[str], None] | None = print,
) -> History:
    """Train ``model`` in place: random windows, AdamW, warm-up + cosine, clipping, mixed precision.

    ``get_batch_fn(data, block_size, batch_size, generator)`` and ``lr_fn(step, max_lr,
    warmup_steps, max_steps, min_lr)`` are the caller's: notebook 06 passes the student's,
    notebook 07's pre-training the reference ones. ``callback(history, step)`` runs after
    every evaluation (live plots);
    ``log`` gets one line per evaluation (stdout by default, never stderr).
    """
    device = device or pick_device()
    model.to(device).train()
    block_size = model.config.block_size
    dtype = autocast_dtype(device)
    scaler = make_grad_scaler(enabled=dtype == torch.float16)  # fp16 needs loss scaling
    optimizer = configure_optimizer(model, cfg.max_lr, cfg.weight_decay, cfg.betas)
    g = make_generator(cfg.seed)
    splits = {"train": train_data, "val": val_data}
    hist = History()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    tokens_seen, train_seconds = 0, 0.0
    for step in range(cfg.max_steps + 1):
        if step % cfg.eval_interval == 0 or step == cfg.max_steps:
            losses = estimate_loss(model, splits, block_size, cfg.batch_size, cfg.eval_iters, device, get_batch_fn)
            hist.steps.append(step)
            hist.train_loss.append(losses["train"])
            hist.val_loss.append(losses["val"])
            hist.tokens_per_s = tokens_seen / max(train_seconds, 1e-9)
            if log:
                log(f"step {step:5d}/{cfg.max_steps} | train {losses['train']:.3f} | val {losses['val']:.3f} "
                    f"| lr {lr_fn(step, cfg.max_lr, cfg.warmup_steps, cfg.max_steps, cfg.min_lr):.2e} "
                    + (f"| {hist.tokens_per_s:,.0f} tok/s" if tokens_seen else "| - tok/s"))
            if callback:
                callback(hist, step)
        if step == cfg.max_steps:
            break
        start = time.perf_counter()
        lr = lr_fn(step, cfg.max_lr, cfg.warmup_steps, cfg.max_steps, cfg.min_lr)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = get_batch_fn(train_data, block_size, cfg.batch_size, g)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with _autocast(device, dtype):
            _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        train_seconds += time.perf_counter() - start
        tokens_seen += x.numel()
        hist.lr.append(lr)
    hist.seconds = train_seconds
    hist.tokens_per_s = tokens_seen / max(train_seconds, 1e-9)
    if device.type == "cuda":
        hist.peak_memory_mb = torch.cuda.max_memory_allocated(device) / 2**20
    return hist


# ---------------------------------------------------------------------------------------------
# presets: the benchmark's configurations
# ---------------------------------------------------------------------------------------------


@dataclass
class ModelSize:
    """The shape of a preset's model: the fields of notebook 06's ``GPTConfig``, with no defaults."""

    block_size: int
    vocab_size: int
    n_layer: int
    n_head: int
    n_embd: int
    dropout: float
    bias: bool


@dataclass
class Preset:
    """A model, a training run, its corpus and what it reached (or, where marked, is expected to reach)."""

    name: str
    model: ModelSize
    train: TrainConfig
    tokenizer_vocab: int  # BPE vocabulary trained on the corpus's training split
    corpus: str  # a source of tfscourse.lm_corpus.load_corpus: "offline", "tinystories", "wikitext2"
    corpus_chars: int | None  # characters of training text to load (None: all)
    target_val_loss: float
    expected_minutes: float
    measured: bool  # True: target and minutes were measured; False: estimates, never run
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


CPU_REFERENCE = Preset(
    name="cpu-reference",
    model=ModelSize(block_size=128, vocab_size=256, n_layer=4, n_head=4, n_embd=64, dropout=0.0, bias=True),
    train=TrainConfig(batch_size=16, max_steps=600, warmup_steps=50, max_lr=3e-3, min_lr=3e-4,
                      eval_interval=75, eval_iters=8),  # the notebook evaluates every max_steps // 8 too
    tokenizer_vocab=256,
    corpus="reference",
    corpus_chars=None,
    target_val_loss=2.027,
    expected_minutes=0.9,
    measured=True,
    note="measured on the course's 2-core CPU (2026-12-02, torch 2.13): val loss 2.027 after 600 steps "
    "(1.23 M tokens, 2.9 passes over 419,603 training bytes) against 2.313 for the best count-based bigram on "
    "the same bytes (2.930 vs 3.342 bits per character); seed 1: 1.985. Wall time 53 s with 2 threads at "
    "load 1.1 to 1.6 (25,701 training tokens/s); 323 s with 1 thread while other jobs ran (load 6.5 to 9.8)",
)

COLAB_T4 = Preset(
    name="colab-t4-fp16",
    model=ModelSize(block_size=256, vocab_size=8192, n_layer=6, n_head=6, n_embd=384, dropout=0.0, bias=True),
    train=TrainConfig(batch_size=64, max_steps=2500, warmup_steps=100, max_lr=1e-3, min_lr=1e-4,
                      eval_interval=250, eval_iters=40),
    tokenizer_vocab=8192,
    corpus="tinystories",
    corpus_chars=160_000_000,
    target_val_loss=2.0,
    expected_minutes=15.0,
    measured=False,
    note="UNMEASURED ESTIMATE (no GPU was available to any authoring session): fp16 autocast + GradScaler "
    "on a Tesla T4; 2500 steps x 64 x 256 = 41 M training tokens of TinyStories, about one pass over "
    "160 M characters; the target is CS336's low-resource bar (TinyStories validation loss <= 2.00 "
    "after 40 M tokens)",
)

LARGE_GPU = Preset(
    name="large-gpu-bf16",
    model=ModelSize(block_size=512, vocab_size=8192, n_layer=8, n_head=8, n_embd=512, dropout=0.0, bias=True),
    train=TrainConfig(batch_size=64, max_steps=4000, warmup_steps=200, max_lr=1e-3, min_lr=1e-4,
                      eval_interval=250, eval_iters=40),
    tokenizer_vocab=8192,
    corpus="tinystories",
    corpus_chars=600_000_000,
    target_val_loss=1.7,
    expected_minutes=10.0,
    measured=False,
    note="UNMEASURED ESTIMATE (no GPU was available to any authoring session): bf16 autocast on an "
    "A100/H100-class GPU; 4000 steps x 64 x 512 = 131 M training tokens of TinyStories, under one pass",
)

PRESETS = {p.name: p for p in (CPU_REFERENCE, COLAB_T4, LARGE_GPU)}


def choose_preset(device: torch.device) -> Preset:
    """The preset for ``device``: LARGE_GPU on a bf16 GPU with 30 GiB or more, COLAB_T4 on other CUDA GPUs,
    CPU_REFERENCE on CPUs and Apple's MPS."""
    if device.type != "cuda":
        return CPU_REFERENCE
    major, _ = torch.cuda.get_device_capability(device)
    memory = torch.cuda.get_device_properties(device).total_memory
    return LARGE_GPU if major >= 8 and memory >= 30 * 2**30 else COLAB_T4


def fit_to_corpus(preset: Preset, train_tokens: int, max_passes: float = 4.0) -> Preset:
    """``preset`` with ``max_steps`` cut so that training reads ``train_tokens`` at most ``max_passes`` times.

    A GPU preset that fell back to the offline corpus (no network) would otherwise read it
    many times over and learn it by heart. Warm-up and evaluation interval shrink with it.
    """
    per_step = preset.train.batch_size * preset.model.block_size
    steps = max(1, min(preset.train.max_steps, int(max_passes * train_tokens / per_step)))
    if steps == preset.train.max_steps:
        return preset
    train = replace(preset.train, max_steps=steps, warmup_steps=min(preset.train.warmup_steps, max(1, steps // 10)),
                    eval_interval=max(1, min(preset.train.eval_interval, steps // 8)))
    return replace(preset, train=train, note=f"{preset.note}; cut to {steps} steps ({max_passes:g} passes over "
                   f"{train_tokens:,} training tokens)")
