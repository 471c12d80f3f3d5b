"""Notebook 06's reference GPT: the model, ``get_batch``, ``lr_at``, ``configure_optimizer`` and
``train_step``, published after 06's deadline.

Every definition here answers a graded cell of notebook 06, so the published student
package leaves this module out until the instructor publishes stage 07 (see
``tfscourse_staff.publish``). Notebook 07 fine-tunes this model; the benchmark and the
course's tests train it.

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

import math
from dataclasses import dataclass

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



# ---------------------------------------------------------------------------------------------
# data and schedule
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


# ---------------------------------------------------------------------------------------------
# optimiser and training step
# ---------------------------------------------------------------------------------------------


def configure_optimizer(model: nn.Module, lr: float, weight_decay: float = 0.1, betas=(0.9, 0.95)):
    """AdamW with two parameter groups: ``weight_decay`` on matrices (Linear weights, embeddings), 0 on the rest.

    Biases and LayerNorm gains (one dimension) set offsets and scales rather than store
    patterns, so they are not decayed. ``model.parameters()`` yields each tensor once, so
    the head tied to the token embedding is optimised once; frozen tensors are left out.
    """
    params = [p for p in model.parameters() if p.requires_grad]  # each tensor once, even the tied head
    decay = [p for p in params if p.dim() >= 2]  # weight matrices and embeddings
    no_decay = [p for p in params if p.dim() < 2]  # biases and LayerNorm gains
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas)


def train_step(model: nn.Module, optimizer, scaler, x: torch.Tensor, y: torch.Tensor, grad_clip: float,
               autocast_dtype: torch.dtype | None = None) -> tuple[float, float]:
    """One optimiser step on the batch ``(x, y)``; returns the loss and the global gradient norm before clipping.

    The forward pass runs under ``torch.autocast`` when ``autocast_dtype`` is given; the
    scaler multiplies the loss before ``backward`` (fp16) and divides the gradients again
    in ``unscale_``, which must come before clipping so that the true gradients are clipped.
    """
    model.train()
    with torch.autocast(device_type=x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        _, loss = model(x, y)
    optimizer.zero_grad(set_to_none=True)  # gradients add up in .grad otherwise
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)  # the true gradients, before clipping
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)  # one norm over all parameters
    scaler.step(optimizer)  # skips the update when a gradient is inf or NaN (fp16 overflow)
    scaler.update()
    return loss.item(), norm.item()


# ---------------------------------------------------------------------------------------------
# going further (notebook 06, section 11): GPT-2's weights and a key/value cache
# ---------------------------------------------------------------------------------------------

#: GPT-2's four matrices stored by Hugging Face's ``Conv1D`` as (in, out): transposed for nn.Linear
HF_CONV1D_WEIGHTS = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
#: buffers older ``transformers`` versions save with GPT-2 (the causal mask and its fill value): not weights
HF_BUFFERS = (".attn.bias", ".attn.masked_bias")


@torch.no_grad()
def load_gpt2_weights(model: GPT, hf_state_dict: dict) -> GPT:
    """Copy a Hugging Face ``GPT2LMHeadModel`` state dict into ``model`` in place; returns ``model``.

    The names are the same (nanoGPT copied them), but ``Conv1D`` keeps its weight as
    (in, out) where ``nn.Linear`` keeps (out, in), so those four matrices are transposed.
    The causal-mask buffers are skipped, and ``lm_head.weight`` (tied, the same matrix as
    ``wte``) may be present or not: writing into ``model``'s own tensors keeps the tie.

    Example: ``load_gpt2_weights(GPT(cfg), GPT2LMHeadModel(hf_cfg).state_dict())``.
    """
    own = model.state_dict()  # tensors that share storage with the parameters
    filled = set()
    for name, value in hf_state_dict.items():
        if name.endswith(HF_BUFFERS):
            continue
        if name.endswith(HF_CONV1D_WEIGHTS):
            value = value.t()
        if name not in own:
            raise KeyError(f"{name} has no place in the model")
        if tuple(own[name].shape) != tuple(value.shape):
            raise ValueError(f"{name}: the model has {tuple(own[name].shape)}, the checkpoint {tuple(value.shape)}")
        own[name].copy_(value)
        filled.add(name)
    missing = {n for n in own if not n.endswith(".mask") and n != "lm_head.weight"} - filled
    if missing:
        raise KeyError(f"the checkpoint has no values for {sorted(missing)}")
    return model


def _cached_attention(attn: CausalSelfAttention, x: torch.Tensor, cache: dict, layer: int) -> torch.Tensor:
    """``attn`` on the new positions x (B, T_new, C), reading and extending the keys and values in ``cache``."""
    B, T_new, C = x.shape
    hs = C // attn.n_head
    q, k, v = attn.c_attn(x).split(C, dim=2)
    q, k, v = (t.view(B, T_new, attn.n_head, hs).transpose(1, 2) for t in (q, k, v))  # (B, H, T_new, hs)
    if layer in cache:
        past_k, past_v = cache[layer]
        k, v = torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2)  # (B, H, P + T_new, hs)
    cache[layer] = (k, v)
    P = k.size(2) - T_new  # positions already cached
    att = q @ k.transpose(-2, -1) / math.sqrt(hs)  # (B, H, T_new, P + T_new)
    att = att.masked_fill(~attn.mask[P:P + T_new, :P + T_new], float("-inf"))  # new query t sees keys 0..P+t
    y = F.softmax(att, dim=-1) @ v  # (B, H, T_new, hs)
    return attn.c_proj(y.transpose(1, 2).contiguous().view(B, T_new, C))


@torch.no_grad()
def generate_cached(model: GPT, idx: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
    """Greedy decoding with a key/value cache: the same tokens as ``model.generate(idx, n, temperature=0)``.

    The prompt runs through the model once; then each step runs only the newest token,
    at its own position, and its query attends to the keys and values every layer kept.
    Needs ``T + max_new_tokens - 1 <= block_size`` (the positions the model knows).
    """
    B, T = idx.shape
    if T + max_new_tokens - 1 > model.config.block_size:
        raise ValueError(f"{T} + {max_new_tokens} tokens need more than block_size = {model.config.block_size} positions")
    cache: dict = {}
    out, new, start = idx, idx, 0
    for _ in range(max_new_tokens):
        pos = torch.arange(start, start + new.size(1), device=idx.device)
        x = model.transformer.wte(new) + model.transformer.wpe(pos)  # (B, T_new, C)
        for layer, block in enumerate(model.transformer.h):
            x = x + _cached_attention(block.attn, block.ln_1(x), cache, layer)
            x = x + block.mlp(block.ln_2(x))
        logits = model.lm_head(model.transformer.ln_f(x[:, -1]))  # (B, V): after the newest token
        new = logits.argmax(dim=-1, keepdim=True)  # (B, 1)
        out = torch.cat([out, new], dim=1)
        start += x.size(1)
    return out
