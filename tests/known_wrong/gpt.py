"""Known-wrong answers for 06_gpt (see tests/known_wrong/__init__.py).

Classes are exec'd in the notebook's namespace, so they may subclass the notebook's
own CausalSelfAttention, MLP, Block and GPT and change one thing.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from tests.nbharness import Wrong

# Placeholders so that this module imports on its own. The harness executes each class's
# *source* in the notebook's namespace, where these names are the notebook's own classes.
CausalSelfAttention = MLP = Block = GPT = nn.Module

# ---- GPTConfig -------------------------------------------------------------


@dataclass
class ConfigPaddedVocab:
    """Pads the vocabulary to 50304 (a speed trick) instead of GPT-2's 50257."""

    block_size: int = 1024
    vocab_size: int = 50304
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True


@dataclass
class ConfigDropoutOn:
    """Dropout 0.1 by default."""

    block_size: int = 1024
    vocab_size: int = 50257
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.1
    bias: bool = True


@dataclass
class ConfigShortContext:
    """A context of 512 positions."""

    block_size: int = 512
    vocab_size: int = 50257
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True


# ---- the causal mask (in __init__) ----------------------------------------


class MaskDiagonalOffByOne(CausalSelfAttention):
    """Strictly lower triangle: a token may not attend to itself (mask off by one)."""

    def __init__(self, config):
        super().__init__(config)
        n = config.block_size
        self.register_buffer("mask", torch.tril(torch.ones(n, n, dtype=torch.bool), diagonal=-1))


class MaskUpperTriangle(CausalSelfAttention):
    """Upper triangle: every token sees the future instead of the past."""

    def __init__(self, config):
        super().__init__(config)
        n = config.block_size
        self.register_buffer("mask", torch.triu(torch.ones(n, n, dtype=torch.bool)))


class MaskAsParameter(CausalSelfAttention):
    """Keeps the mask as a (trainable) nn.Parameter instead of a buffer."""

    def __init__(self, config):
        super().__init__(config)
        n = config.block_size
        del self.mask
        self.mask = nn.Parameter(torch.tril(torch.ones(n, n)), requires_grad=False)


class MaskPlainAttribute(CausalSelfAttention):
    """Stores the mask as a plain tensor attribute: not registered, does not follow .to(device)."""

    def __init__(self, config):
        super().__init__(config)
        n = config.block_size
        del self.mask
        self.mask = torch.tril(torch.ones(n, n, dtype=torch.bool))


# ---- attention forward -----------------------------------------------------


class AttentionNoScaling(CausalSelfAttention):
    """Forgets to divide the scores by sqrt(head size)."""

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, hs).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)).masked_fill(~self.mask[:T, :T], float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class AttentionHeadsWrongAxis(CausalSelfAttention):
    """Reshapes (B, T, C) straight to (B, H, T, hs): heads mix different tokens."""

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.reshape(B, self.n_head, T, hs) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1) / math.sqrt(hs)).masked_fill(~self.mask[:T, :T], float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.reshape(B, T, C))


class AttentionMaskDiagonalOffByOne(CausalSelfAttention):
    """Masks the diagonal too in forward (tril with diagonal=-1): position 0 sees nothing."""

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, hs).transpose(1, 2) for t in (q, k, v))
        allowed = torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-1)
        att = (q @ k.transpose(-2, -1) / math.sqrt(hs)).masked_fill(~allowed, float("-inf"))
        y = torch.nan_to_num(F.softmax(att, dim=-1)) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class AttentionNoMask(CausalSelfAttention):
    """Never applies the mask: every token sees the whole sequence."""

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, hs).transpose(1, 2) for t in (q, k, v))
        y = F.softmax(q @ k.transpose(-2, -1) / math.sqrt(hs), dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class AttentionSoftmaxOverQueries(CausalSelfAttention):
    """Normalises over the queries (dim=-2) instead of the keys."""

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, hs).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1) / math.sqrt(hs)).masked_fill(~self.mask[:T, :T], float("-inf"))
        y = F.softmax(att, dim=-2) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class AttentionDropoutAlwaysOn(CausalSelfAttention):
    """Calls F.dropout(..., training=True) on the attention weights: dropout stays on in eval mode."""

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, hs).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1) / math.sqrt(hs)).masked_fill(~self.mask[:T, :T], float("-inf"))
        att = F.dropout(F.softmax(att, dim=-1), self.attn_dropout.p, training=True)
        y = att @ v
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C)))


