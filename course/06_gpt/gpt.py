# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # 06 · A GPT language model, built from scratch and trained on a GPU
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transformers-from-scratch/course-notebooks/blob/main/release/06_gpt/gpt.ipynb)
#
# **Learning goals.** After this notebook you can
# 1. write multi-head **causal** self-attention in PyTorch, with the causal mask kept as a registered buffer,
#    and check it against `torch.nn.functional.scaled_dot_product_attention`;
# 2. assemble the MLP, the pre-LN Transformer block and a whole GPT (token and position embeddings, blocks,
#    final LayerNorm, a language-model head tied to the token embedding) and count its parameters exactly;
# 3. explain post-LN versus pre-LN and why GPT-2 normalises *before* each sub-layer;
# 4. train the model on real text: random windows, AdamW with weight decay on matrices only (parameter groups
#    you set up), warm-up and a cosine schedule, a training step you write with mixed precision, loss scaling
#    and gradient clipping, train and validation loss as you go, and checkpoints that let a run resume;
# 5. sample text with temperature and top-k, and look inside the trained model with an attention map.
# 6. (going further) load GPT-2's own weights into your model and speed up generation with a key/value cache.
#
# **How to work.** Fill in every cell that says `raise NotImplementedError()` and every answer cell marked
# *YOUR ANSWER HERE*. Run the test cell under each answer: it tells you what it expected. More (hidden)
# checks run when your notebook is graded, so test your code on your own inputs too. Do not delete, copy or
# retype the locked cells.
#
# **Running time and hardware.** The graded part runs in seconds on any CPU. The training run picks a preset
# from the device. On a CPU it trains a 4-layer, 64-wide model (225 k parameters) for 600 steps on the Python
# language reference, one byte per token. Measured on the course's 2-core machine with 2 threads at load 1.1
# to 1.6, the run (tokenizer, bigram baseline and training) took 53 s; while other jobs ran on that machine
# (load 6.5 to 9.8, 1 thread) it took 323 s. On a GPU (e.g. Colab: *Runtime → Change runtime type → T4
# GPU*) it trains a 6-layer model on TinyStories with fp16 mixed precision, and on an A100/H100 an 8-layer
# model with bf16. **The GPU figures (about 15 minutes on a T4, validation loss near 2.0) are
# unmeasured estimates**: no GPU was available while the course was written. When the notebook is graded,
# training shrinks to a few steps.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Setup (locked). Installs the course helper package if it is missing (e.g. on Colab).
import importlib
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("tfscourse") is None:
    _source = os.environ.get("TFSCOURSE_PACKAGE_SOURCE", "git+https://github.com/transformers-from-scratch/course-notebooks.git")
    print(f"Installing the course package from {_source} ...")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", _source], check=True)
    importlib.invalidate_caches()

import tfscourse

tfscourse.setup()

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import inspect
import math
import time
from dataclasses import asdict, dataclass

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F

import tfscourse
from tfscourse import gpt_training as training
from tfscourse.lm_corpus import (
    bigram_baseline,
    bits_per_character,
    decode,
    encode,
    load_corpus,
    token_strings,
    train_tokenizer,
)
from tfscourse.training_view import LiveLossView
from tfscourse.widgets import AttentionMap, show_attention

print(f"torch {torch.__version__}; device for training: {training.pick_device()}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "config_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1 · The configuration
#
# A GPT is fixed by seven numbers. Keep them in a dataclass so that every module reads the same values:
#
# | field | meaning | GPT-2 small |
# |---|---|---|
# | `block_size` | the longest context (number of positions) | 1024 |
# | `vocab_size` | number of token ids | 50257 |
# | `n_layer` | number of Transformer blocks | 12 |
# | `n_head` | attention heads per block | 12 |
# | `n_embd` | width $C$ of every token vector | 768 |
# | `dropout` | dropout probability (0 = off) | 0.0 |
# | `bias` | biases in the Linear and LayerNorm layers | True |
#
# Write the dataclass `GPTConfig` with these seven fields and the GPT-2 small values as defaults. Give each
# field a short comment that says *why* it has that value (a habit worth keeping: configs outlive the people
# who wrote them).

# %% nbgrader={"grade": false, "grade_id": "gpt_config", "locked": false, "schema_version": 3, "solution": true, "task": false}
@dataclass
class GPTConfig:
    """The shape of a GPT; the defaults are GPT-2 small."""

    ### BEGIN SOLUTION
    block_size: int = 1024  # positions the model can see; sets the position table and the mask
    vocab_size: int = 50257  # GPT-2's BPE: 256 bytes + 50,000 merges + one end-of-text token
    n_layer: int = 12  # depth: rounds of attention (mixing positions) and MLP (computing per position)
    n_head: int = 12  # 768 / 12 = 64 dimensions per head
    n_embd: int = 768  # width of the residual stream
    dropout: float = 0.0  # off for pretraining on plenty of data
    bias: bool = True  # GPT-2 has biases; without them training is slightly faster
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_gpt_config", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check that GPTConfig is a dataclass with the seven fields and GPT-2 small defaults."""
try:
    _fields = asdict(GPTConfig())  # dataclasses.asdict works on dataclass instances only
except TypeError:
    raise AssertionError("GPTConfig should be a @dataclass (dataclasses.asdict(GPTConfig()) failed)") from None
_missing = {"block_size", "vocab_size", "n_layer", "n_head", "n_embd", "dropout", "bias"} - set(_fields)
assert not _missing, f"GPTConfig lacks the fields {sorted(_missing)}"
small = GPTConfig(n_layer=2, n_embd=32)
assert small.n_layer == 2 and small.n_embd == 32 and small.n_head == 12, "keyword arguments should set single fields"
### BEGIN HIDDEN TESTS
_want = dict(block_size=1024, vocab_size=50257, n_layer=12, n_head=12, n_embd=768, dropout=0.0, bias=True)
_got = asdict(GPTConfig())
assert set(_got) == set(_want), f"GPTConfig should have exactly the fields {sorted(_want)}"
for _name, _value in _want.items():
    # dropout 0 written as an int is fine; a bool is not a number here
    _types = (int, float) if _name == "dropout" else (type(_value),)
    assert type(_got[_name]) in _types and _got[_name] == _value, f"default {_name} should be {_value!r}, got {_got[_name]!r}"
_cfg2 = GPTConfig(block_size=7, vocab_size=11, n_layer=1, n_head=1, n_embd=4, dropout=0.5, bias=False)
assert asdict(_cfg2) == dict(block_size=7, vocab_size=11, n_layer=1, n_head=1, n_embd=4, dropout=0.5, bias=False), \
    "keyword arguments should set every field"
assert asdict(GPTConfig(dropout=0))["dropout"] == 0, "GPTConfig(dropout=0) should be accepted"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "attention_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2 · Causal multi-head self-attention
#
# Tokens are rows: the input is $x \in \mathbb{R}^{B \times T \times C}$ (batch, time, channels). One
# linear layer `c_attn` maps $C \to 3C$ and its output is split into queries, keys and values **in that
# order** ($q$ = the first $C$ columns, then $k$, then $v$). Each of them is cut into `n_head` heads of
# size $h_s = C / n_{head}$: the channels of one token are divided among the heads, so reshape
# $(B, T, C) \to (B, T, n_{head}, h_s)$ and *then* swap the time and head axes to get $(B, n_{head}, T, h_s)$.
# (Reshaping straight to $(B, n_{head}, T, h_s)$ also runs, but mixes different tokens into one head: a
# classic silent bug.) Per head,
#
# $$\mathrm{att} = \mathrm{softmax}\!\left(\frac{q k^\top}{\sqrt{h_s}} + M\right), \qquad y = \mathrm{att}\, v,$$
#
# where $M$ is $0$ where query $t$ may look at key $s$ ($s \le t$) and $-\infty$ above the diagonal. Finally
# the heads are put side by side again, $(B, n_{head}, T, h_s) \to (B, T, C)$, and a second linear layer
# `c_proj` ($C \to C$) mixes them.
#
# **The causal mask is a buffer.** Build it once in `__init__` as a boolean $(block\_size, block\_size)$
# lower-triangular matrix, `True` where attending is allowed, and register it with
# `self.register_buffer("mask", ...)`. A buffer is part of the module's state (it moves with `.to(device)`
# and is saved in the `state_dict`) but it is **not** a parameter: the optimiser never touches it. In
# `forward`, use its top-left $T \times T$ corner, because a batch may be shorter than `block_size`.
#
# Names matter (other tools read them): `self.c_attn`, `self.c_proj`, `self.n_head`, the buffer `mask`;
# use `self.attn_dropout` on the attention weights and `self.resid_dropout` on the output (both
# `nn.Dropout(config.dropout)`). Write the attention out yourself (no `F.scaled_dot_product_attention`
# here: we compare with it later).
#
# *Where the course departs from the handout:* the handout says the dot product of two vectors whose
# entries have "variance $\sigma$" has variance $\sigma \cdot d_k$. For independent entries with variance
# $\sigma^2$ the variance of $q \cdot k$ is $d_k \sigma^4$; the two agree only for $\sigma = 1$, which is the
# case the scaling $1/\sqrt{d_k}$ is designed for. The handout also gives $W^O$ the shape
# $h \cdot d_k \times d_{out}$: the concatenated heads have $h \cdot d_v$ columns (equal here, as
# $d_k = d_v = h_s$).

# %% nbgrader={"grade": false, "grade_id": "causal_self_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t sees positions 0..t only."""

    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0, "n_embd must be a multiple of n_head"
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        # the causal mask: a (block_size, block_size) boolean buffer named "mask", True = may attend
        ### BEGIN SOLUTION
        mask = torch.tril(torch.ones(config.block_size, config.block_size, dtype=torch.bool))
        self.register_buffer("mask", mask)
        ### END SOLUTION

    def forward(self, x):
        """x (B, T, C) -> (B, T, C)."""
        ### BEGIN SOLUTION
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)  # (B, T, C) x (C, 3C) -> 3 x (B, T, C)
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, T, C) -> (B, H, T, hs)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, T, C) -> (B, H, T, hs)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, T, C) -> (B, H, T, hs)
        att = q @ k.transpose(-2, -1) / math.sqrt(hs)  # (B, H, T, hs) x (B, H, hs, T) -> (B, H, T, T)
        att = att.masked_fill(~self.mask[:T, :T], float("-inf"))
        att = self.attn_dropout(F.softmax(att, dim=-1))
        y = att @ v  # (B, H, T, T) x (B, H, T, hs) -> (B, H, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, H, T, hs) -> (B, T, C)
        return self.resid_dropout(self.c_proj(y))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_causal_mask", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the causal mask: a registered boolean buffer named mask, lower triangular, not a parameter."""
_attn = CausalSelfAttention(GPTConfig(block_size=4, vocab_size=10, n_layer=1, n_head=2, n_embd=8))
_state = _attn.state_dict()
assert "mask" in _state, f"register the mask with self.register_buffer('mask', ...); the state_dict holds {sorted(_state)}"
try:
    _mask = _attn.get_buffer("mask")
except AttributeError:
    raise AssertionError("mask is not a buffer: register it with self.register_buffer('mask', ...), not as a parameter") from None
print(_mask)
assert _mask.dtype == torch.bool, f"the mask should be boolean (True = may attend), got {_mask.dtype}"
assert _mask.tolist() == [[True, False, False, False], [True, True, False, False],
                          [True, True, True, False], [True, True, True, True]], "expected a lower-triangular mask with the diagonal True"
### BEGIN HIDDEN TESTS
for _n in (1, 3, 9):
    # a config object made in the kernel (the course package's ModelSize has GPTConfig's seven fields)
    _m = CausalSelfAttention(training.ModelSize(block_size=_n, vocab_size=17, n_layer=1, n_head=2, n_embd=8,
                                                dropout=0.0, bias=True))
    try:
        _mask = _m.get_buffer("mask")
    except AttributeError:
        raise AssertionError("the mask must be a registered buffer named 'mask' (not a parameter, not a plain attribute)") from None
    assert type(_mask) is torch.Tensor and _mask.dtype == torch.bool and tuple(_mask.shape) == (_n, _n), f"mask must be a bool tensor of shape {(_n, _n)}"
    assert _mask.tolist() == [[s <= t for s in range(_n)] for t in range(_n)], f"mask wrong for block_size={_n}"
    assert "mask" in _m.state_dict(), "the mask buffer should be saved in the state_dict (persistent)"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_causal_self_attention", "locked": true, "points": 4.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check attention: shapes, causality (no peeking at later tokens) and agreement with a reference."""
torch.manual_seed(0)
_cfg = GPTConfig(block_size=8, vocab_size=10, n_layer=1, n_head=2, n_embd=8)
_attn = CausalSelfAttention(_cfg).eval()
_x = torch.randn(2, 5, 8)
_y = _attn(_x)
assert tuple(_y.shape) == (2, 5, 8), f"expected output of shape (2, 5, 8), got {tuple(_y.shape)}"
_x2 = _x.clone()
_x2[:, 3:] = torch.randn(2, 2, 8)  # change tokens 3 and 4 only
_y2 = _attn(_x2)
_diff = (_y2[:, :3] - _y[:, :3]).abs().max().item()
assert _diff < 1e-6, f"outputs at t = 0, 1, 2 changed by {_diff:.3g} when only tokens 3 and 4 changed: the model looks ahead"
### BEGIN HIDDEN TESTS
import math

import torch
import torch.nn.functional as F


def _reference(state, x, n_head, allowed=None):
    """Attention computed here from the weights in ``state``: with the library and by hand (mask: True = may attend)."""
    B, T, C = x.shape
    hs = C // n_head
    qkv = x @ state["c_attn.weight"].T
    if "c_attn.bias" in state:
        qkv = qkv + state["c_attn.bias"]
    q, k, v = (t.reshape(B, T, n_head, hs).permute(0, 2, 1, 3) for t in qkv.split(C, dim=2))
    if allowed is None:
        allowed = torch.ones(T, T).tril().bool()
    y_lib = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
    scores = torch.einsum("bhtd,bhsd->bhts", q, k) / math.sqrt(hs)
    y_own = torch.einsum("bhts,bhsd->bhtd", scores.masked_fill(~allowed, -1e30).softmax(-1), v)
    outs = []
    for y in (y_lib, y_own):
        y = y.permute(0, 2, 1, 3).reshape(B, T, C) @ state["c_proj.weight"].T
        outs.append(y + state["c_proj.bias"] if "c_proj.bias" in state else y)
    return outs


def _randomised(module, seed, scale=0.5):
    """Load random weights into the student's module; returns them (the mask is kept)."""
    gen = torch.Generator().manual_seed(seed)
    state = {k: (torch.randn(v.shape, generator=gen) * scale if v.is_floating_point() else v)
             for k, v in module.state_dict().items()}
    module.load_state_dict(state)
    return state


def _config(block_size, n_head, n_embd, bias=True, dropout=0.0):
    # a config object made in the kernel (the course package's ModelSize has GPTConfig's seven fields)
    return training.ModelSize(block_size=block_size, vocab_size=17, n_layer=1, n_head=n_head, n_embd=n_embd,
                              dropout=dropout, bias=bias)


