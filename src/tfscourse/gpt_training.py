"""Training a GPT in a notebook: the loop, the optimiser, devices, presets and attention maps.

Notebook 06 trains the student's own model with the student's ``get_batch``, ``lr_at``,
``configure_optimizer`` and ``train_step``; the loop here only drives them (schedule,
evaluation, checkpoints, timing). Nothing here answers a graded cell: the model and the
four functions always come from the caller.

Example (with the reference answers that students get after notebook 06):
    >>> from tfscourse.unlocked import gpt
    >>> model = gpt.GPT(gpt.GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, vocab_size=20))
    >>> data = torch.randint(20, (200,))
    >>> cfg = TrainConfig(batch_size=4, max_steps=2, warmup_steps=1, eval_interval=2, eval_iters=1)
    >>> history = train(model, data, data, cfg, torch.device("cpu"), get_batch_fn=gpt.get_batch, lr_fn=gpt.lr_at,
    ...                 optimizer_fn=gpt.configure_optimizer, step_fn=gpt.train_step, log=None)
    >>> history.steps
    [0, 2]
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F


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
    return {"loss_before": float(loss.detach()), "loss_after": float(after), "parameters": grads}


class TinyLM(nn.Module):
    """A small language model for checking optimisers and training steps without the student's GPT.

    Token and position embeddings, one LayerNorm, one Linear (+ GELU) and a head tied to the
    token embedding: matrices, vectors and a shared tensor, like a GPT. ``forward(idx,
    targets=None)`` returns ``(logits, loss)`` as notebook 06's ``GPT`` does.
    """

    def __init__(self, vocab_size: int, n_embd: int, block_size: int, bias: bool = True):
        super().__init__()
        self.config = ModelSize(block_size=block_size, vocab_size=vocab_size, n_layer=1, n_head=1, n_embd=n_embd,
                                dropout=0.0, bias=bias)
        self.embed = nn.Embedding(vocab_size, n_embd)
        self.positions = nn.Embedding(block_size, n_embd)
        self.norm = nn.LayerNorm(n_embd, bias=bias)
        self.hidden = nn.Linear(n_embd, n_embd, bias=bias)
        self.head = nn.Linear(n_embd, vocab_size, bias=False)
        self.head.weight = self.embed.weight  # one tensor, two uses

    def forward(self, idx, targets=None):
        h = self.embed(idx) + self.positions(torch.arange(idx.shape[1], device=idx.device))  # (B, T, C)
        h = h + F.gelu(self.hidden(self.norm(h)))
        scores = self.head(h)  # (B, T, V)
        if targets is None:
            return scores, None
        return scores, F.cross_entropy(scores.flatten(0, 1).float(), targets.flatten())


def tiny_language_model(vocab_size: int, n_embd: int, block_size: int, seed: int, bias: bool = True) -> TinyLM:
    """A ``TinyLM`` initialised from ``seed`` (normal entries of scale 0.3, so that the gradients are not tiny)."""
    model = TinyLM(vocab_size, n_embd, block_size, bias)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3 + (1.0 if p.dim() == 1 and p is model.norm.weight else 0.0))
    return model


def optimizer_groups(optimizer, model: nn.Module) -> dict:
    """What an optimiser holds, as plain data: its class name, and per parameter group its settings and the
    names of its tensors (a tensor listed twice appears twice; one that is not a parameter of ``model``
    appears as "?"), plus ``shapes``: the name and shape of each trainable parameter of ``model``, once."""
    names = {}
    for name, p in model.named_parameters():
        names.setdefault(id(p), name)
    groups = []
    for group in optimizer.param_groups:
        groups.append({"names": [names.get(id(p), "?") for p in group["params"]],
                       "weight_decay": float(group.get("weight_decay", 0.0)), "lr": float(group.get("lr", 0.0)),
                       "betas": [float(b) for b in group.get("betas", ())]})
    shapes = {name: list(p.shape) for name, p in model.named_parameters() if p.requires_grad}
    return {"class": type(optimizer).__name__, "groups": groups, "shapes": shapes}


def loss_and_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict:
    """The loss ``model(x, y)[1]`` in float32 and the gradient of every trainable parameter (by name, each
    tensor once); the model is left unchanged and its ``.grad`` fields empty."""
    model.train()
    for p in model.parameters():
        p.grad = None
    loss = model(x, y)[1]
    loss.backward()
    grads = {name: p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
             for name, p in model.named_parameters() if p.requires_grad}
    for p in model.parameters():
        p.grad = None
    return {"loss": float(loss.detach()), "gradients": grads}


def make_sgd(model: nn.Module, lr: float) -> torch.optim.SGD:
    """Plain SGD over ``model``'s parameters: one step moves each parameter by ``-lr`` times its gradient."""
    return torch.optim.SGD(model.parameters(), lr=lr)