class AttentionMaskMadeInForward(CausalSelfAttention):
    """Builds a fresh torch.tril mask in forward (on the CPU) and never reads the registered buffer."""

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, hs).transpose(1, 2) for t in (q, k, v))
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
        att = (q @ k.transpose(-2, -1) / math.sqrt(hs)).masked_fill(~causal, float("-inf"))
        y = self.attn_dropout(F.softmax(att, dim=-1)) @ v
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C)))


class AttentionWithSDPA(CausalSelfAttention):
    """Uses F.scaled_dot_product_attention(is_causal=True) against the instructions (nanoGPT's fast path)."""

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, hs).transpose(1, 2) for t in (q, k, v))
        p = self.attn_dropout.p if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C)))


# ---- MLP -------------------------------------------------------------------


class MLPReLU(MLP):
    """ReLU (the handout's FFN) instead of GELU."""

    def forward(self, x):
        return self.c_proj(F.relu(self.c_fc(x)))


class MLPTwiceWide(MLP):
    """Hidden width 2C instead of 4C."""

    def __init__(self, config):
        super().__init__(config)
        self.c_fc = nn.Linear(config.n_embd, 2 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(2 * config.n_embd, config.n_embd, bias=config.bias)


class MLPActivationLast(MLP):
    """Applies the GELU after the output projection."""

    def forward(self, x):
        return F.gelu(self.c_proj(self.c_fc(x)))


# ---- Block -----------------------------------------------------------------


class BlockPostLN(Block):
    """Post-LN (the handout's formula) instead of GPT-2's pre-LN."""

    def forward(self, x):
        x = self.ln_1(x + self.attn(x))
        return self.ln_2(x + self.mlp(x))


class BlockNoAttentionResidual(Block):
    """Drops the residual connection around attention."""

    def forward(self, x):
        x = self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class BlockSharedNorm(Block):
    """Uses ln_1 before both sub-layers."""

    def __init__(self, config):
        super().__init__(config)
        self.ln_2 = self.ln_1

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_1(x))


class BlockResidualOfNormed(Block):
    """Adds the sub-layer output to the normalised input instead of to x."""

    def forward(self, x):
        h = self.ln_1(x)
        x = h + self.attn(h)
        h = self.ln_2(x)
        return h + self.mlp(h)


# ---- GPT -------------------------------------------------------------------


class GPTNoPositions(GPT):
    """Forgets to add the position embeddings."""

    def forward(self, idx, targets=None):
        x = self.transformer.drop(self.transformer.wte(idx))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss


class GPTTargetsShiftedAgain(GPT):
    """Shifts the targets inside forward although get_batch already did (predicts two tokens ahead)."""

    def forward(self, idx, targets=None):
        logits, _ = super().forward(idx)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits[:, :-1].flatten(0, 1), targets[:, 1:].flatten())
        return logits, loss


class GPTUntiedHead(GPT):
    """A separate output matrix instead of the tied head."""

    def __init__(self, config):
        super().__init__(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        nn.init.normal_(self.lm_head.weight, std=0.02)


class GPTNoFinalNorm(GPT):
    """Skips ln_f before the head."""

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(T, device=idx.device))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(x)
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss


class GPTNoInit(GPT):
    """Forgets self._init_weights(): PyTorch's default N(0, 1) embedding makes confident wrong logits."""

    def __init__(self, config):
        super().__init__(config)
        for module in self.modules():  # PyTorch's defaults; the tied matrix keeps nn.Embedding's N(0, 1)
            if isinstance(module, (nn.Linear, nn.Embedding)) and module is not self.lm_head:
                module.reset_parameters()


class GPTHeadWithBias(GPT):
    """Gives the tied head a bias: V extra parameters GPT-2 does not have."""

    def __init__(self, config):
        super().__init__(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=True)
        self.lm_head.weight = self.transformer.wte.weight
        nn.init.zeros_(self.lm_head.bias)


class GPTSumLoss(GPT):
    """Sums the cross-entropy over positions instead of averaging it."""

    def forward(self, idx, targets=None):
        logits, _ = super().forward(idx)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="sum")
        return logits, loss