for _seed, (_B, _T, _H, _C, _bs, _bias) in enumerate([(2, 5, 2, 8, 8, True), (1, 7, 3, 12, 7, False), (3, 1, 4, 16, 6, True), (2, 9, 1, 5, 12, True)]):
    torch.manual_seed(100 + _seed)
    _m = CausalSelfAttention(_config(_bs, _H, _C, _bias)).eval()
    _state = _randomised(_m, 100 + _seed)
    _x = torch.randn(_B, _T, _C)
    _got = _m(_x.clone())
    _lib, _own = _reference(_state, _x, _H)
    assert _close(_got, _lib), f"differs from F.scaled_dot_product_attention(is_causal=True) for B={_B}, T={_T}, n_head={_H}, n_embd={_C}"
    assert _close(_got, _own), f"differs from the reference attention for B={_B}, T={_T}, n_head={_H}, n_embd={_C}"
    for _t in range(_T - 1):  # causality: changing tokens after t leaves outputs 0..t alone
        _x2 = _x.clone()
        _x2[:, _t + 1:] = torch.randn(_B, _T - _t - 1, _C) * 3
        _got2 = _m(_x2)
        assert _close(_got2[:, : _t + 1], _got[:, : _t + 1]), f"output at t={_t} depends on later tokens"

# dropout is for training only: in eval mode a layer with dropout 0.5 computes exactly the reference
_m = CausalSelfAttention(_config(8, 2, 8, dropout=0.5)).eval()
_state = _randomised(_m, 7)
_x = torch.randn(3, 6, 8)
_first, _second = _m(_x), _m(_x)
assert _close(_first, _second) and _close(_first, _reference(_state, _x, 2)[1]), \
    "with dropout > 0, eval mode must switch dropout off (use self.attn_dropout = nn.Dropout, not F.dropout(..., training=True))"

# forward must read the registered buffer: load another mask into it (each token sees itself and the
# token before) and the output has to follow that mask, not one built afresh in forward
_m = CausalSelfAttention(_config(8, 2, 8)).eval()
_state = _randomised(_m, 11)
_band = torch.ones(8, 8).tril().bool() & ~torch.ones(8, 8).tril(-2).bool()
_m.load_state_dict({**_state, "mask": _band})
_x = torch.randn(2, 7, 8)
assert _close(_m(_x), _reference(_state, _x, 2, _band[:7, :7])[1]), \
    "forward must use the registered buffer self.mask (its top-left T x T corner), not a mask made in forward or is_causal=True"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "mlp_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3 · The MLP
#
# After attention has moved information *between* positions, a small two-layer network works on every
# position separately: `c_fc` widens from $C$ to $4C$, a GELU bends it, `c_proj` brings it back to $C$, and
# dropout follows (`self.dropout`). The handout's formula uses a ReLU; GPT-2 uses the GELU
# $x\,\Phi(x)$, a smooth ReLU whose gradient is not exactly zero for negative inputs. Use `nn.GELU()`.

# %% nbgrader={"grade": false, "grade_id": "mlp", "locked": false, "schema_version": 3, "solution": true, "task": false}
class MLP(nn.Module):
    """Position-wise feed-forward network C -> 4C -> GELU -> C."""

    def __init__(self, config):
        super().__init__()
        ### BEGIN SOLUTION
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)
        ### END SOLUTION

    def forward(self, x):
        """x (B, T, C) -> (B, T, C)."""
        ### BEGIN SOLUTION
        # (B, T, C) x (C, 4C) -> (B, T, 4C) -> GELU -> (B, T, 4C) x (4C, C) -> (B, T, C)
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mlp", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the MLP's layer sizes and output shape."""
_mlp = MLP(GPTConfig(block_size=4, vocab_size=10, n_layer=1, n_head=2, n_embd=8))
assert tuple(_mlp.c_fc.weight.shape) == (32, 8), f"c_fc should map 8 -> 32 (weight (32, 8)), got {tuple(_mlp.c_fc.weight.shape)}"
assert tuple(_mlp.c_proj.weight.shape) == (8, 32), f"c_proj should map 32 -> 8, got {tuple(_mlp.c_proj.weight.shape)}"
assert tuple(_mlp(torch.randn(2, 3, 8)).shape) == (2, 3, 8), "the MLP must keep the shape (B, T, C)"
### BEGIN HIDDEN TESTS
import math

import torch

for _seed, (_C, _bias, _dropout) in enumerate([(8, True, 0.0), (6, False, 0.0), (1, True, 0.0), (8, True, 0.5)]):
    torch.manual_seed(_seed)
    # a config object made in the kernel (the course package's ModelSize has GPTConfig's seven fields)
    _m = MLP(training.ModelSize(block_size=8, vocab_size=17, n_layer=1, n_head=1, n_embd=_C, dropout=_dropout, bias=_bias)).eval()
    _state = _m.state_dict()
    assert tuple(_state["c_fc.weight"].shape) == (4 * _C, _C) and tuple(_state["c_proj.weight"].shape) == (_C, 4 * _C), "c_fc: C -> 4C, c_proj: 4C -> C"
    assert ("c_fc.bias" in _state) == _bias and ("c_proj.bias" in _state) == _bias, "config.bias decides whether the layers have biases"
    _x = torch.randn(2, 3, _C) * 2
    _got = _m(_x.clone())
    _h = _x @ _state["c_fc.weight"].T + (_state["c_fc.bias"] if _bias else 0.0)
    _exact = 0.5 * _h * (1.0 + torch.erf(_h / math.sqrt(2.0)))
    _tanh = 0.5 * _h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (_h + 0.044715 * _h**3)))
    _want = [g @ _state["c_proj.weight"].T + (_state["c_proj.bias"] if _bias else 0.0) for g in (_exact, _tanh)]
    _hint = " (in eval mode dropout must be off: use self.dropout = nn.Dropout)" if _dropout else ""
    assert _close(_got, _want[0]) or _close(_got, _want[1]), f"MLP output wrong for C={_C}: expected c_proj(GELU(c_fc(x))){_hint}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "block_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4 · The Transformer block: residuals and LayerNorm, post-LN or pre-LN?
#
# A block adds the attention's output and then the MLP's output to a **residual stream** $x$. Where the
# LayerNorms go is a real design choice:
#
# * **Post-LN** (the original Transformer, and the handout's formula): normalise *after* each addition,
#   $x \leftarrow \mathrm{LN}(x + \mathrm{Attn}(x))$, then $x \leftarrow \mathrm{LN}(x + \mathrm{MLP}(x))$.
#   Every path from the output back to the input passes through $2 n_{layer}$ LayerNorms; the scale of the
#   gradient near the output is large at initialisation, so deep post-LN models need a careful, long
#   learning-rate warm-up or they diverge.
# * **Pre-LN** (GPT-2 and almost every LLM since): normalise the *input of each sub-layer* and add its
#   output to an untouched stream, $x \leftarrow x + \mathrm{Attn}(\mathrm{LN}_1(x))$, then
#   $x \leftarrow x + \mathrm{MLP}(\mathrm{LN}_2(x))$, with one last LayerNorm `ln_f` before the output head.
#   The stream is a plain sum from the embeddings to `ln_f`, so gradients reach the first block through an
#   identity path; training is stable with a short warm-up.
#
# This course's GPT is **pre-LN**. Write `Block` with the sub-modules `ln_1`, `attn` (your
# `CausalSelfAttention`), `ln_2` and `mlp` (your `MLP`); the LayerNorms are `nn.LayerNorm(config.n_embd, bias=config.bias)`.

# %% nbgrader={"grade": false, "grade_id": "block", "locked": false, "schema_version": 3, "solution": true, "task": false}
class Block(nn.Module):
    """Pre-LN Transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, config):
        super().__init__()
        ### BEGIN SOLUTION
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)
        ### END SOLUTION

    def forward(self, x):
        """x (B, T, C) -> (B, T, C)."""
        ### BEGIN SOLUTION
        x = x + self.attn(self.ln_1(x))  # (B, T, C)
        x = x + self.mlp(self.ln_2(x))  # (B, T, C)
        return x
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_block", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the block's sub-modules and that it is pre-LN with two residual connections."""
_block = Block(GPTConfig(block_size=4, vocab_size=10, n_layer=1, n_head=2, n_embd=8)).eval()
_state = _block.state_dict()
for _name in ("ln_1", "attn", "ln_2", "mlp"):
    assert any(_key.startswith(_name + ".") for _key in _state), f"Block needs a sub-module named {_name}"
_x = torch.randn(2, 3, 8)
_want = _x + _block.attn(_block.ln_1(_x))
_want = _want + _block.mlp(_block.ln_2(_want))
_diff = (_block(_x) - _want).abs().max().item()
assert _diff < 1e-5, f"Block(x) differs from x + attn(ln_1(x)) then + mlp(ln_2(.)) by {_diff:.3g}"
### BEGIN HIDDEN TESTS
import torch
import torch.nn.functional as F

for _seed, (_C, _H, _T) in enumerate([(8, 2, 5), (12, 3, 1), (6, 1, 8)]):
    torch.manual_seed(_seed)
    # a config object made in the kernel (the course package's ModelSize has GPTConfig's seven fields)
    _b = Block(training.ModelSize(block_size=8, vocab_size=17, n_layer=1, n_head=_H, n_embd=_C, dropout=0.0, bias=True)).eval()
    # random weights, ln_1 and ln_2 different: loaded into the student's block, kept here for the reference
    _state = {k: (torch.randn(v.shape) * 0.5 if v.is_floating_point() else v) for k, v in _b.state_dict().items()}
    _b.load_state_dict(_state)
    _x = torch.randn(2, _T, _C) * 3 + 1
    _got = _b(_x.clone())
    _want = _x + _b.attn(F.layer_norm(_x, (_C,), _state["ln_1.weight"], _state["ln_1.bias"]))
    _want = _want + _b.mlp(F.layer_norm(_want, (_C,), _state["ln_2.weight"], _state["ln_2.bias"]))
    assert _close(_got, _want), f"Block is not x + attn(ln_1(x)), x + mlp(ln_2(x)) with two separate LayerNorms for C={_C}, n_head={_H}, T={_T}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": true, "grade_id": "pre_ln_discussion", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** In two to four sentences: which layer-norm placement does your block use, what is the other
# one, and why does GPT-2 prefer its choice? What does `ln_f` do that post-LN does not need?
#
# ### BEGIN SOLUTION
# The block is pre-LN: each sub-layer reads a normalised copy of the stream and adds its output to the
# un-normalised stream. Post-LN normalises the sum after every residual addition, so the gradient has to
# pass through a LayerNorm at every block and its size at initialisation depends strongly on depth; deep
# post-LN models need a long warm-up and small learning rates to avoid diverging. In pre-LN the stream is
# an identity path from the embeddings to the output, which keeps gradients well scaled and training
# stable. Because nothing normalises the stream after the last block, pre-LN adds one final LayerNorm
# `ln_f` before the language-model head; post-LN's last operation is already a LayerNorm.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "gpt_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5 · The whole GPT
#
# * `transformer.wte`: token embedding `nn.Embedding(vocab_size, n_embd)`; `transformer.wpe`: position
#   embedding `nn.Embedding(block_size, n_embd)`; `transformer.drop`: `nn.Dropout(dropout)`;
#   `transformer.h`: an `nn.ModuleList` of `n_layer` blocks; `transformer.ln_f`: the final LayerNorm.
#   Keep them in `self.transformer = nn.ModuleDict(dict(wte=..., wpe=..., drop=..., h=..., ln_f=...))`.
# * `lm_head`: `nn.Linear(n_embd, vocab_size, bias=False)` whose weight **is** the token embedding
#   (`self.lm_head.weight = self.transformer.wte.weight`). Tying saves $V \cdot C$ parameters (38.6 M of
#   GPT-2's 124 M) and makes the input and output sides of a token share one vector.
# * Initialise with GPT-2's scheme by calling the given `self._init_weights()` at the end of `__init__`:
#   every weight matrix $\mathcal{N}(0, 0.02^2)$, biases zero, and the two `c_proj` matrices of each block
#   scaled down by $1/\sqrt{2 n_{layer}}$ (each block adds two outputs to the stream).
#
# `forward(idx, targets=None)`: `idx` holds token ids $(B, T)$ with $T \le$ `block_size`. Add the token
# vectors and the position vectors of positions $0, \dots, T-1$, apply dropout, the blocks, `ln_f` and the head:
# logits $(B, T, V)$. When `targets` $(B, T)$ are given (the token that follows each position, see
# `get_batch` below), the loss is the mean cross-entropy over all $B \cdot T$ positions
# (`F.cross_entropy(logits.view(-1, V), targets.view(-1))`); otherwise the loss is `None`. Return `(logits, loss)`.
#
# `generate(idx, max_new_tokens, temperature=1.0, top_k=None)` repeats `max_new_tokens` times: crop the
# context to its last `block_size` tokens, take the logits of the **last** position, divide them by
# `temperature`, keep only the `top_k` largest (set the rest to $-\infty$) when `top_k` is given, turn them
# into probabilities with a softmax, draw one token with `torch.multinomial` and append it. Return the
# whole sequence $(B, T + \text{max\_new\_tokens})$. No gradients are needed (`@torch.no_grad()`).
# `temperature=0` means **greedy** decoding: append the argmax of the logits (the limit of ever smaller
# temperatures; dividing by 0 itself would give infinities and a softmax full of NaN).

# %% nbgrader={"grade": false, "grade_id": "gpt", "locked": false, "schema_version": 3, "solution": true, "task": false}
class GPT(nn.Module):
    """Token + position embeddings, n_layer pre-LN blocks, final LayerNorm, tied LM head."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        ### BEGIN SOLUTION
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
        self.lm_head.weight = self.transformer.wte.weight  # weight tying
        self._init_weights()
        ### END SOLUTION

    def _init_weights(self):
        """GPT-2 initialisation (given): N(0, 0.02) weights, zero biases, residual projections scaled down."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * self.config.n_layer))

    def forward(self, idx, targets=None):
        """idx (B, T) -> (logits (B, T, V), loss or None)."""
        ### BEGIN SOLUTION
        B, T = idx.shape
        assert T <= self.config.block_size, f"sequence of {T} tokens but block_size is {self.config.block_size}"
        pos = torch.arange(T, device=idx.device)  # (T,)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)  # (B, T, C) + (T, C) -> (B, T, C)
        x = self.transformer.drop(x)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)  # (B, T, C) x (C, V) -> (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(B * T, -1).float(), targets.reshape(B * T))
        return logits, loss
        ### END SOLUTION

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        """Append max_new_tokens sampled tokens to idx (B, T); returns (B, T + max_new_tokens)."""
        ### BEGIN SOLUTION
        for _ in range(max_new_tokens):
            context = idx[:, -self.config.block_size:]  # (B, <= block_size)
            logits, _ = self(context)
            logits = logits[:, -1, :].float()  # (B, V)
            if temperature == 0:  # greedy: the limit of temperature -> 0 (dividing by 0 gives NaN)
                next_id = logits.argmax(dim=-1, keepdim=True)  # (B, 1)
            else:
                logits = logits / temperature
                if top_k is not None:
                    kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]  # (B, 1)
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                probs = F.softmax(logits, dim=-1)
                next_id = torch.multinomial(probs, num_samples=1)  # (B, 1)
            idx = torch.cat([idx, next_id], dim=1)
        return idx
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_gpt_forward", "locked": true, "points": 4.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check GPT.forward: shapes, the tied head, positions, causality and the loss."""
torch.manual_seed(0)
_cfg = GPTConfig(block_size=8, vocab_size=20, n_layer=2, n_head=2, n_embd=8)
_model = GPT(_cfg).eval()
_idx = torch.randint(0, 20, (2, 5))
_logits, _loss = _model(_idx)
assert tuple(_logits.shape) == (2, 5, 20), f"logits should have shape (B, T, V) = (2, 5, 20), got {tuple(_logits.shape)}"
assert _loss is None, "without targets the loss should be None"
_, _loss = _model(_idx, torch.randint(0, 20, (2, 5)))
assert _loss is not None and _loss.dim() == 0, "with targets the loss should be one number (a 0-d tensor)"
_same = torch.full((1, 6), 3)
_l_same, _ = _model(_same)
assert (_l_same[0, 0] - _l_same[0, 5]).abs().max() > 1e-4, "the same token at positions 0 and 5 gives the same logits: add the position embeddings"
# a tied head is one matrix under two names: load different values into both names, read back one matrix
_state = _model.state_dict()
assert "lm_head.weight" in _state and "transformer.wte.weight" in _state, "the model needs self.lm_head and self.transformer.wte"
_model.load_state_dict({**_state, "transformer.wte.weight": torch.zeros(20, 8), "lm_head.weight": torch.ones(20, 8)})
_state = _model.state_dict()
assert torch.equal(_state["lm_head.weight"], _state["transformer.wte.weight"]), \
    "tie the head: self.lm_head.weight = self.transformer.wte.weight"