def make_test_scaler(scale: float | None):
    """A real ``GradScaler`` that scales on the CPU by the constant ``scale`` (it never grows within a test);
    ``None``: a disabled one, as ``train`` uses on CPUs and bf16 GPUs."""
    if scale is None:
        return torch.amp.GradScaler("cpu", enabled=False)
    return torch.amp.GradScaler("cpu", init_scale=float(scale), growth_interval=10**9)


def freeze(model: nn.Module, names: list[str]) -> None:
    """Set ``requires_grad=False`` on the named parameters of ``model``."""
    params = dict(model.named_parameters())
    for name in names:
        params[name].requires_grad_(False)


def torch_dtype(name: str) -> torch.dtype:
    """``torch.<name>``, e.g. ``torch_dtype("bfloat16")``, for checks that run outside the kernel."""
    dtype = getattr(torch, name)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"{name} is not a torch dtype")
    return dtype


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
    """A CUDA gradient scaler, ``torch.amp.GradScaler("cuda")`` (the course requires torch >= 2.3, which has it)."""
    return torch.amp.GradScaler("cuda", enabled=enabled)


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
    weight_decay: float = 0.1  # on matrices only (notebook 06's configure_optimizer)
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
    lr: list[float] = field(default_factory=list)  # per step
    loss: list[float] = field(default_factory=list)  # per step: the training batch's loss
    grad_norm: list[float] = field(default_factory=list)  # per step: global gradient norm before clipping
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


CHECKPOINT_FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read or belongs to another run."""


def default_checkpoint_dir() -> Path:
    """``$TFSCOURSE_CACHE/checkpoints``, else ``~/.cache/tfscourse/checkpoints``."""
    return Path(os.environ.get("TFSCOURSE_CACHE", Path.home() / ".cache" / "tfscourse")) / "checkpoints"


def _plain(value):
    """``value`` with tuples as lists and dataclasses as dicts (what a checkpoint stores and compares)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return repr(value)


def code_digest(*objects) -> str:
    """A short hash of the source code of ``objects`` (functions, classes; a model stands for the classes of
    its modules outside torch): a checkpoint made with other code is not resumed."""
    parts = []
    for obj in objects:
        if isinstance(obj, nn.Module):
            classes = {type(m) for m in obj.modules() if not type(m).__module__.startswith("torch")}
            parts += sorted(classes, key=lambda c: c.__qualname__)
        else:
            parts.append(obj)
    digest = hashlib.sha256()
    for part in parts:
        digest.update(_source(part).encode())
    return digest.hexdigest()[:16]


def _source(obj) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        pass
    if isinstance(obj, type):  # a class defined in a notebook cell (no file): the source of its methods
        return obj.__qualname__ + "".join(_source(v) for v in vars(obj).values() if inspect.isfunction(v))
    return getattr(obj, "__qualname__", repr(obj))  # defined where no source is kept: its name has to do


def run_fingerprint(model: nn.Module, train_data: torch.Tensor, val_data: torch.Tensor, cfg: TrainConfig,
                    code: str = "") -> dict:
    """What must be equal for a checkpoint to continue this run: the training settings, the model's
    configuration and parameter shapes, the token data (lengths and a checksum) and ``code``
    (a ``code_digest`` of the model and the functions that train it)."""
    config = getattr(model, "config", None)
    return {
        "code": code,
        "train_config": _plain(cfg),
        "model_config": _plain(vars(config) if config is not None and not is_dataclass(config) else config),
        "parameters": {name: list(p.shape) for name, p in model.named_parameters()},
        "train_tokens": [len(train_data), int(torch.as_tensor(train_data).long().sum())],
        "val_tokens": [len(val_data), int(torch.as_tensor(val_data).long().sum())],
    }