class GPTLossInBits(GPT):
    """Reports the loss in bits (divided by ln 2) instead of nats."""

    def forward(self, idx, targets=None):
        logits, loss = super().forward(idx, targets)
        return logits, None if loss is None else loss / math.log(2)


class GPTBlocksInPlainList(GPT):
    """Keeps the blocks in a Python list: their parameters are invisible to the optimiser."""

    def __init__(self, config):
        super().__init__(config)
        blocks = list(self.transformer.h)
        del self.transformer["h"]
        self.blocks = blocks

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(T, device=idx.device))
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss


class GPTPositionsNoGrad(GPT):
    """Looks up the position embeddings under torch.no_grad(): wpe never learns."""

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        with torch.no_grad():
            pos = self.transformer.wpe(torch.arange(T, device=idx.device))
        x = self.transformer.wte(idx) + pos
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss


class GPTDetachedLogits(GPT):
    """Computes the loss from detached logits: backward has nothing to flow into."""

    def forward(self, idx, targets=None):
        logits, _ = super().forward(idx)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.detach().flatten(0, 1), targets.flatten()).requires_grad_()
        return logits, loss


class GPTSkipsDropout(GPT):
    """Never applies transformer.drop to the embeddings (dropout > 0 has no effect there)."""

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(T, device=idx.device))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss


# ---- generate --------------------------------------------------------------


class GenerateIgnoresTopK(GPT):
    """Samples from the full distribution whatever top_k says."""

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.config.block_size :])
            probs = F.softmax(logits[:, -1, :] / temperature, dim=-1)
            idx = torch.cat([idx, torch.multinomial(probs, 1)], dim=1)
        return idx


class GenerateNoCrop(GPT):
    """Never crops the context to block_size."""

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        for _ in range(max_new_tokens):
            logits, _ = self(idx)
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                kth = torch.topk(logits, top_k).values[:, [-1]]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            idx = torch.cat([idx, torch.multinomial(F.softmax(logits, dim=-1), 1)], dim=1)
        return idx


class GenerateTemperatureMultiplies(GPT):
    """Multiplies the logits by the temperature instead of dividing."""

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.config.block_size :])
            logits = logits[:, -1, :] * temperature
            if top_k is not None:
                kth = torch.topk(logits, top_k).values[:, [-1]]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            idx = torch.cat([idx, torch.multinomial(F.softmax(logits, dim=-1), 1)], dim=1)
        return idx


class GenerateFirstPosition(GPT):
    """Samples from the logits of the first position instead of the last."""

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.config.block_size :])
            logits = logits[:, 0, :] / temperature
            if top_k is not None:
                kth = torch.topk(logits, top_k).values[:, [-1]]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            idx = torch.cat([idx, torch.multinomial(F.softmax(logits, dim=-1), 1)], dim=1)
        return idx


class GenerateTemperatureZeroDivides(GPT):
    """Divides by the temperature even when it is 0: infinities, NaN probabilities, multinomial fails."""

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.config.block_size :])
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            idx = torch.cat([idx, torch.multinomial(F.softmax(logits, dim=-1), 1)], dim=1)
        return idx


# ---- get_batch -------------------------------------------------------------


def get_batch_not_shifted(data, block_size, batch_size, generator):
    """Returns the window itself as the targets (targets not shifted)."""
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    x = torch.stack([data[s : s + block_size] for s in starts.tolist()]).long()
    return x, x.clone()


def get_batch_global_rng(data, block_size, batch_size, generator):
    """Ignores the generator and draws from the global random state."""
    starts = torch.randint(len(data) - block_size, (batch_size,))
    x = torch.stack([data[s : s + block_size] for s in starts.tolist()]).long()
    y = torch.stack([data[s + 1 : s + block_size + 1] for s in starts.tolist()]).long()
    return x, y


def get_batch_last_start_missing(data, block_size, batch_size, generator):
    """Draws starts below len - block_size - 1: the last window never occurs."""
    starts = torch.randint(len(data) - block_size - 1, (batch_size,), generator=generator)
    x = torch.stack([data[s : s + block_size] for s in starts.tolist()]).long()
    y = torch.stack([data[s + 1 : s + block_size + 1] for s in starts.tolist()]).long()
    return x, y