### BEGIN HIDDEN TESTS
import torch
import torch.nn.functional as F


def _config(block_size, vocab_size, n_layer, n_head, n_embd, bias=True, dropout=0.0):
    # a config object made in the kernel (the course package's ModelSize has GPTConfig's seven fields)
    return training.ModelSize(block_size=block_size, vocab_size=vocab_size, n_layer=n_layer, n_head=n_head,
                              n_embd=n_embd, dropout=dropout, bias=bias)


def _randomised(model, seed, scale=0.3):
    """Load random weights (the head tied: one matrix for both names); returns them."""
    gen = torch.Generator().manual_seed(seed)
    state = {k: (torch.randn(v.shape, generator=gen) * scale if v.is_floating_point() else v)
             for k, v in model.state_dict().items()}
    state["lm_head.weight"] = state["transformer.wte.weight"]
    model.load_state_dict(state)
    return state


for _seed, (_bs, _V, _L, _H, _C, _B, _T, _bias) in enumerate([(8, 23, 2, 2, 8, 2, 5, True), (5, 11, 1, 1, 6, 1, 5, False), (16, 40, 3, 4, 16, 3, 1, True), (6, 9, 2, 3, 12, 2, 6, True)]):
    torch.manual_seed(10 + _seed)
    _m = GPT(_config(_bs, _V, _L, _H, _C, bias=_bias)).eval()
    _m.load_state_dict({**_m.state_dict(), "transformer.wte.weight": torch.zeros(_V, _C), "lm_head.weight": torch.ones(_V, _C)})
    _tied = _m.state_dict()
    assert torch.equal(_tied["lm_head.weight"], _tied["transformer.wte.weight"]), "the LM head must be tied to the token embedding"
    _state = _randomised(_m, 10 + _seed)
    _idx = torch.randint(0, _V, (_B, _T))
    _tgt = torch.randint(0, _V, (_B, _T))
    _logits, _loss = _m(_idx.clone(), _tgt.clone())
    _x = _state["transformer.wte.weight"][_idx] + _state["transformer.wpe.weight"][:_T]
    for _i in range(_L):
        _x = _m.transformer.h[_i](_x)  # the student's own blocks (checked in test_block)
    _x = F.layer_norm(_x, (_C,), _state["transformer.ln_f.weight"], _state.get("transformer.ln_f.bias"))
    _want = _x @ _state["transformer.wte.weight"].T
    _want_loss = -torch.log_softmax(_want.double(), dim=-1).gather(-1, _tgt[..., None]).mean()
    assert _close(_logits, _want), f"logits wrong (token + position embeddings, blocks, ln_f, tied head) for B={_B}, T={_T}, V={_V}"
    assert type(_loss) is torch.Tensor and _loss.dim() == 0 and abs(_loss.item() - _want_loss.item()) < 1e-4 * (1 + _want_loss.item()), \
        "the loss should be the mean cross-entropy of logits[b, t] against targets[b, t] (no extra shift)"
    assert _m(_idx)[1] is None, "loss must be None without targets"
    for _t in range(_T - 1):  # causality through the whole model
        _idx2 = _idx.clone()
        _idx2[:, _t + 1:] = (_idx2[:, _t + 1:] + 1) % _V
        assert _close(_m(_idx2)[0][:, : _t + 1], _logits[:, : _t + 1]), f"logits at t={_t} depend on later tokens"

# transformer.drop: with no blocks the logits are ln_f(drop(wte + wpe)) @ wte^T; dropout 0.5 must change
# them in training mode and leave them alone in eval mode
_m = GPT(_config(8, 13, 0, 2, 8, dropout=0.5))
_state = _randomised(_m, 5)
_idx = torch.randint(0, 13, (4, 8))
_x = _state["transformer.wte.weight"][_idx] + _state["transformer.wpe.weight"][:8]
_want = F.layer_norm(_x, (8,), _state["transformer.ln_f.weight"], _state["transformer.ln_f.bias"]) @ _state["transformer.wte.weight"].T
_m.eval()
assert _close(_m(_idx)[0], _want), "in eval mode (dropout off) the logits are wrong for a model without blocks"
_m.train()
_train_logits = _m(_idx)[0]
assert not _close(_train_logits, _want), "in training mode, apply self.transformer.drop to the sum of token and position embeddings"
_m.eval()
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "params_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 5.1 · How many parameters has GPT-2 small?
#
# Count them by hand first, then check with your class. With $V = 50257$, $T_{max} = 1024$, $C = 768$,
# $L = 12$ and biases:
#
# | part | formula | parameters |
# |---|---|---|
# | token embedding `wte` (= the tied head) | $V C$ | 38,597,376 |
# | position embedding `wpe` | $T_{max} C$ | 786,432 |
# | per block: `c_attn` | $3C^2 + 3C$ | 1,771,776 |
# | per block: attention `c_proj` | $C^2 + C$ | 590,592 |
# | per block: `c_fc` | $4C^2 + 4C$ | 2,362,368 |
# | per block: MLP `c_proj` | $4C^2 + C$ | 2,360,064 |
# | per block: `ln_1`, `ln_2` | $2 \cdot 2C$ | 3,072 |
# | 12 blocks | $12 \cdot (12C^2 + 13C)$ | 85,054,464 |
# | `ln_f` | $2C$ | 1,536 |
# | **total** | | **124,439,808** |
#
# This is what `sum(p.numel() for p in model.parameters())` counts: every trainable tensor **once** (the tied
# head shares the storage of `wte`, so it is not counted twice; without tying it would be 163,037,184). The
# causal masks are buffers, not parameters. nanoGPT prints 123.65 M because it leaves out `wpe`
# ("non-embedding" parameters); the "124 M" of GPT-2 small is the full count above.
#
# The test counts with `training.parameter_count(GPT, GPTConfig())`, which builds your GPT-2 small on
# PyTorch's `meta` device (shapes only, no memory, so it takes no time) and adds up `p.numel()` over
# `model.parameters()`.

# %% nbgrader={"grade": true, "grade_id": "test_gpt2_small_params", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the parameter count of GPT-2 small (tied head): 124,439,808."""
_n = training.parameter_count(GPT, GPTConfig())  # GPT(GPTConfig()) built on the meta device, each tensor counted once
print(f"GPT-2 small: {_n:,} parameters")
assert _n == 124_439_808, f"expected 124,439,808 parameters, got {_n:,} (difference {_n - 124_439_808:+,})"
### BEGIN HIDDEN TESTS
def _count(block_size, vocab_size, n_layer, n_head, n_embd, bias):
    per_block = 12 * n_embd**2 + 2 * n_embd + (11 * n_embd if bias else 0)
    return vocab_size * n_embd + block_size * n_embd + n_layer * per_block + n_embd + (n_embd if bias else 0)


assert _count(1024, 50257, 12, 12, 768, True) == 124_439_808
for _shape in [(1024, 50257, 12, 12, 768, True), (1024, 50257, 24, 16, 1024, True), (64, 2048, 4, 4, 128, False), (7, 13, 1, 2, 6, True)]:
    _cfg = training.ModelSize(*_shape[:5], dropout=0.0, bias=_shape[5])  # a config object made in the kernel
    _got = training.parameter_count(GPT, _cfg)
    assert _got == _count(*_shape), f"parameter count {_got:,} != {_count(*_shape):,} for (block_size, vocab_size, n_layer, n_head, n_embd, bias) = {_shape}"
# the same count read from the state_dict of real small models: every tensor except the mask buffers,
# the tied head once (a tied head reads back one matrix after loading two different ones)
for _shape in [(64, 2048, 4, 4, 128, False), (7, 13, 1, 2, 6, True), (16, 50, 2, 2, 16, True)]:
    _m = GPT(training.ModelSize(*_shape[:5], dropout=0.0, bias=_shape[5]))
    _state = _m.state_dict()
    _V, _C = _shape[1], _shape[4]
    _m.load_state_dict({**_state, "transformer.wte.weight": torch.zeros(_V, _C), "lm_head.weight": torch.ones(_V, _C)})
    _after = _m.state_dict()
    _tied = torch.equal(_after["lm_head.weight"], _after["transformer.wte.weight"])
    _got = sum(v.numel() for k, v in _state.items() if k.split(".")[-1] != "mask") - (_V * _C if _tied else 0)
    assert _got == _count(*_shape), f"the state_dict holds {_got:,} parameters (tied head once), expected {_count(*_shape):,} for {_shape}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "init_loss_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 5.2 · The loss at initialisation
#
# A freshly initialised model should be *unsure*: its logits are small, its softmax is close to uniform, so
# the probability of the right token is about $1/V$ and the cross-entropy about $\ln V$. A loss far above
# $\ln V$ at step 0 means the initialisation makes confident, wrong predictions (and the first hundreds of
# steps are wasted undoing them). The test checks this for several sizes, then that one AdamW step on a
# fixed batch lowers the loss and that every parameter receives a gradient.

# %% nbgrader={"grade": true, "grade_id": "test_init_loss", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check that the loss at initialisation is close to ln(vocab_size)."""
torch.manual_seed(0)
_model = GPT(GPTConfig(block_size=16, vocab_size=300, n_layer=2, n_head=2, n_embd=32)).eval()
_idx, _tgt = torch.randint(0, 300, (8, 16)), torch.randint(0, 300, (8, 16))
_, _loss = _model(_idx, _tgt)
print(f"loss at init {_loss.item():.3f}, ln(300) = {math.log(300):.3f}")
assert abs(_loss.item() - math.log(300)) < 0.15, f"expected a loss close to ln(300) = {math.log(300):.3f}, got {_loss.item():.3f}: did you call self._init_weights()?"
### BEGIN HIDDEN TESTS
import math

import torch

for _seed, _shape in enumerate([(32, 1000, 2, 2, 64, True), (8, 50, 1, 1, 16, True), (24, 4096, 4, 4, 96, False)]):
    torch.manual_seed(_seed)
    _V = _shape[1]
    _m = GPT(training.ModelSize(*_shape[:5], dropout=0.0, bias=_shape[5])).eval()  # a config object made in the kernel
    _idx = torch.randint(0, _V, (6, _shape[0]))
    _tgt = torch.randint(0, _V, (6, _shape[0]))
    _loss = _m(_idx, _tgt)[1]
    assert type(_loss) is torch.Tensor and abs(_loss.item() - math.log(_V)) < 0.15, \
        f"loss at init {_loss.item():.3f} is not close to ln({_V}) = {math.log(_V):.3f}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_gradient_flow", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check that one AdamW step on a fixed batch lowers the loss and reaches every parameter."""
torch.manual_seed(0)
_model = GPT(GPTConfig(block_size=16, vocab_size=50, n_layer=2, n_head=2, n_embd=16))
_x, _y = torch.randint(0, 50, (4, 16)), torch.randint(0, 50, (4, 16))
# training.adamw_step runs forward, backward and one torch.optim.AdamW step (lr 1e-2) on your model
_step = training.adamw_step(_model, _x, _y, lr=1e-2)
print(f"loss before {_step['loss_before']:.4f}, after one step {_step['loss_after']:.4f}")
assert _step["loss_after"] < _step["loss_before"], "one optimiser step on the same batch should lower the loss"
### BEGIN HIDDEN TESTS
for _seed, _shape in enumerate([(12, 37, 2, 2, 16, True), (7, 20, 3, 1, 8, False)]):
    _bs, _V, _L, _H, _C, _bias = _shape
    training.manual_seed(_seed)
    _m = GPT(training.ModelSize(*_shape[:5], dropout=0.0, bias=_bias))  # a config object made in the kernel
    _expected = _V * _C + _bs * _C + _L * (12 * _C**2 + 2 * _C + (11 * _C if _bias else 0)) + _C * (2 if _bias else 1)
    _x = torch.randint(0, _V, (5, _bs))
    _y = torch.randint(0, _V, (5, _bs))
    _step = training.adamw_step(_m, _x, _y, lr=3e-3)
    _params = _step["parameters"]
    assert sum(n for n, _ in _params.values()) == _expected, "model.parameters() does not hold every parameter (use nn.ModuleList / nn.ModuleDict)"
    for _name, (_, _norm) in _params.items():
        assert _norm is not None and _norm > 0, f"parameter {_name} got no gradient"
    assert _step["loss_after"] < _step["loss_before"] - 1e-3, f"the loss did not go down after one step ({_step['loss_before']:.4f} -> {_step['loss_after']:.4f})"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_generate", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check generate: output length, the prompt kept, greedy decoding (top_k=1 or temperature=0), and crop to block_size."""
torch.manual_seed(0)
_model = GPT(GPTConfig(block_size=8, vocab_size=30, n_layer=1, n_head=2, n_embd=16)).eval()
_prompt = torch.tensor([[1, 2, 3]])
_out = _model.generate(_prompt, 4)
assert tuple(_out.shape) == (1, 7), f"3 prompt tokens + 4 new ones: expected shape (1, 7), got {tuple(_out.shape)}"
assert _out[0, :3].tolist() == [1, 2, 3], "the output should start with the prompt"
_greedy = _model.generate(_prompt, 3, top_k=1)
_first = _model(_prompt)[0][0, -1].argmax().item()
assert _greedy[0, 3].item() == _first, f"with top_k=1 the first new token must be the argmax {_first}, got {_greedy[0, 3].item()}"
try:
    _zero = _model.generate(_prompt, 3, temperature=0)
except (RuntimeError, ValueError, ZeroDivisionError) as _error:
    raise AssertionError(f"generate(..., temperature=0) failed ({_error}); temperature 0 means greedy: take the argmax") from None
assert _zero.tolist() == _greedy.tolist(), "temperature=0 must be greedy decoding (the argmax at every step, like top_k=1)"
_long = _model.generate(torch.zeros(1, 12, dtype=torch.long), 2)
assert tuple(_long.shape) == (1, 14), "a prompt longer than block_size must be cropped, not rejected"
### BEGIN HIDDEN TESTS
import torch

torch.manual_seed(3)
# a config object made in the kernel (the course package's ModelSize has GPTConfig's seven fields)
_m = GPT(training.ModelSize(block_size=6, vocab_size=25, n_layer=2, n_head=2, n_embd=16, dropout=0.0, bias=True)).eval()
_gen = torch.Generator().manual_seed(3)
_state = {k: (torch.randn(v.shape, generator=_gen) * 0.4 if v.is_floating_point() else v) for k, v in _m.state_dict().items()}
_state["lm_head.weight"] = _state["transformer.wte.weight"]
_m.load_state_dict(_state)


