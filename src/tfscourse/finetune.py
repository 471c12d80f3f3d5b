"""Notebook 07's experiment: pre-train a small GPT once, then fine-tune it four ways.

The pieces:

* ``topic_passages`` builds an offline text-classification task from real prose:
  32-token passages of four topics of the Python language reference
  (``pydoc_data``), labelled with the topic they come from, and a word-level vocabulary.
* ``pretrained_gpt`` pre-trains a word-level GPT (``tfscourse.unlocked.gpt``, notebook 06's reference) on the rest of
  the reference text with next-token prediction, or loads the checkpoint it cached
  before (deterministic: same config, same weights).
* ``GPTClassifier`` puts a linear head on the mean of the GPT's last hidden states.
* ``add_lora`` and ``add_prefix`` turn a frozen classifier into a LoRA or a
  prefix-tuned one; ``add_lora`` takes the LoRA layer class as an argument, so the
  notebook passes the student's ``LoRALinear``.
* ``finetune`` trains whatever is trainable and reports the test accuracy.

Example (a few seconds):
    >>> setup = ExperimentConfig.quick()
    >>> data = topic_passages(setup)
    >>> gpt = pretrained_gpt(setup, cache_dir=None, log=None)
    >>> model = GPTClassifier(gpt, num_labels=len(data.labels))
    >>> result = finetune(model, data, setup, log=None)
    >>> 0.0 <= result.test_accuracy <= 1.0
    True
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from tfscourse.gpt_training import TrainConfig, pick_device, train
from tfscourse.unlocked.gpt import GPT, GPTConfig, configure_optimizer, get_batch, lr_at, train_step

# ---------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------

CACHE_FORMAT = 3  # bump when the data or the pre-training code changes: old checkpoints are then ignored


@dataclass
class ExperimentConfig:
    """Everything that decides the experiment's numbers (the cache key is built from it)."""

    topics: tuple[str, ...] = ("debugger", "formatstrings", "string-methods", "specialnames")  # four topics with distinct text and >= 20k characters each
    passage_tokens: int = 32  # one passage = 32 consecutive words and punctuation marks (about a sentence or two)
    vocab_size: int = 2048  # the most frequent tokens cover 98.6% of the reference text; the rest become <unk>
    train_per_class: int = 32  # few labels on purpose: pre-training matters most when labels are scarce
    test_per_class: int = 64  # held out from fine-tuning AND from pre-training
    n_layer: int = 2  # small enough to pre-train on one CPU thread in well under a minute
    n_head: int = 4
    n_embd: int = 64
    pretrain_steps: int = 600  # next-token steps: about 6 passes over the ~100k tokens of the reference text
    pretrain_batch: int = 32
    pretrain_lr: float = 3e-3
    finetune_steps: int = 100  # optimiser steps per method (batch 32: about 25 epochs of ~125 passages)
    finetune_batch: int = 32
    finetune_lr: float = 1e-3  # full fine-tuning; the frozen-body methods use peft_lr
    peft_lr: float = 1e-2  # few parameters starting from zero or small values need larger steps
    lora_r: int = 4
    lora_alpha: float = 8.0
    prefix_len: int = 8  # virtual tokens per layer
    adapter_bottleneck: int = 8  # Houlsby adapters: d -> 8 -> d after each sub-layer
    val_per_class: int = 8  # training passages held out to choose each method's learning rate (never the test set)
    full_lrs: tuple[float, ...] = (3e-4, 1e-3)  # candidates for full fine-tuning and training from scratch
    peft_lrs: tuple[float, ...] = (3e-3, 1e-2)  # candidates for the frozen-body methods
    finetune_seeds: tuple[int, ...] = (0, 1, 2)  # each seed: other initial head / LoRA / adapter / prefix weights and batch order
    seed: int = 0

    @classmethod
    def quick(cls) -> ExperimentConfig:
        """A few-second version for autograding and tests: the same pipeline, tiny and short."""
        return cls(train_per_class=16, test_per_class=16, n_layer=1, n_head=2, n_embd=32,
                   pretrain_steps=20, pretrain_batch=8, finetune_steps=10, finetune_batch=16,
                   val_per_class=4, full_lrs=(1e-3,), peft_lrs=(1e-2,), finetune_seeds=(0,))

    def gpt_config(self) -> GPTConfig:
        return GPTConfig(block_size=self.passage_tokens, vocab_size=self.vocab_size, n_layer=self.n_layer,
                         n_head=self.n_head, n_embd=self.n_embd, dropout=0.0, bias=True)

    def pretrain_key(self) -> str:
        """Hash of the fields that decide the pre-trained weights."""
        fields = {k: v for k, v in asdict(self).items() if k.startswith(("pretrain", "n_", "topics", "passage", "vocab", "test_per", "seed"))}
        fields["format"] = CACHE_FORMAT
        return hashlib.sha1(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]


