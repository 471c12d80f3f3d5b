"""A small GPT (decoder-only Transformer) and the tools to train it: the course's reference model.

Notebook 06 has students write every graded piece of this file themselves; the
package keeps one tested copy so that other notebooks (07, fine-tuning) and the
benchmark can pretrain a model without importing a student's notebook.

The layout follows GPT-2 (and nanoGPT), so parameter names and counts match:
``transformer.wte`` token embedding, ``transformer.wpe`` position embedding,
``transformer.h`` the blocks (``ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc,
mlp.c_proj``), ``transformer.ln_f`` the final LayerNorm and ``lm_head`` tied to
``wte``.

Example:
    >>> import torch
    >>> model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=16, vocab_size=100))
    >>> logits, loss = model(torch.zeros(1, 5, dtype=torch.long))
    >>> tuple(logits.shape), loss is None
    ((1, 5, 100), True)
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------------------


@dataclass
class GPTConfig:
    """Shape of a GPT. The defaults are GPT-2 small (124,439,808 parameters with the tied head)."""

    block_size: int = 1024  # longest context the model sees; sets the position table and the mask
    vocab_size: int = 50257  # GPT-2's byte-level BPE: 256 bytes + 50,000 merges + <|endoftext|>
    n_layer: int = 12  # depth: each block adds one round of attention (mixing) and MLP (computing)
    n_head: int = 12  # heads per block; n_embd / n_head = 64 dimensions per head, as in GPT-2
    n_embd: int = 768  # width of the residual stream; every matrix scales with its square
    dropout: float = 0.0  # 0 for pretraining on lots of data; 0.1-0.2 helps small data overfit less
    bias: bool = True  # biases in Linear and LayerNorm, as GPT-2; False is a bit faster, barely worse


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position t only sees positions 0..t.

    ``mask`` is a registered (non-trainable) buffer of shape (block_size, block_size),
    True where a query may look at a key, so it moves with ``.to(device)`` and is saved
    in the state dict. ``use_sdpa`` switches between the explicit computation and
    ``F.scaled_dot_product_attention`` (fused kernels, same result).
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        assert config.n_embd % config.n_head == 0, "n_embd must be a multiple of n_head"
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v at once
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)  # mixes the heads
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        mask = torch.tril(torch.ones(config.block_size, config.block_size, dtype=torch.bool))
        self.register_buffer("mask", mask)  # (block_size, block_size), True = may attend
        self.use_sdpa = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)  # (B, T, C) x (C, 3C) -> 3 x (B, T, C)
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, T, C) -> (B, H, T, hs)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, T, C) -> (B, H, T, hs)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, T, C) -> (B, H, T, hs)
        if self.use_sdpa:
            p = self.dropout if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)  # (B, H, T, hs)
        else:
            att = q @ k.transpose(-2, -1) / math.sqrt(hs)  # (B, H, T, hs) x (B, H, hs, T) -> (B, H, T, T)
            att = att.masked_fill(~self.mask[:T, :T], float("-inf"))
            att = self.attn_dropout(F.softmax(att, dim=-1))
            y = att @ v  # (B, H, T, T) x (B, H, T, hs) -> (B, H, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, H, T, hs) -> (B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """Position-wise feed-forward: C -> 4C -> GELU -> C."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, T, C) x (C, 4C) -> (B, T, 4C) -> GELU -> (B, T, 4C) x (4C, C) -> (B, T, C)
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-LN Transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).

    Pre-LN (GPT-2) keeps an un-normalised residual path from the embeddings to the
    head, so gradients reach early layers undamped and training is stable without a
    long warm-up; post-LN (the original Transformer) normalises the sum after each
    residual addition and needs careful warm-up as the model gets deep.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))  # (B, T, C)
        return x + self.mlp(self.ln_2(x))  # (B, T, C)