def get_batch_keeps_dtype(data, block_size, batch_size, generator):
    """Right windows but keeps the data's dtype (int32 breaks nn.Embedding on some versions and cross_entropy)."""
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    x = torch.stack([data[s : s + block_size] for s in starts.tolist()])
    y = torch.stack([data[s + 1 : s + block_size + 1] for s in starts.tolist()])
    return x, y


# ---- lr_at -----------------------------------------------------------------


def lr_warmup_from_zero(step, max_lr, warmup_steps, max_steps, min_lr):
    """Warm-up starts at 0 (step / warmup) instead of (step + 1) / warmup."""
    if step < warmup_steps:
        return max_lr * step / warmup_steps
    if step >= max_steps:
        return min_lr
    p = (step - warmup_steps) / (max_steps - warmup_steps)
    return min_lr + 0.5 * (1 + math.cos(math.pi * p)) * (max_lr - min_lr)


def lr_cosine_to_zero(step, max_lr, warmup_steps, max_steps, min_lr):
    """Decays to 0 instead of min_lr."""
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step >= max_steps:
        return 0.0
    p = (step - warmup_steps) / (max_steps - warmup_steps)
    return 0.5 * (1 + math.cos(math.pi * p)) * max_lr


def lr_linear_decay(step, max_lr, warmup_steps, max_steps, min_lr):
    """Linear instead of cosine decay."""
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step >= max_steps:
        return min_lr
    p = (step - warmup_steps) / (max_steps - warmup_steps)
    return max_lr - p * (max_lr - min_lr)


def lr_no_floor(step, max_lr, warmup_steps, max_steps, min_lr):
    """Keeps following the cosine after max_steps (it rises again)."""
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    p = (step - warmup_steps) / max(1, max_steps - warmup_steps)
    return min_lr + 0.5 * (1 + math.cos(math.pi * p)) * (max_lr - min_lr)


# ---- configure_optimizer -----------------------------------------------------


def optimizer_decay_everything(model, lr, weight_decay, betas):
    """One group: weight decay on every parameter, biases and LayerNorm gains included."""
    return torch.optim.AdamW(model.parameters(), lr=lr, betas=betas, weight_decay=weight_decay)


def optimizer_decay_by_name(model, lr, weight_decay, betas):
    """Decays every tensor named "weight", LayerNorm gains included (the rule is the dimension, not the name)."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in named if n.endswith("weight")]
    rest = [p for n, p in named if not n.endswith("weight")]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}],
                             lr=lr, betas=betas)


def optimizer_tied_head_twice(model, lr, weight_decay, betas):
    """Collects the matrices from the modules: the tied head and the token embedding, one tensor, go in twice."""
    decay = [m.weight for m in model.modules() if isinstance(m, (nn.Linear, nn.Embedding)) and m.weight.requires_grad]
    rest = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}],
                             lr=lr, betas=betas)


def optimizer_tied_head_in_both_groups(model, lr, weight_decay, betas):
    """Sorts by module type, as early nanoGPT did, without taking lm_head.weight out: the tied tensor is in
    both groups (Linear weights decayed, Embedding weights not), and AdamW raises."""
    decay, rest = [], []
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            (decay if name.endswith("weight") and isinstance(module, nn.Linear) else rest).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}],
                             lr=lr, betas=betas)


def optimizer_keeps_frozen(model, lr, weight_decay, betas):
    """Puts the frozen parameters (requires_grad=False) into the optimiser too."""
    params = list(model.parameters())
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}],
                             lr=lr, betas=betas)


def optimizer_adam(model, lr, weight_decay, betas):
    """torch.optim.Adam, whose weight_decay is an L2 term added to the gradient, not AdamW's decoupled decay."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    return torch.optim.Adam([{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}],
                            lr=lr, betas=betas)