# ---------------------------------------------------------------------------------------------
# data: word-level tokens and the topic-classification task
# ---------------------------------------------------------------------------------------------

UNK = "<unk>"


def tokenize(text: str) -> list[str]:
    """Lower-cased words, numbers and single punctuation marks (runs of 3+ equal marks are dropped).

    Example: tokenize("Use str.format() twice!") -> ['use', 'str', '.', 'format', '(', ')', 'twice', '!']
    """
    text = re.sub(r"([^\w\s])\1{2,}", " ", text.lower())  # drop "*****" / "=====" heading rules
    return re.findall(r"[a-z]+|[0-9]+|[^\sa-z0-9]", text)


@dataclass
class Vocab:
    """Token <-> id tables; id 0 is ``<unk>`` for every token outside the table."""

    itos: list[str]

    def __post_init__(self):
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    @classmethod
    def build(cls, tokens: list[str], size: int) -> Vocab:
        """The ``size - 1`` most frequent tokens (ties broken alphabetically) after ``<unk>``."""
        counts: dict[str, int] = {}
        for t in tokens:
            counts[t] = counts.get(t, 0) + 1
        ranked = sorted(counts, key=lambda t: (-counts[t], t))[: size - 1]
        return cls([UNK] + ranked)

    def encode(self, tokens: list[str]) -> torch.Tensor:
        return torch.tensor([self.stoi.get(t, 0) for t in tokens], dtype=torch.long)

    def decode(self, ids) -> str:
        return " ".join(self.itos[int(i)] for i in ids)

    def __len__(self) -> int:
        return len(self.itos)


@dataclass
class TopicData:
    """Passages as token ids (N, passage_tokens), their labels (N,), the vocabulary and the pre-training ids."""

    labels: tuple[str, ...]
    vocab: Vocab = field(repr=False)
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    train_text: list[str] = field(repr=False)
    test_text: list[str] = field(repr=False)
    pretrain_ids: torch.Tensor = field(repr=False)