class GPT(nn.Module):
    """Token + position embeddings, ``n_layer`` blocks, final LayerNorm, tied language-model head."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied: one (V, C) matrix reads and writes tokens
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # GPT-2: residual writes shrink with depth
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = False) -> int:
        """Parameters counted once (the tied head is the token table); optionally without ``wpe``."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.transformer.wpe.weight.numel() if non_embedding else n

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx (B, T) token ids -> (logits (B, T, V), loss or None). targets (B, T): the next tokens."""
        B, T = idx.shape
        assert T <= self.config.block_size, f"sequence of {T} tokens, block_size is {self.config.block_size}"
        pos = torch.arange(T, device=idx.device)  # (T,)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)  # (B, T, C) + (T, C) -> (B, T, C)
        x = self.transformer.drop(x)
        for block in self.transformer.h:
            x = block(x)  # (B, T, C)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)  # (B, T, C) x (C, V) -> (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(B * T, -1).float(), targets.reshape(B * T), ignore_index=-1)
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, *, generator=None):
        """Append ``max_new_tokens`` sampled tokens to idx (B, T); temperature 0 means greedy.

        Example: ``model.generate(torch.tensor([[0]]), 5, top_k=1)`` continues token 0 greedily.
        """
        for _ in range(max_new_tokens):
            context = idx[:, -self.config.block_size :]  # crop to the context the model knows
            logits, _ = self(context)
            logits = logits[:, -1, :].float()  # (B, V): the prediction after the last token
            if temperature <= 0:
                next_id = logits.argmax(dim=-1, keepdim=True)
            else:
                logits = logits / temperature
                if top_k is not None:
                    kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]  # (B, 1)
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                probs = F.softmax(logits, dim=-1)
                next_id = torch.multinomial(probs, num_samples=1, generator=generator)  # (B, 1)
            idx = torch.cat([idx, next_id], dim=1)
        return idx


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
        att = q @ k.transpose(-2, -1) / math.sqrt(hs)  # (1, H, T, T)
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool, device=x.device))
        att = att.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        maps.append(att[0].float().cpu())
    return maps


# ---------------------------------------------------------------------------------------------
# data, schedule, device
# ---------------------------------------------------------------------------------------------


def get_batch(data: torch.Tensor, block_size: int, batch_size: int, generator: torch.Generator | None = None):
    """Random windows of a 1-D token tensor: x (B, T) and the next tokens y (B, T).

    Example: data = [10, 11, 12, 13], block_size 2: a window starting at 1 gives
    x = [11, 12], y = [12, 13]. Every start 0 .. len(data) - block_size - 1 is possible.
    """
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)  # (B,)
    offsets = torch.arange(block_size)  # (T,)
    x = data[starts[:, None] + offsets]  # (B, 1) + (T,) -> (B, T) indices
    y = data[starts[:, None] + offsets + 1]
    return x.long(), y.long()


def lr_at(step: int, max_lr: float, warmup_steps: int, max_steps: int, min_lr: float) -> float:
    """Linear warm-up to max_lr over warmup_steps, cosine decay to min_lr at max_steps, then min_lr.

    Example: lr_at(0, 1.0, 10, 100, 0.1) == 0.1 (one tenth of the warm-up); lr_at(100, ...) == 0.1.
    """
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step >= max_steps:
        return min_lr
    progress = (step - warmup_steps) / (max_steps - warmup_steps)  # 0 -> 1
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (max_lr - min_lr)


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
def estimate_loss(model, data: dict[str, torch.Tensor], block_size, batch_size, iters, device, get_batch_fn=None, seed=0):
    """Mean loss over ``iters`` fixed random batches of each split (the same batches every call)."""
    get_batch_fn = get_batch_fn or get_batch
    was_training = model.training
    model.eval()
    out = {}
    dtype = autocast_dtype(device)
    for split, tokens in data.items():
        g = torch.Generator().manual_seed(seed)
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
    get_batch_fn: Callable | None = None,
    lr_fn: Callable | None = None,
    callback: Callable[[History, int], None] | None = None,
    log: Callable[[str], None] | None = print,
) -> History:
    """Train ``model`` in place: random windows, AdamW, warm-up + cosine, clipping, mixed precision.

    ``get_batch_fn(data, block_size, batch_size, generator)`` and ``lr_fn(step, max_lr,
    warmup_steps, max_steps, min_lr)`` default to this module's; notebook 06 passes the
    student's. ``callback(history, step)`` runs after every evaluation (live plots);
    ``log`` gets one line per evaluation (stdout by default, never stderr).
    """
    get_batch_fn = get_batch_fn or get_batch
    lr_fn = lr_fn or lr_at
    device = device or pick_device()
    model.to(device).train()
    block_size = model.config.block_size
    dtype = autocast_dtype(device)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)  # fp16 needs loss scaling
    optimizer = configure_optimizer(model, cfg.max_lr, cfg.weight_decay, cfg.betas)
    g = torch.Generator().manual_seed(cfg.seed)
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
class Preset:
    """A model, a training run and what it is expected to reach (targets, not measurements)."""

    name: str
    model: GPTConfig
    train: TrainConfig
    tokenizer_vocab: int  # BPE vocabulary trained on the corpus's training split
    corpus: str  # "offline" (tfscourse.data.reference_text) or "wikitext2"
    target_val_loss: float
    expected_minutes: float
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


CPU_REFERENCE = Preset(
    name="cpu-reference",
    model=GPTConfig(block_size=64, vocab_size=2048, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=True),
    train=TrainConfig(batch_size=16, max_steps=400, warmup_steps=30, max_lr=2e-3, min_lr=2e-4,
                      eval_interval=100, eval_iters=10),
    tokenizer_vocab=2048,
    corpus="offline",
    target_val_loss=4.85,
    expected_minutes=1.5,
    note="measured with benchmarks/bench_gpt.py on the course's shared 2-core CPU: val loss 4.844 "
    "after 400 steps (410 k tokens), 89 s wall at load 2 (4,963 tokens/s); 445 s at load 6"
)

COLAB_T4 = Preset(
    name="colab-t4-fp16",
    model=GPTConfig(block_size=256, vocab_size=8192, n_layer=6, n_head=6, n_embd=384, dropout=0.1, bias=True),
    train=TrainConfig(batch_size=32, max_steps=2500, warmup_steps=100, max_lr=6e-4, min_lr=6e-5,
                      eval_interval=250, eval_iters=40),
    tokenizer_vocab=8192,
    corpus="wikitext2",
    target_val_loss=4.6,
    expected_minutes=10.0,
    note="target and estimate, NOT measured (no GPU in the authoring session): fp16 autocast + "
    "GradScaler on a Tesla T4; 20 M training tokens, about 8 passes over WikiText-2",
)

LARGE_GPU = Preset(
    name="large-gpu-bf16",
    model=GPTConfig(block_size=512, vocab_size=16384, n_layer=8, n_head=8, n_embd=512, dropout=0.2, bias=True),
    train=TrainConfig(batch_size=32, max_steps=3000, warmup_steps=150, max_lr=6e-4, min_lr=6e-5,
                      eval_interval=250, eval_iters=40),
    tokenizer_vocab=16384,
    corpus="wikitext2",
    target_val_loss=4.4,
    expected_minutes=6.0,
    note="target and estimate, NOT measured (no GPU in the authoring session): bf16 autocast on an "
    "A100/H100-class GPU; 49 M training tokens, dropout 0.2 because WikiText-2 is small",
)

PRESETS = {p.name: p for p in (CPU_REFERENCE, COLAB_T4, LARGE_GPU)}
