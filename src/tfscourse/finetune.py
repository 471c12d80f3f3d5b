"""Notebook 07's experiment: pre-train a small GPT once, then fine-tune it several ways.

The pieces:

* ``topic_passages`` builds an offline text-classification task from real prose:
  32-token passages of four topics of the Python language reference
  (``pydoc_data``), labelled with the topic they come from, and a word-level vocabulary.
* ``pretrained_gpt`` pre-trains a word-level GPT (``tfscourse.unlocked.gpt``, notebook 06's reference) on the rest of
  the reference text with next-token prediction, or loads the checkpoint it cached
  before (deterministic: same config, same weights).
* ``GPTClassifier`` puts a linear head on the mean of the GPT's last hidden states.
* ``freeze_body``, ``add_lora``, ``add_adapters``, ``add_prefix`` and ``add_prompt`` turn a
  classifier into a head-only, LoRA, adapter, prefix-tuned or prompt-tuned one; ``add_lora``
  and ``add_adapters`` take the layer class as an argument, so the notebook passes the
  student's ``LoRALinear`` and ``Adapter``.
* ``finetune`` trains whatever is trainable and reports the test accuracy.
* ``compare_methods`` (every method, learning rate chosen on a validation split, several
  seeds) and ``learning_curve`` (accuracy against labelled examples per class) are the
  notebook's section 10 and ``benchmarks/bench_finetuning.py``.

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
import dataclasses
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

CACHE_FORMAT = 4  # bump when the data or the pre-training code changes: old checkpoints are then ignored


@dataclass
class ExperimentConfig:
    """Everything that decides the experiment's numbers (the cache key is built from it)."""

    topics: tuple[str, ...] = ("debugger", "formatstrings", "string-methods", "specialnames")  # four topics with distinct text and >= 20k characters each
    passage_tokens: int = 32  # one passage = 32 consecutive words and punctuation marks (about a sentence or two)
    block_size: int = 40  # the GPT's context (positional embeddings): a passage plus prompt_len prompt vectors
    vocab_size: int = 2048  # the most frequent tokens cover 98.5% of the pre-training text; the rest become <unk>
    train_per_class: int = 72  # the labelled pool per topic: val_per_class for validation, the rest to draw training sets from
    labels_per_class: int = 16  # labelled training passages per topic in the method comparison (drawn anew for each seed)
    test_per_class: int = 64  # held out from fine-tuning AND from pre-training
    n_layer: int = 2  # small enough to pre-train on one CPU thread in about two minutes
    n_head: int = 4
    n_embd: int = 64
    pretrain_steps: int = 2000  # next-token steps: about 25 passes over the ~100k tokens (600 steps were too few to help)
    pretrain_batch: int = 32
    pretrain_lr: float = 3e-3
    finetune_steps: int = 100  # optimiser steps per run (batch 32), whatever the number of labelled passages
    finetune_batch: int = 32
    finetune_lr: float = 1e-3  # full fine-tuning; the frozen-body methods use peft_lr
    peft_lr: float = 1e-2  # few parameters starting from zero or small values need larger steps
    lora_r: int = 4
    lora_alpha: float = 8.0
    prefix_len: int = 8  # virtual tokens per layer
    prompt_len: int = 8  # prompt tuning: trainable input vectors in front of the passage (block_size >= passage + prompt)
    adapter_bottleneck: int = 8  # Houlsby adapters: d -> 8 -> d after each sub-layer
    val_per_class: int = 8  # labelled passages held out to choose each method's learning rate (never the test set)
    full_lrs: tuple[float, ...] = (3e-4, 1e-3)  # candidates for full fine-tuning and training from scratch
    peft_lrs: tuple[float, ...] = (3e-3, 1e-2)  # candidates for the frozen-body methods
    finetune_seeds: tuple[int, ...] = (0, 1, 2)  # each seed: other labelled passages, initial new weights and batch order
    curve_counts: tuple[int, ...] = (4, 8, 16, 32, 64)  # labelled passages per topic on the learning curve
    curve_methods: tuple[str, ...] = ("full", "head only", "no pre-training")
    seed: int = 0

    @classmethod
    def quick(cls) -> ExperimentConfig:
        """A few-second version for autograding and tests: the same pipeline, tiny and short."""
        return cls(train_per_class=12, labels_per_class=4, test_per_class=16, n_layer=1, n_head=2, n_embd=32,
                   pretrain_steps=20, pretrain_batch=8, finetune_steps=10, finetune_batch=16,
                   val_per_class=4, full_lrs=(1e-3,), peft_lrs=(1e-2,), finetune_seeds=(0,), curve_counts=(2, 8))

    def gpt_config(self) -> GPTConfig:
        return GPTConfig(block_size=self.block_size, vocab_size=self.vocab_size, n_layer=self.n_layer,
                         n_head=self.n_head, n_embd=self.n_embd, dropout=0.0, bias=True)

    def pretrain_key(self) -> str:
        """Hash of the fields that decide the pre-trained weights."""
        fields = {k: v for k, v in asdict(self).items() if k.startswith(("pretrain", "n_", "topics", "passage", "block", "vocab", "train_per", "test_per", "seed"))}
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
    ``prompt`` is None, or after ``add_prompt`` a (P, C) parameter of prompt vectors that go in
    front of every passage's token embeddings by ``prepend(embeddings, prompt)`` (the notebook passes
    the student's ``prepend_prompt``; the package holds no copy of that answer).
    """

    def __init__(self, gpt: GPT, num_labels: int):
        super().__init__()
        self.gpt = gpt
        self.head = nn.Linear(gpt.config.n_embd, num_labels)
        self.prompt: nn.Parameter | None = None
        self.prepend: Callable | None = None

    def features(self, idx: torch.Tensor) -> torch.Tensor:
        """idx (B, T) -> mean of the last hidden states of the T passage positions (B, C)."""
        t = self.gpt.transformer
        x = t.wte(idx)  # (B, T, C)
        P = 0
        if self.prompt is not None:
            P = self.prompt.shape[0]
            x = self.prepend(x, self.prompt)  # (B, T, C) and (P, C) -> (B, P + T, C)
        pos = torch.arange(x.shape[1], device=idx.device)  # (P + T,)
        x = t.drop(x + t.wpe(pos))  # (B, P + T, C) + (P + T, C) -> (B, P + T, C)
        for block in t.h:
            x = block(x)  # (B, P + T, C)
        return t.ln_f(x)[:, P:].mean(dim=1)  # (B, T, C) -> (B, C): the prompt positions are not pooled

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


def add_prompt(model: GPTClassifier, prompt_len: int, prepend: Callable,
               seed_ids: torch.Tensor | None = None) -> GPTClassifier:
    """Prompt tuning (Lester et al., 2021): freeze the body, put ``prompt_len`` trainable vectors in front of the input.

    The vectors live in the input-embedding space and start as copies of the embeddings of
    ``prompt_len`` vocabulary tokens (``seed_ids``; by default drawn at random among ids 1-500,
    frequent tokens, as Lester et al. initialise from the vocabulary). The positional
    embeddings are added to the prompt and the passage alike, so the GPT's ``block_size``
    must be at least ``prompt_len + passage length``. Only the prompt and the head are trained.
    ``prepend(embeddings, prompt)`` puts the prompt in front of the embeddings (the notebook
    passes the student's ``prepend_prompt``).
    """
    freeze_body(model)
    wte = model.gpt.transformer.wte.weight
    if seed_ids is None:
        seed_ids = torch.randint(1, min(501, wte.shape[0]), (prompt_len,))
    model.prompt = nn.Parameter(wte[seed_ids].detach().clone())  # (P, C)
    model.prepend = prepend
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


def labelled_subset(data: TopicData, per_class: int, seed: int) -> TopicData:
    """``per_class`` training passages of every label, drawn at random with ``seed`` (the test set unchanged)."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for label in range(len(data.labels)):
        idx = (data.train_y == label).nonzero().flatten()
        if len(idx) < per_class:
            raise ValueError(f"label {label} has {len(idx)} training passages, {per_class} asked for")
        rows += idx[torch.randperm(len(idx), generator=g)[:per_class]].tolist()
    return dataclasses.replace(data, train_x=data.train_x[rows], train_y=data.train_y[rows],
                               train_text=[data.train_text[i] for i in rows])


METHODS = ("full", "head only", "LoRA", "adapters", "prefix", "prompt", "no pre-training")
FULL_BODY = ("full", "no pre-training")  # the methods that train every weight (the others: frozen body)


def build_classifier(method: str, pretrained: GPT, cfg: ExperimentConfig, num_labels: int, seed: int,
                     lora_cls=None, adapter_cls=None, prepend=None) -> GPTClassifier:
    """A classifier for ``method`` (one of ``METHODS``), its new parameters drawn with ``seed``.

    ``lora_cls``, ``adapter_cls`` and ``prepend`` are the LoRA layer, the adapter and the prompt
    function that the LoRA, adapter and prompt methods use (the notebook passes the student's).
    """
    torch.manual_seed(seed)
    if method == "no pre-training":
        return GPTClassifier(GPT(cfg.gpt_config()), num_labels)
    model = GPTClassifier(fresh_copy(pretrained), num_labels)
    if method == "full":
        return model
    if method == "head only":
        return freeze_body(model)
    if method == "LoRA":
        return add_lora(model, lora_cls, cfg.lora_r, cfg.lora_alpha)
    if method == "adapters":
        return add_adapters(model, adapter_cls, cfg.adapter_bottleneck)
    if method == "prefix":
        return add_prefix(model, cfg.prefix_len)
    if method == "prompt":
        return add_prompt(model, cfg.prompt_len, prepend)
    raise ValueError(f"unknown method {method!r}")


@dataclass
class MethodSummary:
    """One method over the seeds: trainable parameters, chosen learning rate, accuracies and seconds per seed."""

    method: str
    trainable: int
    lr: float
    val_accuracy: dict[float, float]  # learning rate -> validation accuracy of the first seed
    test_accuracies: list[float]
    seconds: list[float]

    @property
    def mean(self) -> float:
        return mean_sd(self.test_accuracies)[0]

    @property
    def sd(self) -> float:
        """Sample standard deviation over the seeds (0 for one seed)."""
        return mean_sd(self.test_accuracies)[1]


def compare_methods(pretrained: GPT, data: TopicData, cfg: ExperimentConfig, *, count: Callable[[nn.Module], int],
                    methods=METHODS, lora_cls=None, adapter_cls=None, prepend=None, log: Callable[[str], None] | None = None) -> dict[str, MethodSummary]:
    """Section 10's comparison: every method on ``cfg.labels_per_class`` labelled passages per topic, several seeds.

    ``cfg.val_per_class`` passages per topic are held out first (``split_validation``). For each
    method the first seed tries every learning rate of its grid (``full_lrs`` for the full-body
    methods, ``peft_lrs`` for the others) and keeps the one with the best validation accuracy (the
    first on a tie); then every seed (its own labelled passages, new weights and batch order) is
    trained with that rate and scored on the test set. ``count(model)`` counts the trainable
    parameters (the notebook passes the student's ``count_trainable_parameters``).
    """
    fit, val_x, val_y = split_validation(data, cfg.val_per_class)
    summaries = {}
    for method in methods:
        grid = cfg.full_lrs if method in FULL_BODY else cfg.peft_lrs

        def run(lr, seed, method=method):
            model = build_classifier(method, pretrained, cfg, len(data.labels), seed, lora_cls, adapter_cls, prepend)
            n = count(model)
            sub = labelled_subset(fit, cfg.labels_per_class, seed)
            result = finetune(model, sub, dataclasses.replace(cfg, seed=seed), lr=lr, log=None)
            return n, result, accuracy(model, val_x, val_y)

        first = {lr: run(lr, cfg.finetune_seeds[0]) for lr in grid}
        lr = max(grid, key=lambda r: first[r][2])
        results = [first[lr][1]] + [run(lr, seed)[1] for seed in cfg.finetune_seeds[1:]]
        summaries[method] = MethodSummary(method, first[lr][0], lr, {r: first[r][2] for r in grid},
                                          [r.test_accuracy for r in results], [r.seconds for r in results])
        if log:
            log(summary_line(summaries[method]))
    return summaries


def summary_line(s: MethodSummary) -> str:
    return (f"{s.method:>16} | {s.trainable:9,d} | {s.lr:6.0e} | {s.val_accuracy[s.lr]:7.3f} | "
            f"{s.mean:11.3f} ± {s.sd:.3f} | " + " ".join(f"{a:.3f}" for a in s.test_accuracies))


def summary_table(summaries: dict[str, MethodSummary]) -> str:
    """The comparison as a text table: trainable parameters, chosen learning rate, validation and test accuracy."""
    head = f"{'method':>16} | {'trainable':>9} | {'lr':>6} | {'val acc':>7} | {'test acc: mean ± sd':>19} | per seed"
    return "\n".join([head] + [summary_line(s) for s in summaries.values()])


def learning_curve(pretrained: GPT, data: TopicData, cfg: ExperimentConfig, lrs: dict[str, float],
                   methods=None, counts=None, lora_cls=None, adapter_cls=None, prepend=None,
                   known: dict[str, MethodSummary] | None = None,
                   log: Callable[[str], None] | None = None) -> dict[str, dict[int, list[float]]]:
    """Test accuracy against labelled passages per topic: method -> count -> accuracies over ``cfg.finetune_seeds``.

    The training passages are drawn from those left after ``split_validation`` (the same pool as
    ``compare_methods``); ``lrs[method]`` is the learning rate (e.g. the one ``compare_methods``
    chose), the number of steps is ``cfg.finetune_steps`` for every count. At
    ``cfg.labels_per_class`` the runs of ``known`` (``compare_methods``' result) are reused when
    they used the same learning rate: they are the very same runs.
    """
    fit, _, _ = split_validation(data, cfg.val_per_class)
    curve: dict[str, dict[int, list[float]]] = {}
    for method in methods or cfg.curve_methods:
        curve[method] = {}
        for k in counts or cfg.curve_counts:
            same = (known or {}).get(method)
            if k == cfg.labels_per_class and same is not None and same.lr == lrs[method]:
                curve[method][k] = list(same.test_accuracies)
                continue
            accs = []
            for seed in cfg.finetune_seeds:
                model = build_classifier(method, pretrained, cfg, len(data.labels), seed, lora_cls, adapter_cls, prepend)
                sub = labelled_subset(fit, k, seed)
                accs.append(finetune(model, sub, dataclasses.replace(cfg, seed=seed), lr=lrs[method], log=None).test_accuracy)
            curve[method][k] = accs
        if log:
            log(curve_table({method: curve[method]}, header=False))
    return curve


def mean_sd(a: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation of ``a`` (0 for a single value): what the tables and error bars show."""
    m = sum(a) / len(a)
    return m, (0.0 if len(a) < 2 else math.sqrt(sum((x - m) ** 2 for x in a) / (len(a) - 1)))


def curve_table(curve: dict[str, dict[int, list[float]]], header: bool = True) -> str:
    """The learning curve as a text table: one row per method, test accuracy mean ± sd per count."""
    counts = list(next(iter(curve.values())))
    lines = [f"{'per topic':>16} | " + " | ".join(f"{k:>13d}" for k in counts)] if header else []
    for method, row in curve.items():
        lines.append(f"{method:>16} | " + " | ".join("{:.3f} ± {:.3f}".format(*mean_sd(row[k])) for k in counts))
    return "\n".join(lines)


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