def _last_logits(seq):
    return _m(seq[:, -6:])[0][:, -1, :]


_prompt = torch.randint(0, 25, (3, 4))
_out = _m.generate(_prompt.clone(), 9, temperature=1.0, top_k=1)
assert type(_out) is torch.Tensor and tuple(_out.shape) == (3, 13), "generate must return (B, T + max_new_tokens)"
assert _out[:, :4].tolist() == _prompt.tolist(), "the prompt must be kept"
for _t in range(4, 13):  # greedy with top_k=1, cropping to the last 6 tokens when longer
    assert _out[:, _t].tolist() == _last_logits(_out[:, :_t]).argmax(-1).tolist(), "top_k=1 must give greedy decoding (with the context cropped to block_size)"
for _k in (2, 5):
    for _rep in range(2):
        _o = _m.generate(_prompt.repeat(4, 1), 6, temperature=3.0, top_k=_k)
        for _t in range(4, 10):
            _top = _last_logits(_o[:, :_t]).topk(_k, dim=-1).indices.tolist()
            assert all(tok in row for tok, row in zip(_o[:, _t].tolist(), _top)), f"a token outside the top {_k} was sampled"
_cold = _m.generate(_prompt.clone(), 5, temperature=1e-4)
for _t in range(4, 9):
    assert _cold[:, _t].tolist() == _last_logits(_cold[:, :_t]).argmax(-1).tolist(), "a tiny temperature must behave like greedy decoding (divide the logits by the temperature)"
try:
    _zero = _m.generate(_prompt.clone(), 8, temperature=0.0)
except (RuntimeError, ValueError, ZeroDivisionError):
    raise AssertionError("generate(..., temperature=0) must not fail: temperature 0 means greedy decoding") from None
assert _zero.tolist() == _out[:, :12].tolist(), "temperature=0 must give greedy decoding (the argmax at every step)"
_zero_k = _m.generate(_prompt.clone(), 3, temperature=0, top_k=5)
assert _zero_k.tolist() == _out[:, :7].tolist(), "temperature=0 with top_k must still be greedy"
_hot = _m.generate(torch.zeros(300, 1, dtype=torch.long), 1, temperature=50.0)[:, 1]
assert len(set(_hot.tolist())) > 15, "a high temperature must flatten the distribution (divide the logits by the temperature)"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "data_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6 · Data: a real text and a byte-level BPE
#
# Which text the model reads depends on the machine (the cell picks a preset from the device):
#
# * **On a CPU** (and always while the notebook is graded): the Python language reference that ships with
#   every Python installation (`pydoc_data`, about 465 000 characters of English prose with code examples),
#   the text notebook 05's character LSTM read, split the same way (the last 10 % is the validation text).
#   The tokenizer keeps only its 256 byte tokens (no merges), so one token is one byte, and for this text
#   almost always one character: the GPT and 05's LSTM are then scored on the same characters.
# * **On a GPU** (e.g. Colab): **TinyStories**, short stories written in simple English by GPT-3.5/4 for
#   training small models, streamed with Hugging Face `datasets` (only the characters the preset needs are
#   downloaded). Without network it falls back to an offline text (the Python standard library's source),
#   and the run is shortened so that it does not read that text dozens of times.
#
# *Where the course departs from the handout:* the handout trains on WikiText-2 (raw), about 2 M words of
# Wikipedia. `load_corpus("wikitext2")` still loads it, and `load_corpus(path="my.txt")` any local text file;
# but WikiText-2 is small for a GPU (a 15-minute T4 run would read it many times over) and needs the network,
# so the notebook uses the two texts above.
#
# The tokenizer is a **byte-level BPE** (Hugging Face `tokenizers`; notebook 03 builds one by hand), trained
# on the *training* text only. Byte level means no text is ever out of vocabulary. Why bytes on the CPU
# rather than a few hundred merges? A small model with few minutes of training learns spelling and
# short-range structure first; with bytes that is what the loss measures, and the count-based baseline of
# section 7.1 (which sees one token back) is weak, so the gain from looking further back is visible. An
# earlier version of this notebook used a 512-token BPE on the standard library's source: after 300 CPU
# steps its GPT was measured no better than that baseline (3.771 against 3.740 nats per token). The cell
# prints which corpus was loaded.

# %% nbgrader={"grade": false, "grade_id": "data", "locked": true, "schema_version": 3, "solution": false, "task": false}
device = training.pick_device()
preset = training.choose_preset(device)  # CPU: a small byte-level model on the language reference; GPU: TinyStories
# graded runs: a small piece of an offline text, a few steps; a download falls back to the offline text
corpus = load_corpus(preset.corpus, max_chars=200_000 if tfscourse.grading_mode() else preset.corpus_chars)
tokenizer = train_tokenizer(corpus.train, vocab_size=preset.tokenizer_vocab)
train_ids = encode(tokenizer, corpus.train)
val_ids = encode(tokenizer, corpus.val)
preset = training.fit_to_corpus(preset, len(train_ids))  # never read a small corpus dozens of times
train_steps = 12 if tfscourse.grading_mode() else preset.train.max_steps
print(f"preset {preset.name} on {device}: {preset.note}")
print(f"corpus: {corpus.name}")
print(f"{len(corpus.train):,} training characters -> {len(train_ids):,} tokens; validation {len(val_ids):,} tokens; vocabulary {tokenizer.get_vocab_size():,}")
print("first tokens:", token_strings(tokenizer, train_ids[:12]))


# %% [markdown] nbgrader={"grade": false, "grade_id": "batch_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 6.1 · Batches of random windows
#
# A language model learns to predict every next token of a window at once. Write
# `get_batch(data, block_size, batch_size, generator)`: draw `batch_size` random start positions $s$ with
# `torch.randint(..., generator=generator)` (so a seeded generator gives reproducible batches), and return
# `x[b] = data[s_b : s_b + block_size]` and the targets shifted by one, `y[b] = data[s_b + 1 : s_b + block_size + 1]`,
# both `int64` (`torch.long`) tensors of shape $(B, T)$. Every start that leaves room for the targets must be
# possible, i.e. $0 \le s \le$ `len(data) - block_size - 1`.
#
# Example: `data = [10, 11, 12, 13]`, `block_size = 2`: the start $s = 1$ gives `x = [11, 12]`, `y = [12, 13]`.

# %% nbgrader={"grade": false, "grade_id": "get_batch", "locked": false, "schema_version": 3, "solution": true, "task": false}
def get_batch(data, block_size, batch_size, generator):
    """Random windows of the 1-D token tensor data: (x (B, T), y (B, T)) with y the next tokens."""
    ### BEGIN SOLUTION
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)  # (B,)
    offsets = torch.arange(block_size)  # (T,)
    x = data[starts[:, None] + offsets]  # (B, 1) + (T,) -> (B, T)
    y = data[starts[:, None] + offsets + 1]
    return x.long(), y.long()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_get_batch", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check get_batch: shapes, dtype, targets shifted by one."""
_data = torch.arange(100)
_x, _y = get_batch(_data, 8, 4, training.make_generator(0))  # a torch.Generator seeded with 0
assert tuple(_x.shape) == (4, 8) and tuple(_y.shape) == (4, 8), f"expected x and y of shape (4, 8), got {tuple(_x.shape)}, {tuple(_y.shape)}"
assert _x.dtype == torch.long and _y.dtype == torch.long, f"expected int64 tensors, got {_x.dtype}, {_y.dtype}"
assert (_y == _x + 1).all(), f"y must be x shifted by one token; got x[0] = {_x[0].tolist()}, y[0] = {_y[0].tolist()}"
### BEGIN HIDDEN TESTS
import torch

# every valid start occurs: data of length T + 2 has the starts 0 and 1 (checked first: an answer
# that leaves out the last start cannot draw from data with a single window)
_g = training.make_generator(7)  # generators live in the kernel; this one is passed back on every call
_starts = set()
for _ in range(40):
    _starts.update(r[0] for r in get_batch(torch.arange(6), 4, 4, _g)[0].tolist())
assert _starts == {0, 1}, f"with 6 tokens and block_size 4 the starts 0 and 1 are both possible; got {sorted(_starts)}"
for _seed, (_N, _T, _B) in enumerate([(50, 7, 5), (9, 8, 3), (1000, 1, 6)]):
    _data = torch.randperm(_N).to(torch.int32)  # distinct values: each window can be located
    _x, _y = get_batch(_data, _T, _B, training.make_generator(_seed))
    assert type(_x) is torch.Tensor and _x.dtype == torch.long and _y.dtype == torch.long, "x and y must be int64 tensors"
    assert tuple(_x.shape) == (_B, _T) and tuple(_y.shape) == (_B, _T), f"expected shapes {(_B, _T)}"
    _where = {v: i for i, v in enumerate(_data.tolist())}
    for _row_x, _row_y in zip(_x.tolist(), _y.tolist()):
        _s = _where[_row_x[0]]
        assert _s + _T + 1 <= _N, "a window runs past the end of the data"
        assert _row_x == _data[_s:_s + _T].tolist(), "x must be a contiguous window of data"
        assert _row_y == _data[_s + 1:_s + _T + 1].tolist(), "y must be the window shifted by one token"
# reproducible with a seeded generator, whatever the kernel's global seed
training.manual_seed(1)
_a = get_batch(torch.arange(500), 5, 4, training.make_generator(42))
training.manual_seed(2)
_b = get_batch(torch.arange(500), 5, 4, training.make_generator(42))
assert _a[0].tolist() == _b[0].tolist(), "draw the starts with the given generator (torch.randint(..., generator=generator))"
_c = get_batch(torch.arange(500), 5, 4, training.make_generator(43))
assert _c[0].tolist() != _a[0].tolist(), "different generator seeds should give different batches"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "lr_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 6.2 · Warm-up and cosine decay
#
# Adam's running averages are poor estimates in the first steps, so the learning rate starts small and grows
# **linearly** for `warmup_steps` steps: `lr = max_lr * (step + 1) / warmup_steps` for `step < warmup_steps`.
# Then it follows half a cosine from `max_lr` down to `min_lr` at `max_steps`:
#
# $$\mathrm{lr} = \mathrm{min\_lr} + \tfrac12\left(1 + \cos\left(\pi \frac{\mathrm{step} - \mathrm{warmup}}{\mathrm{max\_steps} - \mathrm{warmup}}\right)\right)(\mathrm{max\_lr} - \mathrm{min\_lr}),$$
#
# and stays at `min_lr` from `max_steps` on. Write `lr_at(step, max_lr, warmup_steps, max_steps, min_lr)`
# returning a float. Example: `lr_at(0, 1.0, 10, 100, 0.1)` is `0.1`, `lr_at(10, 1.0, 10, 100, 0.1)` is `1.0`,
# `lr_at(55, 1.0, 10, 100, 0.1)` is `0.55`.

# %% nbgrader={"grade": false, "grade_id": "lr_at", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lr_at(step, max_lr, warmup_steps, max_steps, min_lr):
    """Learning rate at step: linear warm-up, cosine decay to min_lr at max_steps, then min_lr."""
    ### BEGIN SOLUTION
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step >= max_steps:
        return min_lr
    progress = (step - warmup_steps) / (max_steps - warmup_steps)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (max_lr - min_lr)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_lr_at", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the schedule at the worked examples."""
for _step, _want in [(0, 0.1), (9, 1.0), (10, 1.0), (55, 0.55), (100, 0.1), (150, 0.1)]:
    _got = lr_at(_step, 1.0, 10, 100, 0.1)
    assert abs(_got - _want) < 1e-9, f"lr_at({_step}, 1.0, 10, 100, 0.1): expected {_want}, got {_got}"
### BEGIN HIDDEN TESTS
import math


def _ref(step, max_lr, warmup, max_steps, min_lr):
    if step < warmup:
        return max_lr * (step + 1) / warmup
    if step >= max_steps:
        return min_lr
    return min_lr + 0.5 * (1 + math.cos(math.pi * (step - warmup) / (max_steps - warmup))) * (max_lr - min_lr)