def topic_passages(cfg: ExperimentConfig | None = None) -> TopicData:
    """The classification task: which topic of the Python reference does a passage come from?

    A passage is ``passage_tokens`` consecutive tokens of one topic. Passages are spread evenly
    over each topic, and test passages are interleaved with training passages so that both cover
    the whole topic (a training passage identical to a test passage is dropped). Every test passage is cut out of the pre-training text (also where a topic's
    text is repeated inside another topic), and the vocabulary is built from what is left.
    """
    from pydoc_data.topics import topics

    cfg = cfg or ExperimentConfig()
    n = cfg.passage_tokens
    need = cfg.train_per_class + cfg.test_per_class
    train_text, train_y, test_text, test_y = [], [], [], []
    for label, name in enumerate(cfg.topics):
        tokens = tokenize(topics[name])
        pieces = [" ".join(tokens[i : i + n]) for i in range(0, len(tokens) - n + 1, n)]
        if len(pieces) < need:
            raise ValueError(f"topic {name!r} has {len(pieces)} passages of {n} tokens, {need} needed")
        chosen = [pieces[round(i * (len(pieces) - 1) / (need - 1))] for i in range(need)]
        is_test = [(i + 1) * cfg.test_per_class // need > i * cfg.test_per_class // need for i in range(need)]
        test = [piece for piece, t in zip(chosen, is_test) if t]
        train = [piece for piece, t in zip(chosen, is_test) if not t and piece not in test]
        train_text += train
        train_y += [label] * len(train)
        test_text += test
        test_y += [label] * len(test)
    corpus = "\n".join(" ".join(tokenize(topics[name])) for name in sorted(topics))
    for piece in test_text:
        corpus = corpus.replace(piece, " ")
    corpus_tokens = corpus.split()
    vocab = Vocab.build(corpus_tokens, cfg.vocab_size)
    return TopicData(
        labels=tuple(cfg.topics),
        vocab=vocab,
        train_x=torch.stack([vocab.encode(t.split()) for t in train_text]),
        train_y=torch.tensor(train_y),
        test_x=torch.stack([vocab.encode(t.split()) for t in test_text]),
        test_y=torch.tensor(test_y),
        train_text=train_text,
        test_text=test_text,
        pretrain_ids=vocab.encode(corpus_tokens),
    )


# ---------------------------------------------------------------------------------------------
# pre-training (cached)
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def cpu_threads(n: int = 1):
    """Run torch on ``n`` CPU threads inside the block (the previous number is restored).

    The models here are so small (64-96 wide) that extra threads mostly wait on each other;
    on a busy 2-core machine one thread was 10-60 times faster than two.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def default_cache_dir() -> Path:
    """$TFSCOURSE_CACHE, else ~/.cache/tfscourse."""
    return Path(os.environ.get("TFSCOURSE_CACHE", Path.home() / ".cache" / "tfscourse"))


def pretrained_gpt(cfg: ExperimentConfig | None = None, cache_dir: str | Path | None = "default",
                   device: torch.device | None = None, log: Callable[[str], None] | None = print) -> GPT:
    """A GPT pre-trained by next-token prediction on the reference text minus the test passages.

    Loads ``<cache_dir>/finetune-gpt-<key>.pt`` when it exists, else trains (CPU: about a
    minute with the default config) and saves it there. ``cache_dir=None`` never touches
    the disk. The model comes back on the CPU, in eval mode.
    """
    cfg = cfg or ExperimentConfig()
    cache = default_cache_dir() if cache_dir == "default" else (Path(cache_dir) if cache_dir else None)
    path = cache / f"finetune-gpt-{cfg.pretrain_key()}.pt" if cache else None
    torch.manual_seed(cfg.seed)
    model = GPT(cfg.gpt_config())
    if path is not None and path.is_file():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        if log:
            log(f"loaded the pre-trained GPT from {path}")
        return model.eval()
    data = topic_passages(cfg).pretrain_ids
    cut = int(0.95 * len(data))
    tcfg = TrainConfig(batch_size=cfg.pretrain_batch, max_steps=cfg.pretrain_steps,
                       warmup_steps=max(1, cfg.pretrain_steps // 20), max_lr=cfg.pretrain_lr,
                       min_lr=cfg.pretrain_lr / 10, eval_interval=cfg.pretrain_steps, eval_iters=5,
                       seed=cfg.seed)
    start = time.perf_counter()
    with cpu_threads(1):
        hist = train(model, data[:cut], data[cut:], tcfg, device or pick_device(), get_batch_fn=get_batch,
                     lr_fn=lr_at, optimizer_fn=configure_optimizer, step_fn=train_step, log=None)
    model.to("cpu").eval()
    if log:
        log(f"pre-trained {model.num_params():,} parameters for {cfg.pretrain_steps} steps in "
            f"{time.perf_counter() - start:.0f} s: validation loss {hist.val_loss[0]:.2f} -> {hist.val_loss[-1]:.2f} "
            f"(nats per token; uniform guessing is {math.log(cfg.vocab_size):.2f})")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save(model.state_dict(), tmp)
        tmp.replace(path)
    return model


# ---------------------------------------------------------------------------------------------
# the classifier and the three ways to make only a little of it trainable
# ---------------------------------------------------------------------------------------------


class GPTClassifier(nn.Module):
    """A GPT body (embeddings, blocks, final LayerNorm) and a linear head on the mean hidden state.

    The language-model head is not used. The head has d * num_labels + num_labels parameters.
    """

    def __init__(self, gpt: GPT, num_labels: int):
        super().__init__()
        self.gpt = gpt
        self.head = nn.Linear(gpt.config.n_embd, num_labels)

    def features(self, idx: torch.Tensor) -> torch.Tensor:
        """idx (B, T) -> mean of the last hidden states (B, C)."""
        t = self.gpt.transformer
        pos = torch.arange(idx.shape[1], device=idx.device)  # (T,)
        x = t.drop(t.wte(idx) + t.wpe(pos))  # (B, T, C) + (T, C) -> (B, T, C)
        for block in t.h:
            x = block(x)  # (B, T, C)
        return t.ln_f(x).mean(dim=1)  # (B, T, C) -> (B, C)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(idx))  # (B, C) x (C, L) -> (B, L)


def freeze_body(model: GPTClassifier) -> GPTClassifier:
    """Freeze the GPT, keep the head trainable (in place). Returns the model."""
    model.gpt.requires_grad_(False)
    model.head.requires_grad_(True)
    return model


def add_lora(model: GPTClassifier, lora_cls, r: int, alpha: float,
             targets: tuple[str, ...] = ("attn.c_attn", "attn.c_proj")) -> GPTClassifier:
    """Freeze the body and wrap the named Linear layers of every block in ``lora_cls(layer, r, alpha)``."""
    freeze_body(model)
    for block in model.gpt.transformer.h:
        for target in targets:
            parent_name, _, child = target.rpartition(".")
            parent = block.get_submodule(parent_name) if parent_name else block
            setattr(parent, child, lora_cls(getattr(parent, child), r, alpha))
    return model


def add_adapters(model: GPTClassifier, adapter_cls, bottleneck: int) -> GPTClassifier:
    """Freeze the body and insert ``adapter_cls(d, bottleneck)`` in every block, where Houlsby et al. (2019) put it.

    An adapter goes on the output of the attention sub-layer and one on the output of the
    feed-forward sub-layer, each *before* the residual addition: a block computes
    ``x + Adapter(Attn(LN(x)))`` and then ``x + Adapter(FFN(LN(x)))``. (Pfeiffer et al. (2020)
    keep only one adapter per block, after the feed-forward sub-layer.) Houlsby et al. also train
    the layer norms; here only the adapters and the head are trained.
    """
    freeze_body(model)
    d = model.gpt.config.n_embd
    for block in model.gpt.transformer.h:
        block.attn = nn.Sequential(block.attn, adapter_cls(d, bottleneck))
        block.mlp = nn.Sequential(block.mlp, adapter_cls(d, bottleneck))
    return model


class PrefixCausalSelfAttention(nn.Module):
    """A frozen ``CausalSelfAttention`` whose every head first sees ``prefix_len`` learned keys and values.

    The per-head version of the notebook's ``prefix_attention``: the queries come from the
    tokens only; every token may attend to all prefix positions and, causally, to earlier tokens.
    """

    def __init__(self, attn: nn.Module, prefix_len: int):
        super().__init__()
        self.attn = attn
        hs = attn.n_embd // attn.n_head
        weight = attn.c_attn.weight
        self.prefix_k = nn.Parameter(torch.randn(attn.n_head, prefix_len, hs, dtype=weight.dtype) * 0.02)
        self.prefix_v = nn.Parameter(torch.randn(attn.n_head, prefix_len, hs, dtype=weight.dtype) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.attn
        B, T, C = x.shape
        H, hs, P = a.n_head, C // a.n_head, self.prefix_k.shape[1]
        q, k, v = a.c_attn(x).split(C, dim=2)  # (B, T, C) x (C, 3C) -> 3 x (B, T, C)
        q = q.view(B, T, H, hs).transpose(1, 2)  # (B, H, T, hs)
        k = k.view(B, T, H, hs).transpose(1, 2)  # (B, H, T, hs)
        v = v.view(B, T, H, hs).transpose(1, 2)  # (B, H, T, hs)
        k = torch.cat([self.prefix_k.expand(B, H, P, hs), k], dim=2)  # (B, H, P + T, hs)
        v = torch.cat([self.prefix_v.expand(B, H, P, hs), v], dim=2)  # (B, H, P + T, hs)
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool, device=x.device))  # (T, T)
        mask = torch.cat([torch.ones(T, P, dtype=torch.bool, device=x.device), causal], dim=1)  # (T, P + T)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, H, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, H, T, hs) -> (B, T, C)
        return a.resid_dropout(a.c_proj(y))


def add_prefix(model: GPTClassifier, prefix_len: int) -> GPTClassifier:
    """Freeze the body and give every block's attention ``prefix_len`` trainable keys and values per head."""
    freeze_body(model)
    for block in model.gpt.transformer.h:
        block.attn = PrefixCausalSelfAttention(block.attn, prefix_len)
    return model


# ---------------------------------------------------------------------------------------------
# fine-tuning
# ---------------------------------------------------------------------------------------------


@dataclass
class FinetuneResult:
    """What one fine-tuning run produced."""

    train_accuracy: float
    test_accuracy: float
    losses: list[float]
    seconds: float


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 128) -> float:
    """Fraction of passages whose arg-max logit is the true label."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for i in range(0, len(x), batch):
        logits = model(x[i : i + batch].to(device))  # (b, L)
        correct += (logits.argmax(dim=-1).cpu() == y[i : i + batch]).sum().item()
    model.train(was_training)
    return correct / len(x)


def finetune(model: nn.Module, data: TopicData, cfg: ExperimentConfig | None = None, lr: float | None = None,
             device: torch.device | None = None, log: Callable[[str], None] | None = print) -> FinetuneResult:
    """Train the trainable parameters of ``model`` with AdamW on the training passages (in place).

    Deterministic for a given config (fixed seed for the batches). ``lr`` defaults to
    ``cfg.finetune_lr``.
    """
    cfg = cfg or ExperimentConfig()
    device = device or pick_device()
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr or cfg.finetune_lr, weight_decay=0.01)
    with cpu_threads(1) if device.type == "cpu" else contextlib.nullcontext():
        start = time.perf_counter()
        losses = _train_loop(model, data, cfg, optimizer, params, device, log)
        seconds = time.perf_counter() - start
        return FinetuneResult(accuracy(model, data.train_x, data.train_y), accuracy(model, data.test_x, data.test_y),
                              losses, seconds)


def _train_loop(model, data, cfg, optimizer, params, device, log) -> list[float]:
    g = torch.Generator().manual_seed(cfg.seed)
    losses = []
    for step in range(cfg.finetune_steps):
        rows = torch.randint(len(data.train_x), (cfg.finetune_batch,), generator=g)
        x, y = data.train_x[rows].to(device), data.train_y[rows].to(device)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        losses.append(loss.item())
        if log and (step + 1) % max(1, cfg.finetune_steps // 4) == 0:
            log(f"  step {step + 1:4d}/{cfg.finetune_steps}: loss {loss.item():.3f}")
    return losses


def split_validation(data: TopicData, per_class: int) -> tuple[TopicData, torch.Tensor, torch.Tensor]:
    """Hold out ``per_class`` training passages of every label for validation (evenly spread over the topic).

    Returns the data with the remaining training passages (the test set unchanged) and the
    validation passages and labels. Learning rates are chosen on these, never on the test set.
    """
    keep, held = [], []
    for label in range(len(data.labels)):
        rows = (data.train_y == label).nonzero().flatten().tolist()
        step = len(rows) / per_class
        chosen = {rows[int(i * step)] for i in range(per_class)}
        held += sorted(chosen)
        keep += [r for r in rows if r not in chosen]
    keep_t, held_t = torch.tensor(keep), torch.tensor(held)
    fit = TopicData(labels=data.labels, vocab=data.vocab, train_x=data.train_x[keep_t], train_y=data.train_y[keep_t],
                    test_x=data.test_x, test_y=data.test_y, train_text=[data.train_text[i] for i in keep],
                    test_text=data.test_text, pretrain_ids=data.pretrain_ids)
    return fit, data.train_x[held_t], data.train_y[held_t]


def fresh_copy(gpt: GPT) -> GPT:
    """An independent copy of a pre-trained GPT (each method starts from the same weights)."""
    return copy.deepcopy(gpt)


# ---- helpers the notebook's test cells call ------------------------------------------------------
# When a notebook is graded, its test cells run in a separate judge process that talks to the
# notebook's kernel in plain data only: it can call the student's classes and read a module's
# outputs and state_dict(), but it cannot send a module into the kernel, iterate a generator there
# or run backward() there. The test cells therefore build their layers with ``ft.nn`` (torch.nn,
# reached through this module, so that the layer lives in the student's process) and use the
# helpers below, which answer with plain data. In the notebook itself they do exactly what they say.


def class_name(obj) -> str:
    """The name of ``obj``'s class, e.g. ``"Linear"``."""
    return type(obj).__name__