def optimizer_default_betas(model, lr, weight_decay, betas):
    """Leaves out betas: AdamW's default (0.9, 0.999) instead of the argument."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}],
                             lr=lr)


# ---- train_step --------------------------------------------------------------


def step_clip_before_unscale(model, optimizer, scaler, x, y, grad_clip, autocast_dtype):
    """Clips the gradients while they are still scaled, then lets scaler.step unscale them."""
    model.train()
    with torch.autocast(device_type=x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        _, loss = model(x, y)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return loss.item(), norm.item()


def step_no_zero_grad(model, optimizer, scaler, x, y, grad_clip, autocast_dtype):
    """Never clears the gradients: each step adds its gradients to those of all earlier steps."""
    model.train()
    with torch.autocast(device_type=x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        _, loss = model(x, y)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return loss.item(), norm.item()


def step_zero_grad_after_backward(model, optimizer, scaler, x, y, grad_clip, autocast_dtype):
    """Calls optimizer.zero_grad() between backward and the step: the update sees no gradient."""
    model.train()
    with torch.autocast(device_type=x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        _, loss = model(x, y)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.zero_grad()
    scaler.step(optimizer)
    scaler.update()
    return loss.item(), norm.item()


def step_no_clipping(model, optimizer, scaler, x, y, grad_clip, autocast_dtype):
    """Measures the gradient norm but never clips."""
    model.train()
    with torch.autocast(device_type=x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        _, loss = model(x, y)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters() if p.grad is not None]))
    scaler.step(optimizer)
    scaler.update()
    return loss.item(), norm.item()


def step_clip_per_parameter(model, optimizer, scaler, x, y, grad_clip, autocast_dtype):
    """Clips each parameter's gradient to grad_clip on its own (the update changes direction)."""
    model.train()
    with torch.autocast(device_type=x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        _, loss = model(x, y)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norms = [torch.nn.utils.clip_grad_norm_([p], grad_clip) for p in model.parameters() if p.grad is not None]
    norm = torch.linalg.vector_norm(torch.stack(norms))
    scaler.step(optimizer)
    scaler.update()
    return loss.item(), norm.item()


def step_no_scaler_update(model, optimizer, scaler, x, y, grad_clip, autocast_dtype):
    """Forgets scaler.update(): the next unscale_ on the same optimiser raises."""
    model.train()
    with torch.autocast(device_type=x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        _, loss = model(x, y)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    scaler.step(optimizer)
    return loss.item(), norm.item()


def step_returns_scaled_loss(model, optimizer, scaler, x, y, grad_clip, autocast_dtype):
    """Returns the scaled loss (the value backward started from) instead of the loss."""
    model.train()
    with torch.autocast(device_type=x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        _, loss = model(x, y)
    optimizer.zero_grad(set_to_none=True)
    scaled = scaler.scale(loss)
    scaled.backward()
    scaler.unscale_(optimizer)
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return scaled.item(), norm.item()


def step_returns_clipped_norm(model, optimizer, scaler, x, y, grad_clip, autocast_dtype):
    """Returns the gradient norm after clipping instead of before."""
    model.train()
    with torch.autocast(device_type=x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        _, loss = model(x, y)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters() if p.grad is not None]))
    scaler.step(optimizer)
    scaler.update()
    return loss.item(), norm.item()


def step_optimizer_step_directly(model, optimizer, scaler, x, y, grad_clip, autocast_dtype):
    """Calls optimizer.step() instead of scaler.step(optimizer): an overflowing step is not skipped."""
    model.train()
    with torch.autocast(device_type=x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        _, loss = model(x, y)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    scaler.update()
    return loss.item(), norm.item()


def step_without_autocast(model, optimizer, scaler, x, y, grad_clip, autocast_dtype):
    """Ignores autocast_dtype: the forward pass always runs in float32."""
    model.train()
    _, loss = model(x, y)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return loss.item(), norm.item()


def step_autocast_always_on(model, optimizer, scaler, x, y, grad_clip, autocast_dtype):
    """Enters torch.autocast even when autocast_dtype is None (the device's default lower precision)."""
    model.train()
    with torch.autocast(device_type=x.device.type, dtype=autocast_dtype):
        _, loss = model(x, y)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return loss.item(), norm.item()


_CFG = ("test_gpt_config",)
_ATT = ("test_causal_self_attention",)
_MLP = ("test_mlp",)
_BLOCK = ("test_block",)
_FWD = ("test_gpt_forward",)
_INIT = ("test_init_loss",)
_STEP = ("test_gradient_flow",)
_GEN = ("test_generate",)
_PARAMS = ("test_gpt2_small_params",)

CASES = [
    Wrong("GPTConfig", ConfigPaddedVocab, _CFG),
    Wrong("GPTConfig", ConfigDropoutOn, _CFG),
    Wrong("GPTConfig", ConfigShortContext, _CFG),
    Wrong("CausalSelfAttention", MaskDiagonalOffByOne, ("test_causal_mask", "test_causal_self_attention")),
    Wrong("CausalSelfAttention", MaskUpperTriangle, ("test_causal_mask", "test_causal_self_attention")),
    Wrong("CausalSelfAttention", MaskAsParameter, ("test_causal_mask",), pitfall=True),
    Wrong("CausalSelfAttention", MaskPlainAttribute, ("test_causal_mask",), pitfall=True),
    Wrong("CausalSelfAttention", AttentionNoScaling, _ATT),
    Wrong("CausalSelfAttention", AttentionHeadsWrongAxis, _ATT),
    Wrong("CausalSelfAttention", AttentionMaskDiagonalOffByOne, _ATT),
    Wrong("CausalSelfAttention", AttentionNoMask, _ATT),
    Wrong("CausalSelfAttention", AttentionSoftmaxOverQueries, _ATT),
    Wrong("CausalSelfAttention", AttentionDropoutAlwaysOn, _ATT),
    Wrong("CausalSelfAttention", AttentionMaskMadeInForward, _ATT),
    Wrong("CausalSelfAttention", AttentionWithSDPA, _ATT),
    Wrong("MLP", MLPReLU, _MLP),
    Wrong("MLP", MLPTwiceWide, _MLP),
    Wrong("MLP", MLPActivationLast, _MLP),
    Wrong("Block", BlockPostLN, _BLOCK, pitfall=True),
    Wrong("Block", BlockNoAttentionResidual, _BLOCK),
    Wrong("Block", BlockSharedNorm, _BLOCK),
    Wrong("Block", BlockResidualOfNormed, _BLOCK),
    Wrong("GPT", GPTNoPositions, _FWD, pitfall=True),
    Wrong("GPT", GPTTargetsShiftedAgain, _FWD),
    Wrong("GPT", GPTUntiedHead, _FWD + _PARAMS, pitfall=True),
    Wrong("GPT", GPTNoFinalNorm, _FWD),
    Wrong("GPT", GPTBlocksInPlainList, _PARAMS + _STEP),
    Wrong("GPT", GPTHeadWithBias, _PARAMS),
    Wrong("GPT", GPTNoInit, _INIT, pitfall=True),
    Wrong("GPT", GPTSumLoss, _INIT),
    Wrong("GPT", GPTLossInBits, _INIT),
    Wrong("GPT", GPTPositionsNoGrad, _STEP),
    Wrong("GPT", GPTDetachedLogits, _STEP),
    Wrong("GPT", GPTSkipsDropout, _FWD),
    Wrong("GPT", GenerateIgnoresTopK, _GEN),
    Wrong("GPT", GenerateNoCrop, _GEN),
    Wrong("GPT", GenerateTemperatureMultiplies, _GEN),
    Wrong("GPT", GenerateFirstPosition, _GEN),
    Wrong("GPT", GenerateTemperatureZeroDivides, _GEN, pitfall=True),
    Wrong("get_batch", get_batch_not_shifted, pitfall=True),
    Wrong("get_batch", get_batch_global_rng),
    Wrong("get_batch", get_batch_last_start_missing),
    Wrong("get_batch", get_batch_keeps_dtype),
    Wrong("lr_at", lr_warmup_from_zero),
    Wrong("lr_at", lr_cosine_to_zero),
    Wrong("lr_at", lr_linear_decay),
    Wrong("lr_at", lr_no_floor),
    Wrong("configure_optimizer", optimizer_decay_everything, pitfall=True),
    Wrong("configure_optimizer", optimizer_decay_by_name, pitfall=True),
    Wrong("configure_optimizer", optimizer_tied_head_twice, pitfall=True),
    Wrong("configure_optimizer", optimizer_tied_head_in_both_groups, pitfall=True),
    Wrong("configure_optimizer", optimizer_keeps_frozen),
    Wrong("configure_optimizer", optimizer_adam, pitfall=True),
    Wrong("configure_optimizer", optimizer_default_betas),
    Wrong("train_step", step_clip_before_unscale, pitfall=True),
    Wrong("train_step", step_no_zero_grad, pitfall=True),
    Wrong("train_step", step_zero_grad_after_backward, pitfall=True),
    Wrong("train_step", step_no_clipping, pitfall=True),
    Wrong("train_step", step_clip_per_parameter, pitfall=True),
    Wrong("train_step", step_no_scaler_update, pitfall=True),
    Wrong("train_step", step_returns_scaled_loss, pitfall=True),
    Wrong("train_step", step_returns_clipped_norm),
    Wrong("train_step", step_optimizer_step_directly),
    Wrong("train_step", step_without_autocast),
    Wrong("train_step", step_autocast_always_on),
]


# ---- section 11: load_gpt2_weights ------------------------------------------


@torch.no_grad()
def load_no_transpose(model, hf_state_dict):
    """Copies Conv1D's (in, out) matrices as they are, without transposing them."""
    own = model.state_dict()
    for name, value in hf_state_dict.items():
        if not name.endswith((".attn.bias", ".attn.masked_bias")):
            own[name].copy_(value)
    return model


@torch.no_grad()
def load_reshape_not_transpose(model, hf_state_dict):
    """Reshapes the Conv1D matrices to (out, in) instead of transposing them: right shape, scrambled values."""
    own = model.state_dict()
    for name, value in hf_state_dict.items():
        if not name.endswith((".attn.bias", ".attn.masked_bias")):
            own[name].copy_(value.reshape(own[name].shape))
    return model


@torch.no_grad()
def load_transpose_when_shapes_differ(model, hf_state_dict):
    """Transposes a matrix only when its shape does not fit: the square attention c_proj stays (in, out)."""
    own = model.state_dict()
    for name, value in hf_state_dict.items():
        if name.endswith((".attn.bias", ".attn.masked_bias")):
            continue
        own[name].copy_(value if value.shape == own[name].shape else value.t())
    return model


@torch.no_grad()
def load_skips_by_substring(model, hf_state_dict):
    """Skips names containing "attn.bias", which also drops every attn.c_attn.bias."""
    conv1d = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
    own = model.state_dict()
    for name, value in hf_state_dict.items():
        if "attn.bias" in name or "masked_bias" in name:
            continue
        own[name].copy_(value.t() if name.endswith(conv1d) else value)
    return model


@torch.no_grad()
def load_unties_head(model, hf_state_dict):
    """Puts the checkpoint's lm_head.weight into a new nn.Parameter: the head is no longer tied."""
    conv1d = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
    own = model.state_dict()
    for name, value in hf_state_dict.items():
        if name.endswith((".attn.bias", ".attn.masked_bias")):
            continue
        if name == "lm_head.weight":
            model.lm_head.weight = nn.Parameter(value.clone())
        else:
            own[name].copy_(value.t() if name.endswith(conv1d) else value)
    return model


@torch.no_grad()
def load_copies_buffers(model, hf_state_dict):
    """Copies every entry of the dict, the attn.bias and attn.masked_bias buffers too (the model has no such names)."""
    conv1d = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
    own = model.state_dict()
    for name, value in hf_state_dict.items():
        own[name].copy_(value.t() if name.endswith(conv1d) else value)
    return model


# ---- section 11: generate_cached --------------------------------------------


@torch.no_grad()
def _decode_with_cache(model, idx, max_new_tokens, cache, first_position=lambda start, step: start, keep=True,
                       masked=True):
    """Greedy decoding with a key/value cache, as the reference does, where each case below changes one thing:
    ``first_position(start, step)`` is the position given to a step's first new token (right: ``start``),
    ``keep=False`` never stores keys and values, ``masked=False`` leaves out the causal mask."""
    out, new, start = idx, idx, 0
    for step in range(max_new_tokens):
        first = first_position(start, step)
        x = model.transformer.wte(new) + model.transformer.wpe(torch.arange(first, first + new.size(1)))
        for layer, block in enumerate(model.transformer.h):
            attn, h = block.attn, block.ln_1(x)
            B, T_new, C = h.shape
            hs = C // attn.n_head
            q, k, v = (t.view(B, T_new, attn.n_head, hs).transpose(1, 2) for t in attn.c_attn(h).split(C, dim=2))
            if layer in cache:
                k, v = torch.cat([cache[layer][0], k], dim=2), torch.cat([cache[layer][1], v], dim=2)
            if keep:
                cache[layer] = (k, v)
            P = k.size(2) - T_new
            att = q @ k.transpose(-2, -1) / math.sqrt(hs)
            if masked:
                att = att.masked_fill(~attn.mask[P:P + T_new, :P + T_new], float("-inf"))
            y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).contiguous().view(B, T_new, C)
            x = x + attn.c_proj(y)
            x = x + block.mlp(block.ln_2(x))
        new = model.lm_head(model.transformer.ln_f(x[:, -1])).argmax(-1, keepdim=True)
        out = torch.cat([out, new], dim=1)
        start += x.size(1)
    return out


def cached_position_zero(model, idx, max_new_tokens):
    """Gives each new token the position embedding of position 0 (positions restart at every step)."""
    return _decode_with_cache(model, idx, max_new_tokens, {}, first_position=lambda start, step: 0)


def cached_position_off_by_one(model, idx, max_new_tokens):
    """Gives the new token at index t the position embedding of t + 1."""
    return _decode_with_cache(model, idx, max_new_tokens, {},
                              first_position=lambda start, step: start + (1 if step else 0))


def cached_forgets_the_cache(model, idx, max_new_tokens):
    """Runs only the new token but never keeps keys and values: after the prompt each token attends to itself alone."""
    return _decode_with_cache(model, idx, max_new_tokens, {}, keep=False)


def cached_prefill_unmasked(model, idx, max_new_tokens):
    """Never masks: in the prefill every prompt token sees the whole prompt, its future included."""
    return _decode_with_cache(model, idx, max_new_tokens, {}, masked=False)


def cached_shared_default_cache(model, idx, max_new_tokens, cache={}):  # noqa: B006 - the mistake this case shows
    """Keeps the cache in a mutable default argument: the next call starts from the last call's keys and values."""
    return _decode_with_cache(model, idx, max_new_tokens, cache)


def cached_recomputes(model, idx, max_new_tokens):
    """No cache at all: calls model.generate(temperature=0), which runs the whole context at every step."""
    return model.generate(idx, max_new_tokens, temperature=0)


_LOAD = ("test_load_gpt2_weights",)
_CACHED = ("test_generate_cached",)
_KV_BYTES = ("test_kv_cache_bytes",)

CASES += [
    Wrong("load_gpt2_weights", load_no_transpose, _LOAD, pitfall=True),
    Wrong("load_gpt2_weights", load_reshape_not_transpose, _LOAD, pitfall=True),
    Wrong("load_gpt2_weights", load_transpose_when_shapes_differ, _LOAD, pitfall=True),
    Wrong("load_gpt2_weights", load_skips_by_substring, _LOAD, pitfall=True),
    Wrong("load_gpt2_weights", load_unties_head, _LOAD, pitfall=True),
    Wrong("load_gpt2_weights", load_copies_buffers, _LOAD, pitfall=True),
    Wrong("generate_cached", cached_position_zero, _CACHED, pitfall=True),
    Wrong("generate_cached", cached_position_off_by_one, _CACHED),
    Wrong("generate_cached", cached_forgets_the_cache, _CACHED, pitfall=True),
    Wrong("generate_cached", cached_prefill_unmasked, _CACHED),
    Wrong("generate_cached", cached_shared_default_cache, _CACHED),
    Wrong("generate_cached", cached_recomputes, _CACHED, pitfall=True),
    Wrong("kv_cache_bytes", 2 * 12 * 1024 * 768 // 2 * 4, _KV_BYTES, why="counts the keys only, not the values"),
    Wrong("kv_cache_bytes", 2 * 12 * 1024 * 768, _KV_BYTES, why="counts numbers, not bytes (float32 takes 4 bytes)"),
    Wrong("kv_cache_bytes", 2 * 1024 * 768 * 4, _KV_BYTES, why="counts one layer instead of 12"),
    Wrong("kv_cache_bytes", 2.0 * 12 * 1024 * 768 * 4, _KV_BYTES, why="a float, not an int", pitfall=True),
]