for _args in [(6e-4, 100, 2000, 6e-5), (1e-3, 0, 50, 0.0), (3e-4, 7, 31, 1e-5), (2.0, 1, 3, 0.5)]:
    for _step in list(range(0, _args[2] + 5, max(1, _args[2] // 40))) + [_args[1] - 1, _args[1], _args[2] - 1, _args[2], _args[2] + 1000]:
        if _step < 0:
            continue
        _got = lr_at(_step, *_args)
        _want = _ref(_step, *_args)
        assert abs(float(_got) - _want) <= 1e-9 * (1 + abs(_want)), f"lr_at({_step}, {', '.join(map(str, _args))}) = {_got}, expected {_want}"
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "lr_plot", "locked": true, "schema_version": 3, "solution": false, "task": false}
_steps = list(range(preset.train.max_steps + 50))
_cfg_t = preset.train
plt.figure(figsize=(5.5, 3))
plt.plot(_steps, [lr_at(s, _cfg_t.max_lr, _cfg_t.warmup_steps, _cfg_t.max_steps, _cfg_t.min_lr) for s in _steps])
plt.xlabel("step")
plt.ylabel("learning rate")
plt.title("your schedule: warm-up, cosine, floor")
plt.show()


# %% [markdown] nbgrader={"grade": false, "grade_id": "optimizer_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 6.3 · AdamW with two parameter groups
#
# AdamW applies weight decay apart from the gradient: at every step each decayed parameter also shrinks by
# `lr * weight_decay * p`, a pull towards zero. That suits the weight matrices and the embeddings, which store
# what the model has learned. It does not suit the biases and the LayerNorm gains, which set offsets and
# scales: a gain pulled towards zero turns its feature down. nanoGPT (and minGPT before it) therefore give the
# optimiser two **parameter groups**: the tensors with two or more dimensions get `weight_decay`, the one-dimensional
# ones get `0.0`.
#
# Write `configure_optimizer(model, lr, weight_decay, betas)` that returns a `torch.optim.AdamW` built from the
# two groups `{"params": [...], "weight_decay": weight_decay}` and `{"params": [...], "weight_decay": 0.0}`,
# with `lr=lr` and `betas=betas`. Put in each trainable parameter (`requires_grad`) once, and nothing else.
#
# *The tied head.* `lm_head.weight` and `transformer.wte.weight` are one tensor. `model.parameters()` yields
# it once. A list collected from the modules, such as
# `[m.weight for m in model.modules() if isinstance(m, (nn.Linear, nn.Embedding))]`, holds it twice. In one
# group, torch only warns, and the tensor is then updated twice per step (measured: one AdamW step of
# learning rate 0.1 on a duplicated tensor moves it by 0.2, and its step count reads 2); in two groups,
# AdamW refuses with a `ValueError`.
#
# The test runs your function on a small model of the course package (`training.tiny_language_model`: token
# and position embeddings, a LayerNorm, a Linear with a bias and a head tied to the token embedding), so
# that it checks the optimiser alone.

# %% nbgrader={"grade": false, "grade_id": "configure_optimizer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def configure_optimizer(model, lr, weight_decay, betas):
    """AdamW: weight_decay on the parameters with two or more dimensions, 0.0 on the others; each tensor once."""
    ### BEGIN SOLUTION
    params = [p for p in model.parameters() if p.requires_grad]  # each tensor once, even the tied head
    decay = [p for p in params if p.dim() >= 2]  # weight matrices and embeddings
    no_decay = [p for p in params if p.dim() < 2]  # biases and LayerNorm gains
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_configure_optimizer", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check configure_optimizer on a small model with a tied head: AdamW, decay on matrices only, each tensor once."""
_model = training.tiny_language_model(vocab_size=30, n_embd=16, block_size=8, seed=0)
try:
    _opt = configure_optimizer(_model, 3e-4, 0.1, (0.9, 0.95))
except ValueError as _error:
    raise AssertionError(f"AdamW refused the groups ({_error}). Is a tensor in both groups? The head is tied to the "
                         "token embedding, one tensor: model.parameters() yields it once") from None
_info = training.optimizer_groups(_opt, _model)  # plain data: the class, and per group its settings and tensor names
assert _info["class"] == "AdamW", f"expected a torch.optim.AdamW, got a {_info['class']}"
_names = [_n for _g in _info["groups"] for _n in _g["names"]]
print("groups:", [(_g["weight_decay"], _g["names"]) for _g in _info["groups"]])
assert "?" not in _names, "a group holds a tensor that is not one of the model's parameters (model.state_dict() gives detached tensors: use model.parameters())"
_twice = sorted({_n for _n in _names if _names.count(_n) > 1})
assert not _twice, (f"{_twice} is in the optimiser more than once: the head is tied to the token embedding, so the two are one "
                    "tensor, and AdamW would update it twice per step. model.parameters() yields each tensor once")
_missing = sorted(set(_info["shapes"]) - set(_names))
assert not _missing, f"these parameters are not optimised: {_missing}"
for _g in _info["groups"]:
    for _n in _g["names"]:
        _dims = len(_info["shapes"][_n])
        if _dims < 2:
            assert _g["weight_decay"] == 0.0, f"{_n} (a bias or LayerNorm gain, {_dims}-D) gets weight decay {_g['weight_decay']}: decay only tensors with dim() >= 2"
        else:
            assert _g["weight_decay"] == 0.1, f"{_n} ({_dims}-D) should get the weight_decay argument, 0.1; it gets {_g['weight_decay']}"
    assert _g["lr"] == 3e-4 and _g["betas"] == [0.9, 0.95], f"pass lr and betas on to AdamW (a group has lr {_g['lr']}, betas {_g['betas']})"
### BEGIN HIDDEN TESTS
for _seed, (_V, _C, _T, _bias, _wd, _lr, _betas) in enumerate([(50, 8, 6, False, 0.05, 1e-3, (0.8, 0.99)),
                                                             (20, 24, 4, True, 0.2, 6e-4, (0.9, 0.999))]):
    _m = training.tiny_language_model(_V, _C, _T, _seed, bias=_bias)
    _frozen = ["positions.weight", "hidden.bias"] if _bias else ["positions.weight", "norm.weight"]
    training.freeze(_m, _frozen)
    try:
        _info = training.optimizer_groups(configure_optimizer(_m, _lr, _wd, _betas), _m)
    except ValueError as _error:
        raise AssertionError(f"AdamW refused the groups ({_error})") from None
    assert _info["class"] == "AdamW", "configure_optimizer must return a torch.optim.AdamW"
    _names = [_n for _g in _info["groups"] for _n in _g["names"]]
    assert not set(_frozen) & set(_names), "frozen parameters (requires_grad=False) must be left out of the optimiser"
    assert sorted(_names) == sorted(_info["shapes"]), "every trainable parameter must be in the optimiser exactly once"
    for _g in _info["groups"]:
        for _n in _g["names"]:
            _want = _wd if len(_info["shapes"][_n]) >= 2 else 0.0
            assert _close(_g["weight_decay"], _want), f"{_n} has the wrong weight decay (matrices: weight_decay, the others: 0.0)"
        assert _close(_g["lr"], _lr) and _close(_g["betas"], list(_betas)), "pass lr and betas on to AdamW"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "train_step_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 6.4 · One training step: autocast, loss scaling, clipping
#
# Write `train_step(model, optimizer, scaler, x, y, grad_clip, autocast_dtype)`: one update on the batch
# `(x, y)`, returning two Python floats, the batch's loss and the global gradient norm *before* clipping. In
# this order:
#
# 1. `model.train()`, then the forward pass `_, loss = model(x, y)` under
#    `torch.autocast(device_type=x.device.type, dtype=autocast_dtype)` when `autocast_dtype` is not `None`
#    (in float32 when it is `None`; `enabled=autocast_dtype is not None` does both in one line). Under
#    autocast the matrix products run in bf16 or fp16, while softmax and cross-entropy stay in float32. The
#    backward pass needs no autocast: it uses the dtypes of the forward pass.
# 2. `optimizer.zero_grad()`: `backward` *adds* to each `.grad`, so without it every step would use the sum
#    of all the gradients so far.
# 3. `scaler.scale(loss).backward()`. In fp16, numbers below about $3 \times 10^{-8}$ (half of fp16's smallest
#    subnormal, $2^{-24} \approx 6 \times 10^{-8}$) round to 0, and some gradients of a deep network are
#    that small. The scaler multiplies the loss by a factor $S$ ($2^{16} = 65\,536$ at the start), so every
#    gradient is $S$ times larger too. $S$ halves after a step whose gradients overflowed and doubles after
#    2000 steps without overflow.
# 4. `scaler.unscale_(optimizer)` divides the gradients by $S$, in place. It must come **before** clipping:
#    the scaled gradients' norm is $S$ times the true one, so clipping them would cut nearly every update to
#    `grad_clip / S`.
# 5. `torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)`: one norm over *all* the gradients,
#    $\lVert g \rVert = \sqrt{\sum_p \lVert g_p \rVert^2}$; when it exceeds `grad_clip`, every gradient is
#    multiplied by `grad_clip / ‖g‖`, so the update keeps its direction. It returns $\lVert g \rVert$ before
#    clipping. Clipping each parameter on its own would change the direction.
# 6. `scaler.step(optimizer)`, which calls `optimizer.step()` unless a gradient is inf or NaN (then the step
#    is skipped), and `scaler.update()`, which sets $S$ for the next step (without it, the next `unscale_`
#    raises an error).
#
# On a CPU, and with bf16 (which has float32's range), `train` passes a disabled scaler: `scale` returns the
# loss unchanged and `step` calls `optimizer.step()`, so one function serves every device. The test uses a
# real `GradScaler` that does scale on the CPU, by 1024, and plain SGD with learning rate 1, whose update is
# minus the clipped gradient: every slip in the order shows in the weights.

# %% nbgrader={"grade": false, "grade_id": "train_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_step(model, optimizer, scaler, x, y, grad_clip, autocast_dtype):
    """One update on (x, y); returns (loss, global gradient norm before clipping) as floats."""
    ### BEGIN SOLUTION
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
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_train_step", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check train_step with a scaler that scales by 1024 and plain SGD (lr 1): the loss, the norm, one clipped update."""
_model = training.tiny_language_model(vocab_size=30, n_embd=16, block_size=8, seed=0)
_gen = torch.Generator().manual_seed(0)
_x, _y = torch.randint(0, 30, (4, 8), generator=_gen), torch.randint(0, 30, (4, 8), generator=_gen)
_before = {_k: _v.clone() for _k, _v in _model.state_dict().items()}  # a copy: the step changes the weights in place
_ref = training.loss_and_gradients(_model, _x, _y)  # the float32 loss and gradients; the model is left as it was
_grads = _ref["gradients"]
_true_norm = math.sqrt(sum(float((_g.double() ** 2).sum()) for _g in _grads.values()))
_clip = 0.5 * _true_norm  # so that clipping has to act
_loss, _norm = train_step(_model, training.make_sgd(_model, 1.0), training.make_test_scaler(1024.0), _x, _y, _clip, None)
print(f"loss {_loss}, gradient norm {_norm} (true: {_ref['loss']:.6f}, {_true_norm:.6f})")
assert type(_loss) is float and type(_norm) is float, f"return two Python floats (loss.item(), norm.item()), got {type(_loss).__name__}, {type(_norm).__name__}"
assert abs(_loss - 1024 * _ref["loss"]) > 1e-2 * _ref["loss"], "the loss returned is the scaled one (1024 times too large): return loss.item()"
assert abs(_loss - _ref["loss"]) < 1e-4, f"expected the batch's loss {_ref['loss']:.6f}, got {_loss:.6f}"
_after = _model.state_dict()
_update = {_n: _after[_n] - _before[_n] for _n in _grads}  # SGD with lr 1: minus the clipped gradient
_size = math.sqrt(sum(float((_u.double() ** 2).sum()) for _u in _update.values()))
assert _size > 0, "the parameters did not move: call scaler.step(optimizer), and optimizer.zero_grad() before backward, not after"
_cos = -sum(float((_update[_n].double() * _grads[_n].double()).sum()) for _n in _grads) / (_size * _true_norm)
assert _cos > 0.9999, ("the update does not point along the gradient: clip all the gradients together (one global norm, "
                       "clip_grad_norm_(model.parameters(), grad_clip)), not each parameter on its own")
assert abs(_size * 1024 - _clip) > 0.01 * _clip, ("the update is 1024 times too small: the gradients were clipped while still "
                                                  "scaled. Call scaler.unscale_(optimizer) BEFORE clip_grad_norm_")
assert abs(_size - _true_norm) > 0.01 * _true_norm, "the update was not clipped: clip the global gradient norm to grad_clip with clip_grad_norm_"
assert abs(_size - _clip) < 1e-3 * _clip, f"the update's norm is {_size:.5g}, expected grad_clip = {_clip:.5g}: unscale, then clip, then scaler.step"
assert abs(_norm - 1024 * _true_norm) > 0.01 * _true_norm, "the norm returned is that of the scaled gradients: call scaler.unscale_(optimizer) before clipping"
assert abs(_norm - _true_norm) < 1e-4 * _true_norm, "return the global gradient norm before clipping (what clip_grad_norm_ returns)"
# two calls in a row with lr 0 (the weights stay) and no clipping: each call must see its own batch's gradients only
_ref = training.loss_and_gradients(_model, _x, _y)
_true_norm = math.sqrt(sum(float((_g.double() ** 2).sum()) for _g in _ref["gradients"].values()))
_opt, _scaler = training.make_sgd(_model, 0.0), training.make_test_scaler(None)  # a disabled scaler, as on a CPU
for _call in (1, 2):
    _, _norm = train_step(_model, _opt, _scaler, _x, _y, 1e9, None)
    assert abs(_norm - 2 * _true_norm) > 1e-2 * _true_norm, "the gradients add up over calls: call optimizer.zero_grad() before backward"
    assert abs(_norm - _true_norm) < 1e-4 * _true_norm, f"call {_call}: gradient norm {_norm:.6f}, expected {_true_norm:.6f}"
_opt, _scaler = training.make_sgd(_model, 0.0), training.make_test_scaler(1024.0)
try:
    for _call in (1, 2):
        train_step(_model, _opt, _scaler, _x, _y, 1e9, None)
except RuntimeError as _error:
    raise AssertionError(f"a second step with the same scaler failed ({_error}): call scaler.update() after scaler.step(optimizer)") from None
### BEGIN HIDDEN TESTS
for _seed, (_V, _C, _T, _B, _bias, _frac) in enumerate([(40, 12, 6, 3, True, 0.3), (17, 8, 5, 6, False, 2.0)]):
    _m = training.tiny_language_model(_V, _C, _T, 10 + _seed, bias=_bias)
    _gen = torch.Generator().manual_seed(_seed)
    _x, _y = torch.randint(0, _V, (_B, _T), generator=_gen), torch.randint(0, _V, (_B, _T), generator=_gen)
    # autocast: a bf16 forward pass gives a slightly different loss; None gives float32 exactly
    _opt, _scaler = training.make_sgd(_m, 0.0), training.make_test_scaler(None)
    _ref = training.loss_and_gradients(_m, _x, _y)
    _true_norm = math.sqrt(sum(float((_g.double() ** 2).sum()) for _g in _ref["gradients"].values()))
    _plain, _norm = train_step(_m, _opt, _scaler, _x, _y, 1e9, None)
    assert abs(_plain - _ref["loss"]) < 1e-5, "with autocast_dtype None the forward pass must run in float32 (no autocast)"
    assert abs(_norm - _true_norm) < 1e-4 * _true_norm, "train_step must return the global gradient norm before clipping"
    _bf16, _norm = train_step(_m, _opt, _scaler, _x, _y, 1e9, training.torch_dtype("bfloat16"))
    assert abs(_norm - _true_norm) < 0.1 * _true_norm, "the gradients add up over calls: call optimizer.zero_grad() before backward"
    assert _bf16 != _ref["loss"] and abs(_bf16 - _ref["loss"]) < 0.05 * (1 + _ref["loss"]), \
        "with an autocast_dtype the forward pass must run under torch.autocast(device_type=x.device.type, dtype=autocast_dtype)"
    _before = {_k: _v.clone() for _k, _v in _m.state_dict().items()}
    _ref = training.loss_and_gradients(_m, _x, _y)
    _true_norm = math.sqrt(sum(float((_g.double() ** 2).sum()) for _g in _ref["gradients"].values()))
    _clip = _frac * _true_norm  # 2.0: no clipping; the update is then the whole gradient
    _opt, _scaler = training.make_sgd(_m, 0.5), training.make_test_scaler(256.0)
    _loss, _norm = train_step(_m, _opt, _scaler, _x, _y, _clip, None)
    assert _close(_loss, _ref["loss"]), "train_step must return the batch's (unscaled) loss"
    assert abs(_norm - _true_norm) < 1e-4 * _true_norm, "train_step must return the global norm of the unscaled gradients, before clipping"
    _coef = min(1.0, _clip / (_true_norm + 1e-6))
    _after = _m.state_dict()
    for _n, _g in _ref["gradients"].items():
        assert _close(_after[_n] - _before[_n], -0.5 * _coef * _g), f"{_n}: the update differs from lr times the globally clipped, unscaled gradient"
    try:
        train_step(_m, _opt, _scaler, _x, _y, _clip, None)
    except RuntimeError:
        raise AssertionError("a second step with the same scaler failed: call scaler.update() after scaler.step(optimizer)") from None
# gradients that overflowed: the scaler must skip the update (scaler.step, not optimizer.step)
_m = training.tiny_language_model(20, 8, 4, 7)
_gen = torch.Generator().manual_seed(7)
_x, _y = torch.randint(0, 20, (2, 4), generator=_gen), torch.randint(0, 20, (2, 4), generator=_gen)
_before = {_k: _v.clone() for _k, _v in _m.state_dict().items()}
# an infinite loss scale makes the gradients inf or NaN, as an fp16 overflow does: the scaler must skip the step
train_step(_m, training.make_sgd(_m, 1.0), training.make_test_scaler(float("inf")), _x, _y, 1.0, None)
_after = _m.state_dict()
assert all(_close(_after[_k], _before[_k]) for _k in _before), "with inf gradients (an overflowing scale) the step must be skipped: call scaler.step(optimizer), not optimizer.step()"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "train_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 7 · Training
#
# The training loop lives in the course package (`tfscourse.gpt_training.train`, printed below) and uses **your**
# `GPT`, `get_batch`, `lr_at`, `configure_optimizer` and `train_step`. It builds the optimiser with
# `configure_optimizer(model, max_lr, 0.1, (0.9, 0.95))`; then each step it
# 1. sets the learning rate of every parameter group from `lr_at`;
# 2. draws a batch of random windows with `get_batch` and moves it to the device;
# 3. calls `train_step` with `grad_clip=1.0` and the device's precision: **bf16** where the GPU supports it
#    (A100, H100, RTX 30xx and newer) with a disabled scaler, **fp16** on older GPUs (the T4 on Colab) with a
#    scaler that scales, float32 with a disabled scaler on CPUs and Apple's MPS.
#
# Every `eval_interval` steps it estimates the training and validation loss on fixed batches, prints a line
# to stdout and redraws the progress bar and the live loss plot. The device was chosen automatically
# (CUDA, then Apple MPS, then CPU).
#
# **Checkpoints.** At every evaluation and at the end, `train` saves the model, the optimiser's state
# (AdamW's running averages), the scaler, the step, the random generators and the losses so far to
# `checkpoint_path`, first to a temporary file that then replaces the old one, so that a run cut off while
# writing leaves the previous checkpoint whole. Run the cell again after an interruption and it continues
# where the last checkpoint left off, with the same batches as an uninterrupted run; once the run is
# finished, running the cell again loads the trained model instead of training it again. A checkpoint of
# another run (other settings, model shape, data, or other code in your classes and functions) is refused
# with an error that names what differs: delete the file (`CHECKPOINT.unlink()`) to start afresh.
# The file goes to `~/.cache/tfscourse/checkpoints/`, or under `$TFSCOURSE_CACHE` when that is set. On Colab
# the runtime's disk is lost with the runtime, so before this cell run, in a new cell,
# `from google.colab import drive; drive.mount("/content/drive")` and
# `os.environ["TFSCOURSE_CACHE"] = "/content/drive/MyDrive/tfscourse"` to keep the checkpoints on Google
# Drive. While the notebook is graded no checkpoint is written.

# %% nbgrader={"grade": false, "grade_id": "train", "locked": true, "schema_version": 3, "solution": false, "task": false}
print(inspect.getsource(training.train))  # the loop you are about to run
torch.manual_seed(preset.train.seed)
config = GPTConfig(**{**asdict(preset.model), "vocab_size": tokenizer.get_vocab_size()})
model = GPT(config).to(device)
train_cfg = training.TrainConfig(**{**asdict(preset.train), "max_steps": train_steps,
                                     "eval_interval": max(6, train_steps // 8)})
if tfscourse.grading_mode():  # seconds, not minutes: no graded check depends on this run
    train_cfg.batch_size, train_cfg.eval_iters, train_cfg.warmup_steps = 8, 1, 2
print(f"device {device}, mixed precision: {training.autocast_dtype(device) or 'off (float32)'}")
print(f"model: {sum(p.numel() for p in model.parameters()):,} parameters, {config}")
CHECKPOINT = None if tfscourse.grading_mode() else training.default_checkpoint_dir() / f"gpt-{preset.name}.pt"
print(f"checkpoint: {CHECKPOINT or 'none while grading'}")
view = LiveLossView(train_cfg.max_steps, title=f"GPT on {corpus.name}")
history = training.train(model, train_ids, val_ids, train_cfg, device, get_batch_fn=get_batch, lr_fn=lr_at,
                          optimizer_fn=configure_optimizer, step_fn=train_step, callback=view,
                          checkpoint_path=CHECKPOINT)
print(f"done: {history.tokens_per_s:,.0f} tokens/s; final validation loss {history.val_loss[-1]:.3f} "
      f"(perplexity {math.exp(history.val_loss[-1]):.1f}); ln(V) = {math.log(config.vocab_size):.3f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "baseline_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 7.1 · Did the context help? A bigram baseline
#
# A loss means little on its own. The cheapest real competitor is a **bigram** model: count how often token
# $b$ follows token $a$ in the training tokens and predict $P(b \mid a)$ from the counts, smoothed so that
# unseen pairs keep some probability (interpolated with the unigram frequencies, either Jelinek-Mercer or
# Kneser-Ney; the cell tries both with several settings and keeps the best on the validation tokens, which
# flatters the baseline). A bigram sees exactly one token of context; your GPT sees `block_size`. Only
# the part of the loss below the bigram's is due to attention looking further back.
#
# Losses per token depend on the tokenizer, so the cell also prints **bits per character**:
# $\text{loss} \cdot \frac{\#\text{tokens}}{\#\text{characters}} / \ln 2$ on the validation text. On a CPU
# this notebook reads the same text as notebook 05's character LSTM, split the same way, so the two can be
# compared directly: 05 prints its held-out loss in nats per character; divide it by $\ln 2 \approx 0.693$.
# For reference, 05's LSTM (128 units, 2,000 steps of 32 windows of 64 characters) was measured at 1.380
# nats, that is 1.99 bits per character, in 53 s on one thread (`python benchmarks/bench_lstm.py --steps 2000`).
# The model's figure is the mean over the evaluation batches of `train` (random windows, early positions
# with little context included); the bigram's is over every validation token.

# %% nbgrader={"grade": false, "grade_id": "baseline", "locked": true, "schema_version": 3, "solution": false, "task": false}
baseline = bigram_baseline(train_ids, val_ids, tokenizer.get_vocab_size())
chars_per_token = len(corpus.val) / len(val_ids)
print(f"validation text: {len(corpus.val):,} characters, {len(val_ids):,} tokens ({chars_per_token:.2f} characters per token)")
print(f"{'model':<38} {'nats/token':>10} {'bits/char':>10}")
for label, loss in [(f"uniform over {tokenizer.get_vocab_size()} tokens", math.log(tokenizer.get_vocab_size())),
                    (f"bigram ({baseline['method']})", baseline["loss"]),
                    (f"your GPT after {train_cfg.max_steps} steps", history.val_loss[-1])]:
    print(f"{label:<38} {loss:>10.3f} {bits_per_character(loss, len(val_ids), len(corpus.val)):>10.3f}")
print(f"GPT minus bigram: {history.val_loss[-1] - baseline['loss']:+.3f} nats per token")


# %% [markdown] nbgrader={"grade": false, "grade_id": "sdpa_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 8 · Your attention versus `F.scaled_dot_product_attention`
#
# PyTorch's `F.scaled_dot_product_attention(q, k, v, is_causal=True)` computes the same thing as your
# `forward`. The cell takes the first attention layer of the trained model, computes its output with your
# code and with PyTorch's function on the same weights, prints the largest difference, and times both for
# growing sequence lengths (best of three runs each; on a busy machine single points can be off, so read
# the trend and rerun the cell if a point looks odd).

# %% nbgrader={"grade": false, "grade_id": "sdpa_compare", "locked": true, "schema_version": 3, "solution": false, "task": false}
def attention_with_sdpa(layer, x):
    """The same layer (same c_attn and c_proj weights) with F.scaled_dot_product_attention."""
    B, T, C = x.shape
    q, k, v = layer.c_attn(x).split(C, dim=2)
    q, k, v = (t.view(B, T, layer.n_head, C // layer.n_head).transpose(1, 2) for t in (q, k, v))  # (B, H, T, hs)
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, hs)
    return layer.c_proj(y.transpose(1, 2).reshape(B, T, C))


layer = model.transformer.h[0].attn.eval()
with torch.no_grad():
    x_cmp = torch.randn(4, config.block_size, config.n_embd, device=device)
    diff = (layer(x_cmp) - attention_with_sdpa(layer, x_cmp)).abs().max().item()
print(f"largest difference between your attention and F.scaled_dot_product_attention: {diff:.2e}")

timing_cfg = GPTConfig(block_size=2048, vocab_size=10, n_layer=1, n_head=4, n_embd=128)
timing_layer = CausalSelfAttention(timing_cfg).to(device).eval()
lengths = [64, 256] if tfscourse.grading_mode() else [64, 128, 256, 512, 1024, 2048]
ms_yours, ms_sdpa = [], []
for T in lengths:
    x_t = torch.randn(4, T, timing_cfg.n_embd, device=device)
    for fn, out in ((timing_layer, ms_yours), (lambda x: attention_with_sdpa(timing_layer, x), ms_sdpa)):
        best = float("inf")
        with torch.no_grad():
            fn(x_t)  # warm-up
            for _ in range(3):
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                fn(x_t)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                best = min(best, time.perf_counter() - start)
        out.append(1000 * best)
    print(f"T = {T:5d}: yours {ms_yours[-1]:8.2f} ms, F.scaled_dot_product_attention {ms_sdpa[-1]:8.2f} ms")
plt.figure(figsize=(5.5, 3.5))
plt.loglog(lengths, ms_yours, "o-", label="your attention")
plt.loglog(lengths, ms_sdpa, "s-", label="F.scaled_dot_product_attention")
plt.xlabel("sequence length T")
plt.ylabel("milliseconds (batch 4, 4 heads)")
plt.title(f"forward time on {device.type}")
plt.legend()
plt.show()

# %% [markdown] nbgrader={"grade": true, "grade_id": "sdpa_discussion", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** Did the two agree, and which was faster, by how much, at the longest length? Explain the
# difference in two to four sentences (think about the $(B, H, T, T)$ score tensor and memory traffic).
#
# ### BEGIN SOLUTION
# They agree to float32 rounding (differences around 1e-7 on the CPU). The explicit version builds the whole
# $(B, H, T, T)$ score tensor in memory, then reads and writes it again for the mask, the softmax and the
# product with $v$: several full passes over $O(T^2)$ memory. The fused kernels behind
# `F.scaled_dot_product_attention` (FlashAttention and memory-efficient attention on GPUs, a fused kernel
# on CPUs) work on tiles, keep them in fast on-chip memory, compute the softmax online and never store the
# $T \times T$ matrix, and they skip the masked upper triangle. The gap therefore grows with $T$; it is
# largest on GPUs, where memory bandwidth, not arithmetic, limits the explicit version.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "generate_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 9 · Sampling text
#
# **Temperature** divides the logits: below 1 it sharpens the distribution (safer, more repetitive text),
# above 1 it flattens it (more varied, more mistakes). **Top-k** throws away everything but the $k$ most
# likely tokens before sampling, which removes the long tail of unlikely tokens that makes samples derail.
# The cell samples from your trained model with a few settings (a model trained for a few minutes on a CPU
# writes text that is locally plausible and globally meaningless; that is expected).

# %% nbgrader={"grade": false, "grade_id": "generate_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
model.eval()
# a prompt in the style of the text that was loaded: the language reference, Python source, or stories
prompt_text = ("The value of " if "language reference" in corpus.name
               else "def " if "standard library" in corpus.name else "Once upon a time")
prompt = encode(tokenizer, prompt_text)[None, :].to(device)
torch.manual_seed(0)
for temperature, top_k in [(0.7, 20), (1.0, 50), (1.5, None)]:
    sample = model.generate(prompt, 10 if tfscourse.grading_mode() else 60, temperature=temperature, top_k=top_k)
    print(f"--- temperature {temperature}, top_k {top_k}:")
    print(decode(tokenizer, sample[0].tolist()))

# %% [markdown] nbgrader={"grade": false, "grade_id": "attention_map_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 10 · Looking inside: attention maps of the trained model
#
# Type a sentence and press Enter. The explorer shows the attention weights of every head of the chosen layer
# side by side (*head* shows one alone, larger, with its values): row $t$ is what token $t$ looked at.
# Hover over a token to light up its row and column in every head; click it to pin it. Everything above
# the diagonal is hatched: your causal mask never let those pairs into the softmax. Look for heads that
# attend to the previous token, heads that stay on the first token (a "resting place" when nothing else is
# useful), and heads that look back at an earlier occurrence of the same word.

# %% nbgrader={"grade": false, "grade_id": "attention_map", "locked": true, "schema_version": 3, "solution": false, "task": false}
import ipywidgets as widgets


def attention_explorer_maps(text):
    """{"layer i": AttentionMap} with all heads of every layer of the trained model, for the text."""
    ids = encode(tokenizer, text)[: config.block_size]
    if len(ids) == 0:
        raise ValueError("the tokenizer found no tokens: type some words")
    labels = token_strings(tokenizer, ids)
    maps = training.attention_maps(model, ids.to(device))  # one (H, T, T) tensor per layer
    return {f"layer {i}": AttentionMap(w.numpy(), labels, mask="causal") for i, w in enumerate(maps)}


_example = ("The object is returned; the object is then released" if "language reference" in corpus.name
            else "def add(self, value): self.total = self.total + value" if "standard library" in corpus.name
            else "Tom had a red ball. Tom gave the ball to his sister")
sentence_box = widgets.Text(value=_example, description="sentence",
                            continuous_update=False, layout=widgets.Layout(width="70%"))
attention_explorer = show_attention(attention_explorer_maps, title="GPT attention", control=sentence_box)

# %% [markdown] nbgrader={"grade": true, "grade_id": "training_discussion", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** Report your final training and validation loss and where you trained (device, corpus,
# steps). Compare them with $\ln V$, with the bigram baseline of section 7.1 and with each other: what do the
# numbers say the model has learned beyond one token of context, and is it overfitting? Name one change that
# would lower the validation loss most cheaply.
#
# ### BEGIN SOLUTION
# (Example from the CPU preset: the language reference, 256 byte tokens, 600 steps, seed 1337; measured with
# `benchmarks/bench_gpt.py`.) The loss fell from $\ln 256 \approx 5.545$ at step 0 to 2.174 (train) and
# 2.027 (validation), 2.930 bits per character. The best count-based bigram on the same bytes reaches 2.313
# (3.342 bits per character), so the GPT is 0.286 nats per token below it: that part comes from looking more
# than one byte back (with seed 1 the figures are 1.985 and 0.328 below). Training and validation loss are
# close and the validation loss is the lower one, as it was from the first evaluation after step 0 (2.566
# against 2.756 at step 75, before the model could have learned anything by heart): the last tenth of the
# reference is easier text. The model read about 1.2 M tokens, under three passes over the 420 k training
# bytes; nothing says it overfits. It is still far from good: the samples are word-shaped strings with
# line breaks and indentation; a few frequent words come out whole ("the", "value", "there" at temperature
# 0.7 in the notebook's run, which reproduced the figures above), most strings are not words. And per
# character it loses to a bigram over a 512-token BPE of the same text (2.290 bits per character, measured
# while choosing the preset): a loss per token only compares models on the same tokens. The loss was still falling when the schedule ended, so the cheapest improvement is more
# steps (with more text: 600 steps already read the training text almost three times), then a wider model:
# the same run with 128-wide layers (4 × 128, 0.84 M parameters) was measured at 1.669 and 1.678 nats per
# byte (seeds 1337 and 1; 2.41 and 2.43 bits per character) in about 104 s at low load.
# Notebook 05's character LSTM still beats both on the same characters: 1.99 bits per character after
# 53 s on one thread. At this size and on a CPU the LSTM gets more out of a minute: it read 4.1 M characters
# in the time this GPT read 1.2 M tokens. What a Transformer offers instead (all positions of a window
# trained in parallel, direct access to far-back tokens) is what GPUs, larger models and longer contexts
# exploit; this one CPU minute does not show it.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "further_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 11 · Going further: GPT-2's own weights and a key/value cache
#
# Your `GPT` has GPT-2's layout and GPT-2's parameter names, so it can run OpenAI's GPT-2 itself. This
# section loads weights saved by Hugging Face `transformers` into your model and checks that both give the
# same logits; then it makes greedy generation faster with a **key/value cache**.
#
# The two functions you write and their tests need PyTorch only. The demonstrations that compare with
# `transformers` need that library: Colab has it; elsewhere install it with `pip install transformers` (in
# the notebook: `%pip install transformers`, then restart the kernel). Without it those cells print a note
# and skip. The real GPT-2 small weights (124 M parameters, a download of about half a gigabyte) are only
# fetched on a GPU and when the Hugging Face hub answers; nothing else in this section uses the network.

# %% nbgrader={"grade": false, "grade_id": "further_setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tfscourse import gpt_extras

HAVE_TRANSFORMERS = importlib.util.find_spec("transformers") is not None  # checked without importing it (slow)
print("transformers is installed" if HAVE_TRANSFORMERS else
      "transformers is not installed: the comparison cells will skip (pip install transformers, then restart)")


# %% [markdown] nbgrader={"grade": false, "grade_id": "load_gpt2_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 11.1 · Loading a Hugging Face GPT-2 checkpoint
#
# `GPT2LMHeadModel.state_dict()` maps names to tensors, and its names are yours: `transformer.wte.weight`,
# `transformer.wpe.weight`, `transformer.h.0.ln_1.weight`, `transformer.h.0.attn.c_attn.weight`, ...,
# `transformer.ln_f.bias`, `lm_head.weight`. Three things need care:
#
# 1. GPT-2's linear layers are not `nn.Linear` but Hugging Face's `Conv1D` (a name inherited from OpenAI's
#    TensorFlow code; it is a plain matrix product). `Conv1D` computes $x W + b$ and stores $W$ as
#    **(in, out)**; `nn.Linear` computes $x W^\top + b$ and stores $W$ as **(out, in)**. The four matrices
#    `attn.c_attn.weight`, `attn.c_proj.weight`, `mlp.c_fc.weight` and `mlp.c_proj.weight` must therefore
#    be **transposed**. The attention's `c_proj` is square ($C \times C$): forgetting its transpose raises no
#    shape error, it silently gives wrong logits. Biases, LayerNorm parameters and the embeddings are copied
#    as they are.
# 2. State dicts written by older versions of `transformers` also hold two buffers per layer,
#    `transformer.h.{i}.attn.bias` (the causal mask) and `transformer.h.{i}.attn.masked_bias` (a fill
#    value). They are not weights: skip them (your model has its own `mask`). Test the end of the name,
#    `name.endswith(".attn.bias")`: `"attn.bias" in name` is also true for `attn.c_attn.bias`, a real weight.
#    (Version 5.24, the one this section was tested with, no longer puts them in `state_dict()`.)
# 3. `lm_head.weight` is in the dict, but GPT-2 ties it to `transformer.wte.weight` as you do. Copy values
#    *into* your model's existing tensors rather than assigning new `nn.Parameter`s, and your head stays
#    tied. A dict without `lm_head.weight` must work too.
#
# Write `load_gpt2_weights(model, hf_state_dict)`: copy every weight of `hf_state_dict` into `model` in
# place and return `model`. `model.state_dict()` gives tensors that share memory with the parameters, so
# `own[name].copy_(value)` under `torch.no_grad()` fills the model.

# %% nbgrader={"grade": false, "grade_id": "load_gpt2_weights", "locked": false, "schema_version": 3, "solution": true, "task": false}
@torch.no_grad()
def load_gpt2_weights(model, hf_state_dict):
    """Copy a Hugging Face GPT2LMHeadModel state dict (name -> tensor) into model in place; returns model."""
    ### BEGIN SOLUTION
    conv1d = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
    own = model.state_dict()  # shares memory with the parameters
    for name, value in hf_state_dict.items():
        if name.endswith((".attn.bias", ".attn.masked_bias")):  # causal-mask buffers, not weights
            continue
        if name.endswith(conv1d):
            value = value.t()  # Conv1D stores (in, out); nn.Linear (out, in)
        own[name].copy_(value)  # KeyError for a name the model lacks; RuntimeError for a wrong shape
    return model
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_load_gpt2_weights", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check load_gpt2_weights on a GPT-2-style state dict built here from random tensors (no transformers needed)."""
_cfg = GPTConfig(block_size=8, vocab_size=20, n_layer=2, n_head=2, n_embd=8)
_conv1d = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
_gen = torch.Generator().manual_seed(0)
_want = {k: torch.randn(v.shape, generator=_gen) * 0.3 for k, v in GPT(_cfg).state_dict().items() if not k.endswith(".mask")}
_want["lm_head.weight"] = _want["transformer.wte.weight"]
_hf = {k: (v.t().contiguous() if k.endswith(_conv1d) else v) for k, v in _want.items()}  # Conv1D layout: (in, out)
for _i in range(2):  # the buffers older transformers versions put in the dict
    _hf[f"transformer.h.{_i}.attn.bias"] = torch.ones(1, 1, 8, 8).tril()
    _hf[f"transformer.h.{_i}.attn.masked_bias"] = torch.tensor(-1e4)
_model = GPT(_cfg).eval()
try:
    load_gpt2_weights(_model, _hf)
except KeyError as _error:
    raise AssertionError(f"load_gpt2_weights raised KeyError {_error}: skip the buffers attn.bias and attn.masked_bias, "
                         "and copy only the names the dict holds") from None
except (RuntimeError, ValueError) as _error:
    raise AssertionError(f"load_gpt2_weights failed ({str(_error)[:150]}): Conv1D stores c_attn, c_proj and c_fc "
                         "weights as (in, out), nn.Linear as (out, in): transpose them") from None
_state = _model.state_dict()
for _name, _value in _want.items():
    _hint = " (a Conv1D matrix: transpose it with .t(), not .view/.reshape)" if _name.endswith(_conv1d) else ""
    assert tuple(_state[_name].shape) == tuple(_value.shape) and torch.allclose(_state[_name], _value), \
        f"{_name} does not hold the checkpoint's values after loading{_hint}"
_ref = GPT(_cfg).eval()
_ref.load_state_dict({**_ref.state_dict(), **_want})
_idx = torch.randint(0, 20, (2, 8), generator=_gen)
_diff = (_model(_idx)[0] - _ref(_idx)[0]).abs().max().item()
print(f"max |logit difference| after loading: {_diff:.1e}")
assert _diff < 1e-5, f"the loaded model's logits differ by {_diff:.3g} from the checkpoint's"
_model.load_state_dict({**_state, "transformer.wte.weight": torch.zeros(20, 8), "lm_head.weight": torch.ones(20, 8)})
_after = _model.state_dict()
assert torch.equal(_after["lm_head.weight"], _after["transformer.wte.weight"]), \
    "after loading, lm_head is no longer tied to transformer.wte: copy into the existing tensors instead of assigning new ones"
### BEGIN HIDDEN TESTS
import torch

_conv1d = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
for _seed, (_bs, _V, _L, _H, _C, _head, _buffers) in enumerate([(10, 31, 3, 3, 12, False, False), (6, 9, 1, 1, 4, True, True)]):
    # a config object made in the kernel (the course package's ModelSize has GPTConfig's seven fields)
    _cfg = training.ModelSize(block_size=_bs, vocab_size=_V, n_layer=_L, n_head=_H, n_embd=_C, dropout=0.0, bias=True)
    _gen = torch.Generator().manual_seed(50 + _seed)
    _model = GPT(_cfg).eval()
    _before = _model.state_dict()
    _want = {k: torch.randn(v.shape, generator=_gen) * 0.5 for k, v in _before.items() if not k.endswith(".mask")}
    _want["lm_head.weight"] = _want["transformer.wte.weight"]
    _hf = {k: (v.t().contiguous() if k.endswith(_conv1d) else v) for k, v in _want.items()}
    if not _head:
        del _hf["lm_head.weight"]  # some checkpoints leave the tied copy out
    if _buffers:
        for _i in range(_L):
            _hf[f"transformer.h.{_i}.attn.bias"] = torch.ones(1, 1, _bs, _bs).tril()
            _hf[f"transformer.h.{_i}.attn.masked_bias"] = torch.tensor(-1e4)
    _hf = dict(reversed(list(_hf.items())))  # no order may be assumed
    try:
        load_gpt2_weights(_model, _hf)
    except (KeyError, RuntimeError, ValueError) as _error:
        raise AssertionError(f"load_gpt2_weights failed on a {_L}-layer checkpoint ({type(_error).__name__}: {str(_error)[:150]})") from None
    _state = _model.state_dict()
    for _name, _value in _want.items():
        assert tuple(_state[_name].shape) == tuple(_value.shape) and _close(_state[_name], _value), \
            f"{_name} is wrong after loading a {_L}-layer checkpoint"
    for _name, _value in _before.items():
        if _name.endswith(".mask"):
            assert torch.equal(_state[_name], _value), f"{_name}, the model's own causal mask, must not change"
    _ref = GPT(_cfg).eval()
    _ref.load_state_dict({**_ref.state_dict(), **_want})
    _idx = torch.randint(0, _V, (3, _bs), generator=_gen)
    assert _close(_model(_idx)[0], _ref(_idx)[0]), f"logits wrong after loading a {_L}-layer checkpoint"
    _model.load_state_dict({**_state, "transformer.wte.weight": torch.zeros(_V, _C), "lm_head.weight": torch.ones(_V, _C)})
    _after = _model.state_dict()
    assert torch.equal(_after["lm_head.weight"], _after["transformer.wte.weight"]), "lm_head must stay tied to transformer.wte"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "hf_compare_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 11.2 · Your model against Hugging Face's GPT-2
#
# The next cell builds a small `GPT2LMHeadModel` with random weights from a `GPT2Config` (nothing is
# downloaded), loads its state dict into a `GPT` of the same shape with your function, and prints the
# largest difference between the two models' logits on the same tokens.
#
# **One real difference: the GELU.** GPT-2 was trained with the tanh approximation of the GELU,
# $\tfrac12 x\,(1 + \tanh(\sqrt{2/\pi}\,(x + 0.044715\,x^3)))$ (`activation_function="gelu_new"` in
# `transformers`); your MLP uses the exact $x\,\Phi(x)$ of `nn.GELU()`. The two functions differ by at
# most $4.7 \cdot 10^{-4}$ (near $x = \pm 2.7$). The cell measures the logit difference both ways: as built
# and after swapping your MLPs' `nn.GELU()` for `nn.GELU(approximate="tanh")` (with
# `gpt_extras.set_gelu`), once with Hugging Face's initialisation ($\mathcal{N}(0, 0.02^2)$, where the MLP's
# inputs are small and the two GELUs nearly agree) and once with ten times the standard deviation
# ($\mathcal{N}(0, 0.2^2)$). Measured on the course's machine (3 layers, 4 heads, $C = 64$, $V = 500$, batch 2
# of 48 tokens, `transformers` 5.24): with the small weights (largest |logit| 1.20) the largest difference
# is $1.3 \cdot 10^{-5}$ with your exact GELU and $3.0 \cdot 10^{-7}$ with the tanh GELU; with the larger
# weights (largest |logit| 7.07) it is $2.3 \cdot 10^{-3}$ and $2.9 \cdot 10^{-6}$. With the tanh GELU what
# remains is float32 rounding; the exact GELU adds an error that grows with the size of the MLP's inputs.
# For the trained GPT-2 weights use `approximate="tanh"` (the cell below measures both ways on GPT-2
# itself; no figure for it is given here, as the hub was not reachable while the course was written).
#
# On a GPU with access to the hub, the cell after it loads the real GPT-2 small (`gpt2` on the hub) into
# `GPT(GPTConfig())`, compares the logits the same way and continues a prompt greedily.

# %% nbgrader={"grade": false, "grade_id": "hf_compare", "locked": true, "schema_version": 3, "solution": false, "task": false}
if not HAVE_TRANSFORMERS:
    print("skipped: transformers is not installed (pip install transformers, then restart the kernel)")
elif tfscourse.grading_mode():
    print("skipped while the notebook is graded")
else:
    from transformers import GPT2LMHeadModel

    hf_shape = GPTConfig(block_size=64, vocab_size=500, n_layer=3, n_head=4, n_embd=64)
    idx_cmp = torch.randint(0, hf_shape.vocab_size, (2, 48), generator=torch.Generator().manual_seed(0))
    for init_std in (0.02, 0.2):
        torch.manual_seed(0)
        hf_model = GPT2LMHeadModel(gpt_extras.gpt2_config(hf_shape, initializer_range=init_std)).eval()
        mine = GPT(hf_shape).eval()
        load_gpt2_weights(mine, hf_model.state_dict())
        with torch.no_grad():
            hf_logits = hf_model(idx_cmp).logits
            for approximate in ("none", "tanh"):
                if gpt_extras.set_gelu(mine, approximate) == 0:
                    print("your MLP has no nn.GELU module to swap (F.gelu in forward?): only the first line is meaningful")
                diff = (mine(idx_cmp)[0] - hf_logits).abs().max().item()
                print(f"weights N(0, {init_std}^2), your GELU approximate={approximate!r:7}: max |logit difference| "
                      f"{diff:.1e} (largest |logit| {hf_logits.abs().max().item():.2f})")

# %% nbgrader={"grade": false, "grade_id": "gpt2_real", "locked": true, "schema_version": 3, "solution": false, "task": false}
load_real_gpt2 = device.type == "cuda"  # set it to True to try on a CPU too (a download of about half a gigabyte)
gpt2, gpt2_tokenizer = None, None
if not (HAVE_TRANSFORMERS and load_real_gpt2) or tfscourse.grading_mode():
    print("skipped: the real GPT-2 weights are loaded on a GPU with transformers installed (set load_real_gpt2 = True to force)")
elif not gpt_extras.hub_reachable():
    print("skipped: the Hugging Face hub is not reachable from here")
else:
    try:
        from transformers import AutoTokenizer, GPT2LMHeadModel

        hf_gpt2 = GPT2LMHeadModel.from_pretrained("gpt2").eval().to(device)
        gpt2_tokenizer = AutoTokenizer.from_pretrained("gpt2")
    except Exception as error:  # offline, a proxy, a full disk: never block the notebook
        print(f"could not load gpt2 from the hub ({type(error).__name__}: {str(error)[:200]}); skipped")
    else:
        gpt2 = GPT(GPTConfig()).to(device).eval()
        load_gpt2_weights(gpt2, hf_gpt2.state_dict())
        ids = gpt2_tokenizer("The meaning of life is", return_tensors="pt").input_ids.to(device)
        with torch.no_grad():
            hf_logits = hf_gpt2(ids).logits
            for approximate in ("none", "tanh"):
                gpt_extras.set_gelu(gpt2, approximate)
                diff = (gpt2(ids)[0] - hf_logits).abs().max().item()
                print(f"GPT-2 small, your GELU approximate={approximate!r:7}: max |logit difference| {diff:.1e}")
        del hf_gpt2
        print(gpt2_tokenizer.decode(gpt2.generate(ids, 30, temperature=0)[0].tolist()))


# %% [markdown] nbgrader={"grade": false, "grade_id": "kv_cache_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 11.3 · A key/value cache
#
# `generate` runs the whole context through the whole model for every new token. Greedy decoding of $n$
# tokens after a prompt of $T$ tokens sends $T + (T + 1) + \dots + (T + n - 1) = nT + n(n-1)/2$ positions
# through every layer, and almost all of that work repeats the step before: in a causal model the key and
# value of position $s$ (in every layer) depend only on the tokens $0, \dots, s$, so once computed they
# never change. At each step only the newest token's query, key and value are new. A **key/value cache**
# keeps, for every layer, the keys and values of all positions seen so far (two tensors of shape
# $(B, n_{head}, t, h_s)$) and, at each step,
#
# 1. runs only the newest token, shape $(B, 1)$, through the network, with the position embedding of its
#    **place in the sequence** (the token at index $t$ gets `wpe` row $t$, not row 0);
# 2. in every block: `ln_1`, then the attention with the block's own modules: $q, k, v$ of the new token
#    from `attn.c_attn`, $k$ and $v$ appended to the layer's cache, the new $q$ attends to all cached keys
#    (all of them are in its past, so no mask is needed), the heads are merged and mixed by `attn.c_proj`;
#    the residual additions, `ln_2` and the MLP are as in `Block.forward`;
# 3. takes `ln_f`, the head and the argmax of the last position's logits as the next token.
#
# The first step, the **prefill**, runs the whole prompt at once and fills the caches. There the causal
# mask is needed: the prompt's tokens must not see each other's future. One rule covers both cases: with $P$
# positions already cached and $T_{new}$ new ones, new query $t$ may look at keys $0, \dots, P + t$, which
# is `attn.mask[P:P + T_new, :P + T_new]`.
#
# Write `generate_cached(model, idx, max_new_tokens)`: greedy decoding with a cache that returns
# $(B, T + \text{max\_new\_tokens})$ and **exactly the same tokens** as
# `model.generate(idx, max_new_tokens, temperature=0)`. Use the model's own modules (`model.transformer.wte`,
# `wpe`, each block's `ln_1`, `attn.c_attn`, `attn.n_head`, `attn.c_proj`, `ln_2`, `mlp`, then `ln_f`,
# `lm_head`), and make a fresh cache in every call. You may assume $T + \text{max\_new\_tokens} \le$
# `block_size`. The test compares your tokens with greedy decoding by the full model, and it counts the
# positions that reach each block's `attn.c_attn` (`gpt_extras.positions_through_attention` puts a hook
# on it): with a cache that is $B(T + n - 1)$ per block (the last new token is never fed back), where
# recomputing everything needs $B(nT + n(n-1)/2)$.
#
# **Beyond `block_size`.** There `generate` crops the context to its last `block_size` tokens. Every kept
# token then moves one place to the left, its position embedding changes, and with it every key and value
# in every layer: the whole cache is stale. With GPT-2's learned absolute positions the only exact
# continuation recomputes the full window at every step, so a cache gains nothing there; a cached generator
# stops at the context length or switches to recomputation.

# %% nbgrader={"grade": false, "grade_id": "generate_cached", "locked": false, "schema_version": 3, "solution": true, "task": false}
@torch.no_grad()
def generate_cached(model, idx, max_new_tokens):
    """Greedy decoding with a key/value cache: the same tokens as model.generate(idx, max_new_tokens, temperature=0)."""
    ### BEGIN SOLUTION
    cache = {}  # layer -> (keys, values), each (B, H, positions so far, hs)

    def attention(attn, x, layer):
        B, T_new, C = x.shape
        hs = C // attn.n_head
        q, k, v = attn.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T_new, attn.n_head, hs).transpose(1, 2) for t in (q, k, v))  # (B, H, T_new, hs)
        if layer in cache:
            k = torch.cat([cache[layer][0], k], dim=2)  # (B, H, P + T_new, hs)
            v = torch.cat([cache[layer][1], v], dim=2)
        cache[layer] = (k, v)
        P = k.size(2) - T_new  # positions cached before this step
        att = q @ k.transpose(-2, -1) / math.sqrt(hs)  # (B, H, T_new, P + T_new)
        att = att.masked_fill(~attn.mask[P:P + T_new, :P + T_new], float("-inf"))
        y = F.softmax(att, dim=-1) @ v  # (B, H, T_new, hs)
        return attn.c_proj(y.transpose(1, 2).contiguous().view(B, T_new, C))

    out, new, start = idx, idx, 0
    for _ in range(max_new_tokens):
        pos = torch.arange(start, start + new.size(1), device=idx.device)  # the new tokens' places
        x = model.transformer.wte(new) + model.transformer.wpe(pos)  # (B, T_new, C)
        for layer, block in enumerate(model.transformer.h):
            x = x + attention(block.attn, block.ln_1(x), layer)
            x = x + block.mlp(block.ln_2(x))
        logits = model.lm_head(model.transformer.ln_f(x[:, -1]))  # (B, V)
        new = logits.argmax(dim=-1, keepdim=True)  # (B, 1)
        out = torch.cat([out, new], dim=1)
        start += x.size(1)
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_generate_cached", "locked": true, "points": 4.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check generate_cached: the tokens of greedy decoding, and only the new token through the model at each step."""
_model = GPT(GPTConfig(block_size=16, vocab_size=30, n_layer=2, n_head=2, n_embd=16)).eval()
_gen = torch.Generator().manual_seed(1)
_state = {k: (torch.randn(v.shape, generator=_gen) * 0.4 if v.is_floating_point() else v) for k, v in _model.state_dict().items()}
_state["lm_head.weight"] = _state["transformer.wte.weight"]
_model.load_state_dict(_state)
_prompt = torch.randint(0, 30, (2, 3), generator=_gen)
_want = _prompt.clone()
for _ in range(10):  # greedy decoding with the full model, one whole forward pass per new token
    _want = torch.cat([_want, _model(_want)[0][:, -1].argmax(-1, keepdim=True)], dim=1)
try:
    _got, _positions = gpt_extras.positions_through_attention(_model, generate_cached, _model, _prompt, 10)
except (RuntimeError, IndexError, ValueError) as _error:
    raise AssertionError(f"generate_cached(model, prompt of shape (2, 3), 10) failed: {type(_error).__name__}: {str(_error)[:200]}") from None
print("greedy:", _want[0].tolist())
print("cached:", _got[0].tolist())
assert tuple(_got.shape) == (2, 13), f"3 prompt tokens + 10 new ones: expected shape (2, 13), got {tuple(_got.shape)}"
assert _got[:, :3].tolist() == _prompt.tolist(), "the output should start with the prompt"
_bad = [_t for _t in range(3, 13) if _got[:, _t].tolist() != _want[:, _t].tolist()]
assert not _bad, (f"token {_bad[0]} differs from greedy decoding with the full model: does each new token get the position "
                  "embedding of its place in the sequence (not 0), and does its query see the cached keys and values?")
print(f"positions through layer 0's attn.c_attn: {_positions[0]} (a cache needs 2 * 12 = 24, recomputing 2 * 75 = 150)")
assert _positions[0] > 0, "use the blocks' own modules (block.attn.c_attn(...)), so that the test can count the positions"
assert _positions[0] <= 2 * 13, (f"{_positions[0]} positions went through layer 0's attention for 10 new tokens: run only the "
                                 "newest token through the model at each step, with the keys and values of the others from the cache")
### BEGIN HIDDEN TESTS
import torch

for _seed, (_bs, _V, _L, _H, _C, _bias, _B, _T, _n) in enumerate([(12, 25, 3, 3, 12, True, 3, 1, 11), (9, 17, 1, 1, 8, False, 1, 6, 4),
                                                                     (20, 40, 2, 4, 16, True, 2, 5, 9)]):
    # a config object made in the kernel (the course package's ModelSize has GPTConfig's seven fields)
    _m = GPT(training.ModelSize(block_size=_bs, vocab_size=_V, n_layer=_L, n_head=_H, n_embd=_C, dropout=0.0, bias=_bias)).eval()
    _gen = torch.Generator().manual_seed(70 + _seed)
    _state = {k: (torch.randn(v.shape, generator=_gen) * 0.5 if v.is_floating_point() else v) for k, v in _m.state_dict().items()}
    _state["lm_head.weight"] = _state["transformer.wte.weight"]
    _m.load_state_dict(_state)
    for _rep in range(2):  # twice: a cache left over from the call before must not leak in
        _prompt = torch.randint(0, _V, (_B, _T), generator=_gen)
        try:
            _got, _positions = gpt_extras.positions_through_attention(_m, generate_cached, _m, _prompt.clone(), _n)
        except (RuntimeError, IndexError, ValueError) as _error:
            raise AssertionError(f"generate_cached failed for block_size={_bs}, n_layer={_L}, prompt length {_T} "
                                 f"(call {_rep + 1}): {type(_error).__name__}: {str(_error)[:150]}") from None
        assert type(_got) is torch.Tensor and tuple(_got.shape) == (_B, _T + _n), f"expected shape {(_B, _T + _n)}"
        _seq = _prompt.clone()
        for _t in range(_T, _T + _n):
            _logits = _m(_seq)[0][:, -1]
            _picked = _logits.gather(1, _got[:, _t:_t + 1])[:, 0]
            # the argmax, up to float rounding (another order of the same sums may break an exact tie differently)
            assert (_picked >= _logits.max(-1).values - 1e-4).all(), \
                f"new token {_t - _T} is not the greedy choice for block_size={_bs}, n_layer={_L}, n_head={_H}, prompt length {_T} (call {_rep + 1})"
            _seq = torch.cat([_seq, _got[:, _t:_t + 1]], dim=1)
        assert 0 < max(_positions) and max(_positions) <= _B * (_T + _n) and len(set(_positions)) == 1, \
            f"positions through each block's attention: {_positions}; a cache runs each position once per block"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "kv_speed_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 11.4 · How much faster?
#
# The cell generates greedily from your trained model with `generate` and with `generate_cached`, as many
# new tokens as the context allows (up to 200), checks that both give the same tokens and prints tokens per
# second. If the real GPT-2 was loaded above, it does the same with it for 200 tokens. Measured on the
# course's 2-core CPU with `benchmarks/bench_kv_cache.py` (random weights of the same shapes, the 13-token
# prompt of the CPU run, one thread, best of 3 runs, while other jobs kept the machine's load near 5): for
# the CPU preset's shape (4 layers, $C = 64$, $V = 256$, 115 new tokens) 101 tokens/s without the cache and
# 196 with it (1.9 times faster; a second run at load 2.4 gave 388 and 608, 1.6 times); for the T4 preset's
# shape (6 layers, $C = 384$, $V = 8192$, 200 new tokens) 5 and 96 tokens/s (18 times); for the A100/H100
# preset's shape (8 layers, $C = 512$, 200 new tokens) 4 and 59 tokens/s (13 times). Without a cache, step
# $t$ runs $t$ positions through every layer, builds a $t \times t$ score matrix per head and, in `forward`,
# computes the head's logits for all $t$ positions although `generate` keeps only the last; with the cache
# it runs one position, $t$ scores per head and one row of logits. The saving per step grows with the
# length. For the small CPU model the fixed cost of each step (many small operations per layer, each with
# its own call overhead in Python and PyTorch) is a large part of the time, which caps its speed-up.

# %% nbgrader={"grade": false, "grade_id": "kv_speed", "locked": true, "schema_version": 3, "solution": false, "task": false}
def compare_generation(net, prompt_ids, n_new, label):
    """Tokens per second of generate (temperature 0) and generate_cached on the same prompt; best of 3."""
    runs = {"generate": lambda: net.generate(prompt_ids, n_new, temperature=0),
            "generate_cached": lambda: generate_cached(net, prompt_ids, n_new)}
    outputs, speed = {}, {}
    for name, run in runs.items():
        run()  # warm-up
        for _ in range(3):
            outputs[name], rate = gpt_extras.tokens_per_second(run, n_new, prompt_ids.device)
            speed[name] = max(speed.get(name, 0.0), rate)
    same = torch.equal(outputs["generate"], outputs["generate_cached"])
    print(f"{label}: {n_new} new tokens after {prompt_ids.shape[1]}: generate {speed['generate']:,.0f} tokens/s, "
          f"generate_cached {speed['generate_cached']:,.0f} tokens/s ({speed['generate_cached'] / speed['generate']:.1f}x); "
          f"same tokens: {same}")
    return outputs["generate_cached"]


model.eval()
n_new = 8 if tfscourse.grading_mode() else min(200, config.block_size - prompt.shape[1])
sample = compare_generation(model, prompt, n_new, f"your trained model ({config.n_layer} layers, C = {config.n_embd})")
print(decode(tokenizer, sample[0].tolist()))
if gpt2 is not None:
    gpt_extras.set_gelu(gpt2, "tanh")
    gpt2_prompt = gpt2_tokenizer("The meaning of life is", return_tensors="pt").input_ids.to(device)
    gpt2_sample = compare_generation(gpt2, gpt2_prompt, 200, "GPT-2 small")
    print(gpt2_tokenizer.decode(gpt2_sample[0].tolist()))

# %% [markdown] nbgrader={"grade": false, "grade_id": "kv_memory_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **What the cache costs.** The speed is bought with memory: the cache holds a key and a value vector of
# $C$ numbers for every position in every layer. Compute the size in **bytes** of the cache of GPT-2 small
# (`GPTConfig()`: 12 layers, $C = 768$) for one sequence (batch 1) of 1024 positions in float32 (4 bytes per
# number), and store it as an integer in `kv_cache_bytes`.

# %% nbgrader={"grade": false, "grade_id": "kv_cache_bytes", "locked": false, "schema_version": 3, "solution": true, "task": false}
kv_cache_bytes = ...  # an int: bytes of the key/value cache of GPT-2 small, batch 1, 1024 positions, float32
### BEGIN SOLUTION
kv_cache_bytes = 2 * 12 * 1024 * 768 * 4  # keys and values, layers, positions, C numbers, 4 bytes each
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_kv_cache_bytes", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check that kv_cache_bytes is a whole number of bytes."""
assert kv_cache_bytes is not ..., "set kv_cache_bytes to your answer"
assert type(kv_cache_bytes) is int, f"kv_cache_bytes should be an int (a number of bytes), got {type(kv_cache_bytes).__name__}"
assert kv_cache_bytes > 0, "a number of bytes is positive"
### BEGIN HIDDEN TESTS
assert type(kv_cache_bytes) is int, "kv_cache_bytes must be an int"
assert kv_cache_bytes % 4 == 0, "float32 numbers take 4 bytes each"
assert kv_cache_bytes == 2 * 12 * 1024 * 768 * 4, \
    "count a key and a value vector of C = 768 numbers per position, per layer (12), for 1024 positions, 4 bytes each"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": true, "grade_id": "kv_cache_discussion", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question.** Report the speed-up you measured in 11.4 (device, model, number of new tokens). In two to
# four sentences: why does the cache give exactly the tokens of the full recomputation (up to float
# rounding), why does the speed-up grow with the number of generated tokens, and what would the cache of
# your trained model cost in memory at its full context?
#
# ### BEGIN SOLUTION
# (Example figures from `benchmarks/bench_kv_cache.py` on the course's 2-core CPU, one thread, random weights
# of the CPU preset's shape: 13 prompt tokens and 115 new ones, 101 tokens/s with `generate` and 196 with
# `generate_cached`, 1.9 times faster (1.6 times in a run on a less busy machine); the T4 preset's shape
# with 200 new tokens: 5 against 96 tokens/s.)
# The tokens are the same because in a causal model the key and value of a position depend only on the
# tokens up to it: the cached ones are exactly what the full pass would compute again, so the new token's
# query meets the same keys and values and every layer gives the same output; only the order of some
# floating-point sums differs, which changes the logits by rounding and could flip only an exact tie.
# Without the cache, step $t$ pushes $t$ positions through the model (and a $t \times t$ score matrix per
# head), with it one position (and $t$ scores), so the work saved per step grows with $t$ and the speed-up
# with the number of tokens generated. For the trained CPU model at its full context of 128 positions the
# cache holds $2 \cdot 4 \text{ layers} \cdot 128 \cdot 64$ float32 numbers, 262,144 bytes (256 KiB) per
# sequence; GPT-2 small at 1024 positions needs 72 MiB per sequence.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "wrap_up", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Wrap-up
#
# You wrote a GPT: causal multi-head attention, the MLP, pre-LN blocks, tied embeddings, a training loop's
# data and schedule, and sampling. Notebook 07 starts from a pretrained model like this one and fine-tunes it.
# Before handing in: *Kernel → Restart and run all*, check that every visible test passes, then save
# (on Colab: *File → Download → Download .ipynb*).