def parameter_table(module: nn.Module) -> dict:
    """name -> {"shape", "dtype", "device", "requires_grad"} of ``module.named_parameters()`` (shared ones once)."""
    return {name: {"shape": tuple(p.shape), "dtype": str(p.dtype).removeprefix("torch."), "device": p.device.type,
                   "requires_grad": bool(p.requires_grad)}
            for name, p in module.named_parameters()}


def share_parameter(source: nn.Module, source_name: str, target: nn.Module, target_name: str) -> None:
    """Tie weights: ``target.<target_name>`` becomes the very same parameter as ``source.<source_name>``."""
    setattr(target, target_name, getattr(source, source_name))


def backward_gradients(module: nn.Module, x, target=None) -> dict:
    """Run ``module(x)``, back-propagate a squared error, and report what autograd saw.

    The loss is ``((module(x) - target) ** 2).mean()``, or ``module(x).pow(2).sum()`` without a
    target. Gradients from earlier calls are cleared first. Returns
    ``{"output_requires_grad": bool, "grads": {name: gradient tensor or None}}`` over
    ``named_parameters()``; when the output does not depend on any trainable parameter
    nothing is back-propagated and every gradient is None.
    """
    for p in module.parameters():
        p.grad = None
    out = module(x)
    if out.requires_grad:
        loss = out.pow(2).sum() if target is None else ((out - target) ** 2).mean()
        loss.backward()
    return {"output_requires_grad": bool(out.requires_grad),
            "grads": {name: None if p.grad is None else p.grad.detach().clone() for name, p in module.named_parameters()}}


def sgd_step(module: nn.Module, lr: float) -> None:
    """One plain gradient step ``p -= lr * p.grad`` on the trainable parameters that have a gradient."""
    with torch.no_grad():
        for p in module.parameters():
            if p.requires_grad and p.grad is not None:
                p -= lr * p.grad


def set_requires_grad(module: nn.Module, name: str, flag: bool) -> None:
    """Freeze (``False``) or unfreeze one parameter of ``module`` by name, e.g. ``"weight"``."""
    module.get_parameter(name).requires_grad_(flag)