def _differences(saved: dict, now: dict, prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(saved) | set(now)):
        a, b = saved.get(key, "(absent)"), now.get(key, "(absent)")
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: checkpoint {str(a)[:60]}, now {str(b)[:60]}")
    return out


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write ``state`` to ``path`` atomically: to a temporary file next to it, then ``os.replace``.

    A run cut off while writing (a Colab runtime that disconnects) leaves the previous
    checkpoint intact, never half a file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, fingerprint: dict | None = None) -> dict:
    """The state saved at ``path``; ``CheckpointError`` when it cannot be read or ``fingerprint`` differs."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any failure to unpickle means the same thing here
        raise CheckpointError(f"the checkpoint {path} cannot be read ({type(error).__name__}: {str(error)[:200]}); "
                              "it is corrupt or not a checkpoint of train(): delete it to start afresh") from error
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a checkpoint of tfscourse.gpt_training.train (format "
                              f"{CHECKPOINT_FORMAT}); delete it or choose another checkpoint_path")
    if fingerprint is not None and state.get("fingerprint") != _plain(fingerprint):
        diff = _differences(state.get("fingerprint") or {}, _plain(fingerprint))
        raise CheckpointError(f"the checkpoint {path} belongs to a different run, so it is not resumed: "
                              + "; ".join(diff[:6]) + (f"; and {len(diff) - 6} more" if len(diff) > 6 else "")
                              + f". Delete the file to start afresh ({path}), or choose another checkpoint_path")
    return state


def train(
    model: nn.Module,
    train_data: torch.Tensor,
    val_data: torch.Tensor,
    cfg: TrainConfig,
    device: torch.device | None = None,
    *,
    get_batch_fn: Callable,
    lr_fn: Callable,
    optimizer_fn: Callable,
    step_fn: Callable,
    callback: Callable[[History, int], None] | None = None,
    log: Callable[[str], None] | None = print,
    checkpoint_path: str | Path | None = None,
    checkpoint_every: int | None = None,
) -> History:
    """Train ``model`` in place: random windows, the caller's optimiser and step, warm-up + cosine, evaluation.

    The caller's functions (notebook 06 passes the student's, notebook 07's pre-training
    the reference ones):

    * ``get_batch_fn(data, block_size, batch_size, generator)`` -> ``(x, y)``;
    * ``lr_fn(step, max_lr, warmup_steps, max_steps, min_lr)`` -> the learning rate of ``step``;
    * ``optimizer_fn(model, lr, weight_decay, betas)`` -> the optimiser (AdamW with parameter groups);
    * ``step_fn(model, optimizer, scaler, x, y, grad_clip, autocast_dtype)`` -> ``(loss, grad_norm)``:
      one update (autocast, scaled backward, unscale, clipping, step).

    ``callback(history, step)`` runs after every evaluation (live plots); ``log`` gets one
    line per evaluation (stdout by default, never stderr).

    With ``checkpoint_path`` the run saves model, optimiser, scaler, random states and
    history there every ``checkpoint_every`` steps (default: at each evaluation) and at the
    end, and a later call with the same path continues from the file instead of starting
    again (a finished run is loaded and returned). The file must come from the same run
    (settings, model shape, data, and the source code of the model's classes and of the four
    functions): otherwise ``CheckpointError``, never a silent resume.
    """
    device = device or pick_device()
    model.to(device).train()
    block_size = model.config.block_size
    dtype = autocast_dtype(device)
    scaler = make_grad_scaler(enabled=dtype == torch.float16)  # fp16 needs loss scaling
    optimizer = optimizer_fn(model, cfg.max_lr, cfg.weight_decay, cfg.betas)
    g = make_generator(cfg.seed)
    splits = {"train": train_data, "val": val_data}
    hist = History()
    tokens_seen, train_seconds, start_step = 0, 0.0, 0
    fingerprint = None
    if checkpoint_path is not None:
        code = code_digest(model, get_batch_fn, lr_fn, optimizer_fn, step_fn)
        fingerprint = run_fingerprint(model, train_data, val_data, cfg, code)
    every = checkpoint_every or cfg.eval_interval

    def checkpoint(next_step: int) -> None:
        save_checkpoint(checkpoint_path, {
            "format": CHECKPOINT_FORMAT, "fingerprint": _plain(fingerprint), "next_step": next_step,
            "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(),
            "generator": g.get_state(), "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
            "history": asdict(hist), "tokens_seen": tokens_seen, "train_seconds": train_seconds,
        })

    if checkpoint_path is not None and Path(checkpoint_path).exists():
        state = load_checkpoint(checkpoint_path, fingerprint)
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as error:
            raise CheckpointError(f"the checkpoint {checkpoint_path} does not fit this model or optimiser "
                                  f"({str(error)[:200]}); delete it to start afresh") from error
        if state["scaler"]:
            scaler.load_state_dict(state["scaler"])
        g.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] is not None and device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"], device)
        hist = History(**state["history"])
        tokens_seen, train_seconds, start_step = state["tokens_seen"], state["train_seconds"], state["next_step"]
        if log:
            log(f"resumed from {checkpoint_path} at step {min(start_step, cfg.max_steps)}/{cfg.max_steps}")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for step in range(start_step, cfg.max_steps + 1):
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
        loss, norm = step_fn(model, optimizer, scaler, x, y, cfg.grad_clip, dtype)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        train_seconds += time.perf_counter() - start
        tokens_seen += x.numel()
        hist.lr.append(lr)
        hist.loss.append(float(loss))
        hist.grad_norm.append(float(norm))
        if checkpoint_path is not None and (step + 1) % every == 0 and step + 1 < cfg.max_steps:
            checkpoint(step + 1)
    hist.seconds = train_seconds
    hist.tokens_per_s = tokens_seen / max(train_seconds, 1e-9)
    if device.type == "cuda":
        hist.peak_memory_mb = torch.cuda.max_memory_allocated(device) / 2**20
    if checkpoint_path is not None and start_step <= cfg.max_steps:
        checkpoint(cfg.max_steps + 1)  # finished: a later call loads it and returns at once
    elif callback and hist.steps:  # a finished run loaded from its checkpoint: show its curve
        callback(hist, hist.steps[-1])
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
