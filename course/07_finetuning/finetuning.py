# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # 07 · Fine-tuning and parameter-efficient fine-tuning
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transformers-from-scratch/course-notebooks/blob/main/release/07_finetuning/finetuning.ipynb)
#
# **Learning goals.** After this notebook you can
# 1. explain what self-supervised pre-training is and why a pre-trained model helps when labels are scarce;
# 2. compare full fine-tuning, head-only training and parameter-efficient methods (LoRA, adapters,
#    prefix-tuning, prompt tuning) by speed at inference, storage per task and memory during training;
# 3. implement a LoRA layer (with a merge for inference), a bottleneck adapter, prefix attention and a
#    prompt in front of the input in PyTorch, and count the parameters each one trains;
# 4. show on a small encoder layer what each method changes in the computation;
# 5. fine-tune a small pre-trained GPT six ways (over several seeds, with learning rates chosen on a
#    validation split) on a text-classification task, read a plot of accuracy against trainable
#    parameters, and measure with a learning curve how many labels pre-training saves.
#
# **How to work.** Fill in every cell that says `raise NotImplementedError()` and every answer cell
# marked *YOUR ANSWER HERE*. The test cell under each answer checks a worked example and tells you what
# it expected; more (hidden) checks run when the notebook is graded, so try your code on your own inputs
# too. Do not delete, copy or retype the locked cells.
#
# **Running time and hardware.** A few minutes from top to bottom on a CPU, almost all of it in the
# experiment of section 10: the first run pre-trains a small GPT (two to four minutes on a busy 2-core
# machine) and caches it (later runs load it in a second), then fine-tunes 28 times for the method
# comparison (seven methods, learning rates chosen on a validation split, three seeds) and 36 times for
# the learning curve, a few seconds each; on a busy 2-core machine the whole notebook took 136 s and
# 216 s in two runs with the cached model. No GPU needed;
# one is used when present. Works in JupyterLab and on Google Colab (the first cell installs the course
# package there).

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
import math

import matplotlib.pyplot as plt
import torch
from torch import nn

import tfscourse
from tfscourse import finetune as ft  # the experiment of section 10, and helpers the test cells use

# %% [markdown] nbgrader={"grade": false, "grade_id": "pretraining_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1 · Pre-training without labels
#
# A language model is trained to predict the next token (GPT) or to fill in hidden tokens (BERT's masked
# language modelling); BERT was also trained to tell whether two sentences follow each other (next
# sentence prediction). None of these objectives needs a person to label anything: the text itself
# supplies both the input and the answer, by hiding part of it. Such objectives are called
# **self-supervised**. A model trained this way on a large corpus is *pre-trained*; it is then
# **fine-tuned** on the task we care about with far fewer labelled examples.

# %% [markdown] nbgrader={"grade": true, "grade_id": "self_supervised", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question 1.1.** Why are language modelling, masked language modelling and next sentence prediction
# called *self-supervised*? What does pre-training with such an objective buy us? (at most five sentences)
#
# ### BEGIN SOLUTION
# The training targets are cut out of the raw text itself (the next token, the masked tokens, whether
# sentence B really followed sentence A), so no human annotation is needed and the supervision signal
# comes "from the data itself". That makes the amount of training data practically unlimited (any text
# will do). To predict missing words well, the model has to learn spelling, syntax, word meaning,
# co-reference and a lot of world knowledge; these representations are useful for almost every
# downstream task. Fine-tuning then starts from a good initialisation instead of random weights, so a
# small labelled set is enough and the model generalises better (fewer labels, faster convergence,
# higher accuracy).
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": true, "grade_id": "tweets_scenario", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question 1.2.** You want a sentiment classifier for tweets. Your annotation budget bought about
# 10,000 labelled tweets, but you also have 2,000,000 *unlabelled* tweets. How can the unlabelled tweets
# make the classifier better? Describe the steps.
#
# ### BEGIN SOLUTION
# Use them for (further) self-supervised pre-training. Start from a general pre-trained model (e.g. BERT)
# and continue training it with its masked-language-modelling objective on the 2,000,000 tweets
# (domain-adaptive pre-training); if no model exists, pre-train one on the tweets from scratch. This
# teaches the model tweet-specific vocabulary, spelling, hashtags, emoji and style without any label.
# Then add a classification head and fine-tune on the 10,000 labelled tweets (holding out a part for
# validation). Optional extras: self-training / pseudo-labelling (label the unlabelled tweets with the
# fine-tuned model, keep confident predictions, retrain), or weak labels from emoji/hashtags.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "strategies_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2 · Three ways to fine-tune
#
# Take a pre-trained network and a new task. Three strategies (the handout's figure is missing from our
# copy of the sheet, so we name them here):
#
# * **A. Full fine-tuning**: every weight of the network is trained on the new task.
# * **B. Bottleneck adapters**: the pre-trained weights stay frozen; small two-layer modules
#   ($d \to b \to d$ with $b \ll d$ and a residual connection) are *inserted* after sub-layers, and only
#   they (and the task head) are trained.
# * **C. LoRA** (low-rank adaptation): the pre-trained weight $W$ stays frozen and the layer computes
#   $x W^\top + \frac{\alpha}{r}\, x A^\top B^\top$ with two small trainable matrices
#   $A \in \mathbb{R}^{r \times d_{in}}$ and $B \in \mathbb{R}^{d_{out} \times r}$. After training,
#   $W + \frac{\alpha}{r} B A$ can be *merged* into one matrix of the original shape.
#
# **Questions.** Which strategies fit each scenario best? Answer each with a set of letters (several
# may be right).
#
# * **Q1.** The fine-tuned model must be as fast as possible at inference.
# * **Q2.** You need fine-tuned variants for many different tasks but have little storage space.
# * **Q3.** You want to fine-tune but have little memory for the parameters' gradients and optimiser
#   state during training.

# %% nbgrader={"grade": false, "grade_id": "strategy_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
answer_q1 = {"A", "C"}
answer_q2 = {"B", "C"}
answer_q3 = {"B", "C"}
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_strategy_q1", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q1: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q1, set) and answer_q1 <= {"A", "B", "C"}, "answer_q1 must be a set of letters among A, B, C"
### BEGIN HIDDEN TESTS
assert type(answer_q1) is set and answer_q1 == {"A", "C"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_strategy_q2", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q2: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q2, set) and answer_q2 <= {"A", "B", "C"}, "answer_q2 must be a set of letters among A, B, C"
### BEGIN HIDDEN TESTS
assert type(answer_q2) is set and answer_q2 == {"B", "C"}
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_strategy_q3", "locked": true, "points": 1.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Q3: check the format (the answer itself is checked when grading)."""
assert isinstance(answer_q3, set) and answer_q3 <= {"A", "B", "C"}, "answer_q3 must be a set of letters among A, B, C"
### BEGIN HIDDEN TESTS
assert type(answer_q3) is set and answer_q3 == {"B", "C"}
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": true, "grade_id": "strategy_justification", "locked": false, "points": 3.0, "schema_version": 3, "solution": true, "task": false}
# **Question 2.2 (written).** Justify your answers to Q1-Q3 in one or two sentences each.
#
# ### BEGIN SOLUTION
# *Fast inference:* full fine-tuning keeps the original architecture, and LoRA's update can be merged
# into $W$ ($W' = W + \frac{\alpha}{r}BA$), so both run exactly as fast as the base model; adapters add
# extra layers that run one after the other in every block, which costs latency (especially at batch
# size 1).
# *Many tasks, little storage:* adapters and LoRA store only their small matrices per task (often well
# under 1% of the model) next to one shared copy of the frozen base; full fine-tuning needs a complete
# copy of the model per task.
# *Little training memory:* with adapters or LoRA only the few new parameters need gradients and Adam's
# two moment estimates; full fine-tuning needs gradient + two moments for every weight (about four
# times the model's size in total). Activations still have to be stored for back-propagation in all
# three, so the saving is in the parameter-related memory.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "lora_ratio_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 2.1 · How many parameters does LoRA train?
#
# A full weight matrix $W \in \mathbb{R}^{d_{out} \times d_{in}}$ has $d_{in} d_{out}$ entries. LoRA
# trains $A$ ($r \times d_{in}$) and $B$ ($d_{out} \times r$) instead. Write `lora_param_ratio(d_in, d_out, r)`
# returning the ratio *(LoRA's trainable parameters) / (full fine-tuning's parameters)* for one weight
# matrix (biases ignored), as a float. The handout asks for $W_{in}, W_{out}, R = 200, 50, 5$.

# %% nbgrader={"grade": false, "grade_id": "lora_param_ratio", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lora_param_ratio(d_in, d_out, r):
    """Trainable parameters of a rank-r LoRA update over those of the full d_out x d_in matrix.

    Example: lora_param_ratio(4, 4, 1) -> 8 / 16 = 0.5
    """
    ### BEGIN SOLUTION
    return r * (d_in + d_out) / (d_in * d_out)
    ### END SOLUTION


print(f"LoRA / full for 200, 50, 5: {lora_param_ratio(200, 50, 5)}")

# %% nbgrader={"grade": true, "grade_id": "test_lora_param_ratio", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the LoRA parameter ratio on a small case."""
_got = lora_param_ratio(4, 4, 1)
assert abs(_got - 0.5) < 1e-12, f"d_in = d_out = 4, r = 1: A and B hold 4 + 4 = 8 numbers, W holds 16; expected 0.5, got {_got}"
### BEGIN HIDDEN TESTS
for _d_in, _d_out, _r in [(200, 50, 5), (768, 768, 8), (3, 1000, 2), (1, 1, 1), (4096, 11008, 64)]:
    _got = lora_param_ratio(_d_in, _d_out, _r)
    _want = _r * (_d_in + _d_out) / (_d_in * _d_out)
    assert isinstance(_got, (int, float)) and abs(float(_got) - _want) < 1e-12 * max(1.0, _want), f"wrong ratio for d_in={_d_in}, d_out={_d_out}, r={_r}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "count_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3 · Counting what is trained
#
# In PyTorch a parameter is trained when its `requires_grad` flag is `True`; freezing a part of a model
# means switching the flag off (`p.requires_grad_(False)`). Write `count_trainable_parameters(model)`
# returning the number of trainable **numbers** (not tensors) in an `nn.Module`. A parameter that two
# modules share (tied weights) counts once.

# %% nbgrader={"grade": false, "grade_id": "count_trainable_parameters", "locked": false, "schema_version": 3, "solution": true, "task": false}
import torch
from torch import nn


def count_trainable_parameters(model):
    """Number of scalar parameters of `model` with requires_grad=True (shared tensors counted once).

    Example: count_trainable_parameters(nn.Linear(3, 2)) -> 3 * 2 + 2 = 8
    """
    ### BEGIN SOLUTION
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_count_trainable_parameters", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the count on a small model with a frozen layer."""
# The models of these checks are built with ft.nn, which is torch.nn reached through the course package:
# when the notebook is graded the checks run in a separate process, and a model they give your function
# must live in your notebook's process. In the notebook, ft.nn.Linear is simply nn.Linear.
_model = ft.nn.Sequential(ft.nn.Linear(3, 2), ft.nn.ReLU(), ft.nn.Linear(2, 5))
assert count_trainable_parameters(_model) == 8 + 15, f"expected 8 + 15 = 23, got {count_trainable_parameters(_model)}"
_model[0].requires_grad_(False)
assert count_trainable_parameters(_model) == 15, f"after freezing the first layer expected 15, got {count_trainable_parameters(_model)}"
### BEGIN HIDDEN TESTS
import torch
from torch import nn


def _build(_nn, _sizes, _trial):
    _body = _nn.Sequential(_nn.Linear(_sizes[1], _sizes[2]), _nn.Tanh(), _nn.Linear(_sizes[2], _sizes[3], bias=_trial % 2 == 0),
                           _nn.LayerNorm(_sizes[3]))
    return _nn.ModuleDict({"emb": _nn.Embedding(_sizes[0], _sizes[1]), "body": _body,
                           "head": _nn.Linear(_sizes[3], _sizes[0], bias=False)})


def _reference_count(_model):
    _seen, _count = set(), 0
    for _p in _model.parameters():
        if id(_p) not in _seen and _p.requires_grad:
            _seen.add(id(_p))
            _count += _p.numel()
    return _count


_g = torch.Generator().manual_seed(0)
for _trial in range(6):
    _sizes = torch.randint(1, 40, (4,), generator=_g).tolist()
    if _trial == 5:
        _sizes[3] = _sizes[1]
    _mine, _theirs = _build(nn, _sizes, _trial), _build(ft.nn, _sizes, _trial)  # the same model here and in the kernel
    if _trial >= 2:
        _mine["body"][0].weight.requires_grad_(False)
        ft.set_requires_grad(_theirs["body"][0], "weight", False)
    if _trial >= 3 and _sizes[3] == _sizes[1]:
        _mine["head"].weight = _mine["emb"].weight  # tied weights count once
        ft.share_parameter(_theirs["emb"], "weight", _theirs["head"], "weight")
    _got = count_trainable_parameters(_theirs)
    assert int(_got) == _got and int(_got) == _reference_count(_mine), f"wrong count for model {_trial}: got {_got}"
assert count_trainable_parameters(ft.nn.Linear(7, 3).requires_grad_(False)) == 0, "a fully frozen model trains 0 parameters"
_tied = ft.nn.ModuleDict({"a": ft.nn.Linear(5, 5), "b": ft.nn.Linear(5, 5)})
ft.share_parameter(_tied["a"], "weight", _tied["b"], "weight")
assert count_trainable_parameters(_tied) == 25 + 5 + 5, "a shared weight counts once"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "lora_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4 · LoRA: a frozen layer plus a low-rank update
#
# LoRA (Hu et al., 2021) starts from the observation that the change a fine-tuning run makes to a
# weight matrix, $\Delta W$, tends to have a low *intrinsic rank*. So it learns $\Delta W = B A$ directly,
# with $A \in \mathbb{R}^{r \times d_{in}}$, $B \in \mathbb{R}^{d_{out} \times r}$ and a small rank $r$:
#
# $$h = x W^\top + b + \frac{\alpha}{r}\; x A^\top B^\top .$$
#
# * The base layer ($W$ and $b$) is **frozen**; only $A$ and $B$ are trained.
# * $A$ starts random (e.g. `nn.init.kaiming_uniform_(A, a=5 ** 0.5)` as in `nn.Linear`, or small normal
#   values) and **$B$ starts at zero**, so $BA = 0$ and the model is exactly the pre-trained one at step 0.
#   (If both were zero, no gradient would ever reach either of them.)
# * The update is scaled by $\alpha / r$: with this scaling one can change $r$ without re-tuning the
#   learning rate much.
# * For inference, `merge()` folds the update into one ordinary layer, $W' = W + \frac{\alpha}{r} B A$,
#   which is as fast as the original.
#
# Write the class `LoRALinear(base, r, alpha)`:
# * keep the given `nn.Linear` as `self.base` and freeze its weight and bias;
# * create `self.A` with shape `(r, base.in_features)` and `self.B` with shape `(base.out_features, r)` as
#   `nn.Parameter`s with the dtype and device of `base.weight`, initialised as above; store
#   `self.scaling = alpha / r`;
# * `forward(x)` works for inputs of shape `(..., in_features)`;
# * `merge()` returns a **new** `nn.Linear` (same bias) computing the same function, and leaves the
#   `LoRALinear` unchanged.

# %% nbgrader={"grade": false, "grade_id": "lora_linear", "locked": false, "schema_version": 3, "solution": true, "task": false}
import math


class LoRALinear(nn.Module):
    """A frozen nn.Linear plus a trainable low-rank update (alpha / r) * B A.

    Example: LoRALinear(nn.Linear(16, 8), r=2, alpha=4) trains 2 * 16 + 8 * 2 = 48 numbers
    and computes exactly the base layer until B moves away from zero.
    """

    def __init__(self, base: nn.Linear, r, alpha):
        super().__init__()
        ### BEGIN SOLUTION
        self.base = base
        self.base.requires_grad_(False)
        self.r = r
        self.scaling = alpha / r
        factory = {"dtype": base.weight.dtype, "device": base.weight.device}
        self.A = nn.Parameter(torch.empty(r, base.in_features, **factory))
        self.B = nn.Parameter(torch.zeros(base.out_features, r, **factory))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        update = (x @ self.A.T) @ self.B.T  # (..., d_in) x (d_in, r) -> (..., r); x (r, d_out) -> (..., d_out)
        return self.base(x) + self.scaling * update
        ### END SOLUTION

    def merge(self):
        """A new nn.Linear with weight W + (alpha / r) B A and the base bias."""
        ### BEGIN SOLUTION
        merged = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None,
                           dtype=self.base.weight.dtype, device=self.base.weight.device)
        with torch.no_grad():
            merged.weight.copy_(self.base.weight + self.scaling * self.B @ self.A)  # (d_out, r) x (r, d_in)
            if self.base.bias is not None:
                merged.bias.copy_(self.base.bias)
        return merged
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_lora_linear_init", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check that a fresh LoRALinear computes exactly its base layer and trains only A and B."""
# The base layers are built with ft.nn and seeded with ft.torch (torch reached through the course package):
# when the notebook is graded the checks run in a separate process, and the layer must live in yours.
ft.torch.manual_seed(0)
_base = ft.nn.Linear(6, 4)
_lora = LoRALinear(_base, r=2, alpha=4)
assert tuple(_lora.A.shape) == (2, 6), f"A should have shape (r, in_features) = (2, 6), got {tuple(_lora.A.shape)}"
assert tuple(_lora.B.shape) == (4, 2), f"B should have shape (out_features, r) = (4, 2), got {tuple(_lora.B.shape)}"
_x = torch.randn(3, 6)
assert torch.allclose(_lora(_x), _base(_x)), "at initialisation the LoRA layer must compute exactly the base layer (is B zero?)"
_trainable = sorted(name for name, row in ft.parameter_table(_lora).items() if row["requires_grad"])
assert _trainable == ["A", "B"], f"only A and B may be trainable, found {_trainable}"
_A_std = float(LoRALinear(ft.nn.Linear(256, 8), r=4, alpha=4).A.std())
assert 1e-3 <= _A_std <= 0.2, f"A's entries have standard deviation {_A_std:.3g} for in_features = 256: use nn.Linear's init or small normal values"
_table = ft.parameter_table(LoRALinear(ft.nn.Linear(6, 4, dtype=ft.torch.float64), r=2, alpha=4))
assert _table["A"]["dtype"] == _table["B"]["dtype"] == "float64", (
    f"A and B must take the dtype of base.weight (float64 here), got {_table['A']['dtype']} and {_table['B']['dtype']}")
### BEGIN HIDDEN TESTS
import torch

for _seed, (_d_in, _d_out, _r, _alpha, _bias, _lead) in enumerate([(6, 4, 2, 4, True, (3,)), (17, 5, 3, 1, False, (2, 7)), (1, 9, 1, 8, True, (1,)), (33, 33, 8, 16, True, (4, 1, 2))]):
    ft.torch.manual_seed(100 + _seed)
    _base = ft.nn.Linear(_d_in, _d_out, bias=_bias)
    _base_state = _base.state_dict()
    _W, _b = _base_state["weight"], _base_state.get("bias")
    _lora = LoRALinear(_base, _r, _alpha)
    _x = torch.randn(*_lead, _d_in)
    _got = _lora(_x.clone())
    _want = _x @ _W.T + (0 if _b is None else _b)
    assert _close(_got, _want), f"a fresh LoRALinear({_d_in}->{_d_out}, r={_r}) must compute the base layer"
    _A, _B = _lora.A, _lora.B
    assert tuple(_A.shape) == (_r, _d_in) and tuple(_B.shape) == (_d_out, _r), "A must be (r, in_features) and B (out_features, r)"
    assert all(v == 0.0 for v in _B.reshape(-1).tolist()), "B must start at zero"
    assert any(v != 0.0 for v in _A.reshape(-1).tolist()), "A must start random (not zero), or no gradient reaches B"
    _trainable = sorted(name for name, row in ft.parameter_table(_lora).items() if row["requires_grad"])
    assert _trainable == ["A", "B"], f"only A and B may be trainable, found {_trainable}"
    _kept = _lora.base.state_dict()
    assert set(_kept) == set(_base_state) and all(_kept[k].tolist() == _base_state[k].tolist() for k in _kept), (
        "keep the given layer, unchanged, as self.base")
# A's scale: like nn.Linear's weight (kaiming_uniform_ with a = sqrt(5): std 1 / sqrt(3 d_in)) or small normal values
ft.torch.manual_seed(150)
_A = LoRALinear(ft.nn.Linear(256, 64), 16, 16).A
_std = float(_A.double().std())
assert 1e-3 <= _std <= 3 / 256 ** 0.5, (
    f"A's entries have standard deviation {_std:.3g} for in_features = 256: initialise A like nn.Linear's weight "
    "(kaiming_uniform_ with a = sqrt(5)) or with small normal values, not N(0, 1)")
# dtype and device come from the base layer (a float32 A on the CPU is wrong for a float64 or GPU model)
for _kwargs, _what in (({"dtype": ft.torch.float64}, ("dtype", "float64")), ({"dtype": ft.torch.bfloat16}, ("dtype", "bfloat16")),
                       ({"device": "meta"}, ("device", "meta"))):
    _table = ft.parameter_table(LoRALinear(ft.nn.Linear(8, 5, **_kwargs), 2, 4))
    _key, _value = _what
    assert _table["A"][_key] == _value and _table["B"][_key] == _value, (
        f"for a base layer with {_key} {_value}, A and B must have {_key} {_value}: create them with base.weight's dtype and device")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_lora_linear_gradients", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check that back-propagation reaches A and B and leaves the base layer alone."""
# ft.backward_gradients runs the layer, back-propagates the sum of its squared outputs and returns the
# gradients as data (the graded checks cannot call backward() in your notebook's process themselves).
ft.torch.manual_seed(1)
_lora = LoRALinear(ft.nn.Linear(5, 3), r=2, alpha=2)
_grads = ft.backward_gradients(_lora, torch.randn(4, 5))["grads"]
assert _grads["base.weight"] is None, "the frozen base weight must not receive a gradient"
assert _grads["B"] is not None and _grads["B"].abs().sum() > 0, "B must receive a non-zero gradient (is A random?)"
assert _grads["A"] is not None, "A must receive a gradient (it is zero at step 0 because B = 0; that is fine)"
### BEGIN HIDDEN TESTS
import math

import torch

for _seed, (_d_in, _d_out, _r, _alpha) in enumerate([(5, 3, 2, 2), (12, 7, 4, 8), (3, 3, 1, 1)]):
    ft.torch.manual_seed(200 + _seed)
    _base = ft.nn.Linear(_d_in, _d_out)
    _lora = LoRALinear(_base, _r, _alpha)
    _before = _base.state_dict()
    _x, _y = torch.randn(6, _d_in), torch.randn(6, _d_out)
    for _step in range(3):
        _seen = ft.backward_gradients(_lora, _x, _y)
        assert _seen["output_requires_grad"], ("the output does not depend on A and B for autograd: use self.A and self.B "
                                               "as they are in forward (no .detach(), no torch.no_grad())")
        _grads = _seen["grads"]
        assert _grads["base.weight"] is None and _grads["base.bias"] is None, "no gradient may reach the base weight or bias"
        assert _grads["A"] is not None and _grads["B"] is not None, "A and B must receive gradients"
        assert any(v != 0.0 for v in _grads["B"].reshape(-1).tolist()), "B must receive a non-zero gradient"
        if _step > 0:
            assert any(v != 0.0 for v in _grads["A"].reshape(-1).tolist()), "once B has moved, A must receive a non-zero gradient"
        ft.sgd_step(_lora, 0.1)
    _after = _base.state_dict()
    assert all(_after[k].tolist() == _before[k].tolist() for k in ("weight", "bias")), "training must leave the base layer unchanged"
    _trainable = [row for row in ft.parameter_table(_lora).values() if row["requires_grad"]]
    assert sum(math.prod(row["shape"]) for row in _trainable) == _r * (_d_in + _d_out), "exactly r (d_in + d_out) numbers are trainable"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_lora_linear_scaling", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the output once B is non-zero: base output plus (alpha / r) x A^T B^T."""
ft.torch.manual_seed(2)
_base = ft.nn.Linear(4, 3)
_lora = LoRALinear(_base, r=2, alpha=8)
_state = _lora.state_dict()
_state["A"], _state["B"] = torch.ones(2, 4), torch.ones(3, 2)
_lora.load_state_dict(_state)  # A and B set to all ones
_x = torch.ones(1, 4)
_expected = _base(_x) + (8 / 2) * 8.0  # x A^T = [4, 4], then B gives 8 per output, scaled by alpha / r = 4
assert torch.allclose(_lora(_x), _expected), f"expected {_expected.tolist()}, got {_lora(_x).tolist()} (scaling alpha / r = 4)"
### BEGIN HIDDEN TESTS
import torch

for _seed, (_d_in, _d_out, _r, _alpha, _bias, _lead) in enumerate([(4, 3, 2, 8, True, (1,)), (10, 6, 3, 1, False, (5,)), (7, 11, 4, 16, True, (2, 3)), (8, 8, 8, 2, True, (6,))]):
    ft.torch.manual_seed(300 + _seed)
    _base = ft.nn.Linear(_d_in, _d_out, bias=_bias)
    _lora = LoRALinear(_base, _r, _alpha)
    _A, _B = torch.randn(_r, _d_in), torch.randn(_d_out, _r)
    _state = _lora.state_dict()
    _state["A"], _state["B"] = _A, _B
    _lora.load_state_dict(_state)
    _x = torch.randn(*_lead, _d_in)
    _got = _lora(_x.clone())
    _base_state = _base.state_dict()
    _want = _x @ _base_state["weight"].T + (_base_state["bias"] if _bias else 0) + (_alpha / _r) * (_x @ _A.T @ _B.T)
    assert _close(_got, _want), f"wrong output for d_in={_d_in}, d_out={_d_out}, r={_r}, alpha={_alpha}"
    assert abs(float(_lora.scaling) - _alpha / _r) < 1e-12, "self.scaling must be alpha / r"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_lora_linear_merge", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check that merge() gives an nn.Linear with the same outputs."""
ft.torch.manual_seed(3)
_lora = LoRALinear(ft.nn.Linear(5, 4), r=2, alpha=3)
_state = _lora.state_dict()
_state["B"] = torch.randn(4, 2)
_lora.load_state_dict(_state)  # B moved away from zero, as after some training
_x = torch.randn(7, 5)
_merged = _lora.merge()
assert ft.class_name(_merged) == "Linear", f"merge() should return an nn.Linear, got {ft.class_name(_merged)}"
assert torch.allclose(_merged(_x), _lora(_x), atol=1e-5), "the merged layer must compute the same outputs"
### BEGIN HIDDEN TESTS
import torch

for _seed, (_d_in, _d_out, _r, _alpha, _bias) in enumerate([(5, 4, 2, 3, True), (9, 2, 1, 4, False), (6, 13, 3, 12, True), (16, 16, 4, 4, True)]):
    ft.torch.manual_seed(400 + _seed)
    _base = ft.nn.Linear(_d_in, _d_out, bias=_bias)
    _lora = LoRALinear(_base, _r, _alpha)
    _A, _B = torch.randn(_r, _d_in), torch.randn(_d_out, _r)
    _state = _lora.state_dict()
    _state["A"], _state["B"] = _A, _B
    _lora.load_state_dict(_state)
    _base_state = _base.state_dict()
    _W, _b = _base_state["weight"], _base_state.get("bias")
    _x = torch.randn(3, _d_in)
    _before = _lora(_x)
    _merged = _lora.merge()
    assert ft.class_name(_merged) == "Linear", "merge() must return an nn.Linear"
    _got_merged = _merged(_x)
    _got_after = _lora(_x)
    _want_W = _W + (_alpha / _r) * _B @ _A
    _want = _x @ _want_W.T + (0 if _b is None else _b)
    assert _close(_got_merged, _want), f"the merged layer computes the wrong function (d_in={_d_in}, d_out={_d_out}, r={_r})"
    _merged_state = _merged.state_dict()
    assert _close(_merged_state["weight"], _want_W), "the merged weight must be W + (alpha / r) B A"
    assert ("bias" in _merged_state) == (_b is not None), "the merged layer keeps the base bias (or its absence)"
    assert _close(_got_after, _before), "merge() must not change what the LoRA layer itself computes"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "adapter_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5 · A bottleneck adapter
#
# An adapter (Houlsby et al., 2019) is a small module inserted into a frozen network. Houlsby et al. put
# one on the output of each attention and each feed-forward sub-layer, *before* that sub-layer's output
# is added to the residual stream: $x + \mathrm{Adapter}(\mathrm{FFN}(x))$ instead of $x + \mathrm{FFN}(x)$.
# (Pfeiffer et al., 2020, keep a single adapter per block, after the feed-forward sub-layer; both
# placements are in use.) An adapter projects its input down to a small size $b$, applies a
# non-linearity, projects back up, and adds the result to its input:
#
# $$\mathrm{Adapter}(h) = h + \mathrm{ReLU}(h W_{down}^\top + b_{down})\, W_{up}^\top + b_{up}, \qquad
#   W_{down} \in \mathbb{R}^{b \times d},\ W_{up} \in \mathbb{R}^{d \times b}.$$
#
# The residual connection matters: if the up-projection starts at **zero** (weight and bias), the adapter
# is the identity at the start and the network begins exactly where pre-training left it.
#
# Write `Adapter(d_model, bottleneck)` with two `nn.Linear` layers named `down` ($d \to b$) and `up`
# ($b \to d$), the up-projection's weight and bias set to zero, ReLU in between, and the residual.

# %% nbgrader={"grade": false, "grade_id": "adapter", "locked": false, "schema_version": 3, "solution": true, "task": false}
class Adapter(nn.Module):
    """Bottleneck adapter h + up(relu(down(h))), the identity at initialisation.

    Example: Adapter(16, 4) has 16 * 4 + 4 + 4 * 16 + 16 = 148 parameters.
    """

    def __init__(self, d_model, bottleneck):
        super().__init__()
        ### BEGIN SOLUTION
        self.down = nn.Linear(d_model, bottleneck)
        self.up = nn.Linear(bottleneck, d_model)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)
        ### END SOLUTION

    def forward(self, h):
        ### BEGIN SOLUTION
        return h + self.up(torch.relu(self.down(h)))  # (..., d) -> (..., b) -> (..., d)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_adapter", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the adapter's size, that it starts as the identity, and its output once trained."""
ft.torch.manual_seed(4)
_adapter = Adapter(16, 4)
assert count_trainable_parameters(_adapter) == 148, f"Adapter(16, 4) should have 148 parameters, got {count_trainable_parameters(_adapter)}"
_h = torch.randn(2, 5, 16)
assert torch.allclose(_adapter(_h), _h), "a fresh adapter must return its input unchanged (zero up-projection + residual)"
_state = _adapter.state_dict()
_state["up.weight"] = torch.ones(16, 4)
_adapter.load_state_dict(_state)  # W_up set to all ones
_manual = _h + torch.relu(_h @ _state["down.weight"].T + _state["down.bias"]) @ torch.ones(4, 16) + _state["up.bias"]
assert torch.allclose(_adapter(_h), _manual, atol=1e-5), "with W_up = 1 the output should be h + relu(down(h)) W_up^T + b_up"
### BEGIN HIDDEN TESTS
import math

import torch

for _seed, (_d, _b, _lead) in enumerate([(16, 4, (2, 5)), (7, 3, (1,)), (10, 1, (3, 1, 2)), (5, 12, (4,))]):
    ft.torch.manual_seed(500 + _seed)
    _adapter = Adapter(_d, _b)
    _h = torch.randn(*_lead, _d)
    _got0 = _adapter(_h.clone())
    assert _close(_got0, _h), f"Adapter({_d}, {_b}) must be the identity at initialisation"
    _table = ft.parameter_table(_adapter)
    _n = sum(math.prod(row["shape"]) for row in _table.values() if row["requires_grad"])
    assert _n == 2 * _d * _b + _d + _b, f"Adapter({_d}, {_b}) must have 2 d b + d + b trainable parameters"
    assert ft.class_name(_adapter.down) == "Linear" and ft.class_name(_adapter.up) == "Linear", "use nn.Linear layers named down and up"
    assert (_adapter.down.in_features, _adapter.down.out_features, _adapter.up.in_features, _adapter.up.out_features) == (_d, _b, _b, _d), "down maps d -> b and up maps b -> d"
    _state = _adapter.state_dict()
    _state["up.weight"], _state["up.bias"] = torch.randn(_d, _b), torch.randn(_d)
    _adapter.load_state_dict(_state)
    _got = _adapter(_h.clone())
    _want = _h + torch.clamp(_h @ _state["down.weight"].T + _state["down.bias"], min=0.0) @ _state["up.weight"].T + _state["up.bias"]
    assert _close(_got, _want), f"Adapter({_d}, {_b}) computes the wrong function once the up-projection is non-zero"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "prefix_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6 · Prefix-tuning: extra keys and values
#
# Prefix-tuning (Li and Liang, 2021) leaves every weight of the network frozen and instead learns, for
# each attention layer, $p$ extra **key** vectors $P_k \in \mathbb{R}^{p \times d_k}$ and **value** vectors
# $P_v \in \mathbb{R}^{p \times d_v}$ that are put in front of the keys and values the tokens produce.
# Every token can attend to these "virtual tokens" as if a prompt preceded the input, but they are free
# vectors, not embeddings of real words. The queries still come only from the real tokens, so the
# output keeps one row per token:
#
# $$Q = X W_q,\quad K = \begin{bmatrix} P_k \\ X W_k \end{bmatrix},\quad V = \begin{bmatrix} P_v \\ X W_v \end{bmatrix},\quad
#   \mathrm{out} = \mathrm{softmax}\!\Big(\frac{Q K^\top}{\sqrt{d_k}}\Big) V .$$
#
# Write `prefix_attention(X, W_q, W_k, W_v, P_k, P_v)` for torch tensors $X$ of shape $(n, d)$,
# $W_q, W_k$ of shape $(d, d_k)$, $W_v$ of shape $(d, d_v)$, $P_k$ of shape $(p, d_k)$ and $P_v$ of shape
# $(p, d_v)$. Return `(output, weights)` with shapes $(n, d_v)$ and $(n, p + n)$, the prefix columns
# first. No mask; $p = 0$ must give ordinary self-attention.

# %% nbgrader={"grade": false, "grade_id": "prefix_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def prefix_attention(X, W_q, W_k, W_v, P_k, P_v):
    """Single-head self-attention whose keys and values are preceded by learned prefixes.

    Example: with p = 2 prefix vectors and n = 3 tokens, weights has shape (3, 5) and
    weights[:, :2] is how much each token reads from the prefix.
    """
    ### BEGIN SOLUTION
    Q = X @ W_q  # (n, d) x (d, d_k) -> (n, d_k)
    K = torch.cat([P_k, X @ W_k], dim=0)  # (p + n, d_k)
    V = torch.cat([P_v, X @ W_v], dim=0)  # (p + n, d_v)
    scores = Q @ K.T / math.sqrt(Q.shape[-1])  # (n, d_k) x (d_k, p + n) -> (n, p + n)
    weights = torch.softmax(scores, dim=-1)
    return weights @ V, weights  # (n, p + n) x (p + n, d_v) -> (n, d_v)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_prefix_attention", "locked": true, "points": 3.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check prefix attention on a small example: shapes, rows summing to one, and p = 0."""
torch.manual_seed(5)
_X, _Wq, _Wk, _Wv = torch.randn(3, 4), torch.randn(4, 2), torch.randn(4, 2), torch.randn(4, 5)
_Pk, _Pv = torch.randn(2, 2), torch.randn(2, 5)
_out, _w = prefix_attention(_X, _Wq, _Wk, _Wv, _Pk, _Pv)
assert tuple(_out.shape) == (3, 5), f"expected an output of shape (n, d_v) = (3, 5), got {tuple(_out.shape)}"
assert tuple(_w.shape) == (3, 5), f"expected weights of shape (n, p + n) = (3, 5), got {tuple(_w.shape)}"
assert torch.allclose(_w.sum(dim=-1), torch.ones(3)), f"each row of weights must sum to 1, got {_w.sum(dim=-1).tolist()}"
_out0, _w0 = prefix_attention(_X, _Wq, _Wk, _Wv, torch.zeros(0, 2), torch.zeros(0, 5))
_plain = torch.softmax((_X @ _Wq) @ (_X @ _Wk).T / 2 ** 0.5, dim=-1) @ (_X @ _Wv)
assert torch.allclose(_out0, _plain, atol=1e-5), "with an empty prefix the result must be ordinary self-attention"
### BEGIN HIDDEN TESTS
import math

import torch
import torch.nn.functional as F


def _reference(X, W_q, W_k, W_v, P_k, P_v):
    Q = (X @ W_q).tolist()
    K = P_k.tolist() + (X @ W_k).tolist()
    V = P_v.tolist() + (X @ W_v).tolist()
    d_k = W_q.shape[1]
    out, weights = [], []
    for q in Q:
        s = [sum(a * b for a, b in zip(q, k)) / math.sqrt(d_k) for k in K]
        top = max(s)
        e = [math.exp(v - top) for v in s]
        z = sum(e)
        w = [v / z for v in e]
        weights.append(w)
        out.append([sum(w[j] * V[j][c] for j in range(len(V))) for c in range(len(V[0]))])
    return torch.tensor(out), torch.tensor(weights)


for _seed, (_n, _d, _dk, _dv, _p) in enumerate([(3, 4, 2, 5, 2), (1, 3, 3, 3, 1), (6, 5, 7, 2, 4), (4, 8, 3, 3, 0), (2, 6, 4, 1, 9)]):
    _g = torch.Generator().manual_seed(600 + _seed)
    _X, _Wq, _Wk, _Wv = (torch.randn(*s, generator=_g) for s in ((_n, _d), (_d, _dk), (_d, _dk), (_d, _dv)))
    _Pk, _Pv = torch.randn(_p, _dk, generator=_g) * 2, torch.randn(_p, _dv, generator=_g)
    _out, _w = prefix_attention(_X.clone(), _Wq.clone(), _Wk.clone(), _Wv.clone(), _Pk.clone(), _Pv.clone())
    _ref_out, _ref_w = _reference(_X, _Wq, _Wk, _Wv, _Pk, _Pv)
    assert _close(_w, _ref_w), f"wrong weights for n={_n}, d={_d}, d_k={_dk}, d_v={_dv}, p={_p}"
    assert _close(_out, _ref_out), f"wrong output for n={_n}, d={_d}, d_k={_dk}, d_v={_dv}, p={_p}"
    _K = torch.cat([_Pk, _X @ _Wk])
    _V = torch.cat([_Pv, _X @ _Wv])
    _torch_out = F.scaled_dot_product_attention((_X @ _Wq)[None], _K[None], _V[None])[0]
    assert _close(_out, _torch_out), "the output disagrees with torch's scaled_dot_product_attention over [P_k; X W_k], [P_v; X W_v]"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "prompt_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 6.1 · Prompt tuning: trainable vectors at the input
#
# Prompt tuning (Lester et al., 2021) is the cheapest relative of prefix-tuning: it learns $p$ vectors
# $P \in \mathbb{R}^{p \times d}$ in the **input embedding** space and puts them in front of the token
# embeddings of every sequence, once, at the bottom of the network; every layer then processes them like
# tokens with its frozen weights. Prefix-tuning instead gives every layer its own keys and values. For a
# batch of token embeddings $E \in \mathbb{R}^{B \times T \times d}$ the model reads
# $[P; E_b] \in \mathbb{R}^{(p + T) \times d}$ for each sequence $b$; with absolute positional
# embeddings the prompt takes positions $0, \dots, p-1$ and the tokens $p, \dots, p + T - 1$, so the model's
# context must hold $p + T$ positions.
#
# Two slips are common. The prompt goes *in front of* the tokens: in a causal model (like the GPT of
# section 10) a prompt appended after the tokens is never seen by them, so it cannot change their hidden
# states. And the prompt adds $p$ *positions*; it is not added to the first $p$ token embeddings.
#
# Write `prepend_prompt(embeddings, prompt)`: `embeddings` of shape $(B, T, d)$, `prompt` of shape
# $(p, d)$, returning the $(B, p + T, d)$ tensor with the same prompt in front of every sequence.
# The experiment of section 10 passes **your** `prepend_prompt` to `tfscourse.finetune.add_prompt`.

# %% nbgrader={"grade": false, "grade_id": "prepend_prompt", "locked": false, "schema_version": 3, "solution": true, "task": false}
def prepend_prompt(embeddings, prompt):
    """(B, T, d) token embeddings and a (p, d) prompt -> (B, p + T, d), the prompt in front of every sequence.

    Example: embeddings of shape (2, 3, 4) and a prompt of shape (5, 4) give shape (2, 8, 4).
    """
    ### BEGIN SOLUTION
    B = embeddings.shape[0]
    return torch.cat([prompt.unsqueeze(0).expand(B, -1, -1), embeddings], dim=1)  # (B, p, d) + (B, T, d) -> (B, p + T, d)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_prepend_prompt", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check prepend_prompt on a batch of two sequences of three tokens and a one-vector prompt."""
_emb = torch.arange(12, dtype=torch.float32).reshape(2, 3, 2)
_prompt = torch.tensor([[-1.0, -2.0]])
_out = prepend_prompt(_emb, _prompt)
assert tuple(_out.shape) == (2, 4, 2), f"expected shape (B, p + T, d) = (2, 4, 2), got {tuple(_out.shape)}: the prompt adds p positions"
assert torch.equal(_out[:, 0], _prompt.expand(2, 2)), "every sequence must start with the prompt (prompt first, then the tokens)"
assert torch.equal(_out[:, 1:], _emb), "after the prompt come the token embeddings, unchanged and in order"
### BEGIN HIDDEN TESTS
import torch

for _seed, (_B, _T, _p, _d) in enumerate([(1, 5, 3, 4), (3, 2, 6, 8), (2, 4, 0, 3), (4, 1, 1, 1), (2, 3, 2, 5)]):
    _g = torch.Generator().manual_seed(700 + _seed)
    _e, _pr = torch.randn(_B, _T, _d, generator=_g), torch.randn(_p, _d, generator=_g)
    _got = prepend_prompt(_e.clone(), _pr.clone())
    assert tuple(_got.shape) == (_B, _p + _T, _d), f"wrong shape for B={_B}, T={_T}, p={_p}, d={_d}"
    _want = torch.tensor([_pr.tolist() + _e[b].tolist() for b in range(_B)]).reshape(_B, _p + _T, _d)
    assert _close(_got, _want), f"wrong values for B={_B}, T={_T}, p={_p}, d={_d}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "layer_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 7 · What each method changes inside one layer
#
# The PEFT handout gives a tiny encoder layer: three tokens *hello*, *world*, *!* with 3-dimensional
# vectors, single-head attention with $W_q, W_k, W_v$, a ReLU feed-forward layer $W_1, W_2$, no biases
# and no layer normalisation. With the row-vector convention ($Q = X W_q$) and residual connections,
#
# $$Z = \mathrm{softmax}\!\Big(\frac{(X W_q)(X W_k)^\top}{\sqrt 3}\Big) X W_v,\qquad H = X + Z,\qquad
#   \mathrm{out} = H + \mathrm{ReLU}(H W_1)\, W_2 .$$
#
# The cell below computes the layer with **your** `prefix_attention` (an empty prefix is plain attention)
# and compares it with the handout's worked answer. The handout's numbers agree with ours only to about
# $10^{-3}$ (e.g. 14.9026 against 14.9017): it rounded intermediate results to four decimals.
# Then it applies each method in turn:
#
# 1. **LoRA** on $W_q, W_k, W_v$ (rank 1, $\alpha = 1$): at initialisation nothing changes; after
#    "training" (here: given values for $A$ and $B$) each projection becomes $W + \frac{\alpha}{r}(BA)^\top$
#    in the row convention. Merged or not, the numbers are the same.
# 2. **Prefix-tuning** with $p = 2$ prefix keys and values: every token now spreads its attention over
#    five positions, two of which are the prefix.
# 3. **A bottleneck adapter** ($d = 3$, $b = 1$) on the feed-forward sub-layer, placed as Houlsby et al. do:
#    the feed-forward output $F = \mathrm{ReLU}(H W_1) W_2$ is replaced by
#    $\mathrm{Adapter}(F) = F + \mathrm{ReLU}(F W_{down}^\top + b_{down}) W_{up}^\top + b_{up}$ before the residual
#    sum, so $\mathrm{out} = H + \mathrm{Adapter}(F)$; at initialisation the adapter is the identity.
#
# The widget at the end shows the attention weights of the plain, LoRA and prefix versions side by side
# (the adapter leaves attention alone). The plain and LoRA layers have no prefix, so their prefix
# columns are hatched: not zero weight, no such key. Hover over a token to compare its row in the three.

# %% nbgrader={"grade": false, "grade_id": "layer_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
torch.set_printoptions(precision=4, sci_mode=False)
tokens_003 = ["hello", "world", "!"]
X_003 = torch.tensor([[0.8109, -0.9391, 0.2519], [2.1968, 0.4785, 1.5207], [-0.3264, 0.1585, 0.8469]])
W_q_003 = torch.tensor([[0.8571, 0.1942, -1.1185], [1.6184, -0.2665, -0.9808], [-1.2820, -0.1892, 0.7269]])
W_k_003 = torch.tensor([[0.2176, -0.2462, 0.0557], [0.6926, -2.0236, -0.2968], [-0.6658, -2.5785, -0.4534]])
W_v_003 = torch.tensor([[-0.2016, 1.4234, -0.1733], [1.3098, -0.4815, 0.0123], [0.1350, 0.3998, 0.4573]])
W_1_003 = torch.tensor([[0.5325, 0.7081, -1.1454], [0.5511, 0.6274, -0.8078], [1.0224, 0.4148, -0.4800]])
W_2_003 = torch.tensor([[-1.3081, 1.9878, 2.6332], [2.6049, 0.9369, -0.9614], [0.2293, 0.3262, 0.7968]])
handout_output_003 = torch.tensor([[0.5448, 2.3451, 1.7216], [6.6879, 14.9026, 9.7301], [0.5152, 7.0498, 4.9465]])


def encoder_layer_003(X, W_q, W_k, W_v, P_k=None, P_v=None, adapter=None):
    """The handout's encoder layer (residuals, no norm, no bias); optional prefix and adapter."""
    if P_k is None:
        P_k, P_v = X.new_zeros(0, W_k.shape[1]), X.new_zeros(0, W_v.shape[1])
    Z, weights = prefix_attention(X, W_q, W_k, W_v, P_k, P_v)  # (n, d), (n, p + n)
    H = X + Z
    ffn = torch.relu(H @ W_1_003) @ W_2_003  # (n, d) x (d, d) -> (n, d)
    if adapter is not None:
        ffn = adapter(ffn)  # Houlsby et al.: on the sub-layer's output, before the residual sum
    return H + ffn, weights


def as_linear(W):
    """An nn.Linear (no bias) computing X @ W, i.e. with weight W^T."""
    layer = nn.Linear(W.shape[0], W.shape[1], bias=False)
    with torch.no_grad():
        layer.weight.copy_(W.T)
    return layer


with torch.no_grad():
    plain_out, plain_w = encoder_layer_003(X_003, W_q_003, W_k_003, W_v_003)
    print("plain layer output:\n", plain_out)
    print("largest difference from the handout's answer:", float((plain_out - handout_output_003).abs().max()))

    # 1. LoRA on W_q, W_k, W_v
    torch.manual_seed(0)
    loras = [LoRALinear(as_linear(W), r=1, alpha=1) for W in (W_q_003, W_k_003, W_v_003)]
    at_init = encoder_layer_003(X_003, *[lo.merge().weight.T for lo in loras])[0]
    print("\nLoRA at initialisation changes the output by", float((at_init - plain_out).abs().max()))
    for lo, a, b in zip(loras, ([1.0, 0.0, -1.0], [0.5, 0.5, 0.0], [0.0, 1.0, 1.0]), ([0.2, 0.0, -0.1], [0.0, 0.3, 0.0], [0.1, 0.1, 0.1])):
        lo.A.copy_(torch.tensor([a]))
        lo.B.copy_(torch.tensor(b)[:, None])
    lora_out, lora_w = encoder_layer_003(X_003, *[lo.merge().weight.T for lo in loras])
    unmerged_Q = loras[0](X_003)
    print("LoRA after training: output\n", lora_out)
    print("merged and unmerged W_q give the same queries:", bool(torch.allclose(unmerged_Q, X_003 @ loras[0].merge().weight.T, atol=1e-6)))

    # 2. prefix-tuning with two virtual tokens
    P_k_003 = torch.tensor([[1.0, -1.0, 0.5], [-0.5, 0.0, 1.0]])
    P_v_003 = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, -1.0]])
    prefix_out, prefix_w = encoder_layer_003(X_003, W_q_003, W_k_003, W_v_003, P_k_003, P_v_003)
    print("\nprefix-tuning: attention weights (columns: prefix 1, prefix 2, hello, world, !)\n", prefix_w)
    print("output\n", prefix_out)

    # 3. a bottleneck adapter on the feed-forward sub-layer's output (before the residual sum)
    torch.manual_seed(0)
    adapter_003 = Adapter(3, 1)
    print("\nadapter at initialisation changes the output by",
          float((encoder_layer_003(X_003, W_q_003, W_k_003, W_v_003, adapter=adapter_003)[0] - plain_out).abs().max()))
    adapter_003.down.weight.copy_(torch.tensor([[0.2, 0.1, -0.1]]))
    adapter_003.down.bias.zero_()
    adapter_003.up.weight.copy_(torch.tensor([[0.1], [-0.2], [0.05]]))
    print("adapter after training: output\n", encoder_layer_003(X_003, W_q_003, W_k_003, W_v_003, adapter=adapter_003)[0])

from tfscourse.widgets import AttentionMap, show_attention

# The three variants as one map of three matrices, over the prefix-tuned layer's keys: the plain and
# LoRA layers have no prefix keys, so those two columns are masked (hatched), not zero.
no_prefix = torch.zeros(len(tokens_003), 2)  # (n, p)
variant_weights = torch.stack([torch.cat([no_prefix, plain_w], dim=1), torch.cat([no_prefix, lora_w], dim=1), prefix_w])
variant_mask = torch.ones_like(variant_weights, dtype=torch.bool)  # (3, n, p + n): True = a key exists
variant_mask[:2, :, :2] = False
layer_explorer = show_attention(
    {"plain, LoRA and prefix-tuning": AttentionMap(
        variant_weights.numpy(), tokens_003, ["P1", "P2"] + tokens_003, mask=variant_mask.numpy(),
        head_names=["plain attention", "LoRA on W_q, W_k, W_v", "prefix-tuning (2 virtual tokens)"])},
    title="Seed-003 encoder layer",
)


# %% [markdown] nbgrader={"grade": true, "grade_id": "layer_changes", "locked": false, "points": 3.0, "schema_version": 3, "solution": true, "task": false}
# **Question 7.1.** For this layer, say precisely what changes in the computation (which matrices or
# vectors are added, which shapes change, which numbers are trained, what happens at inference) when you
# apply (a) prefix-tuning, (b) a bottleneck adapter on the feed-forward sub-layer, (c) LoRA on
# $W_q, W_k, W_v$.
#
# ### BEGIN SOLUTION
# (a) *Prefix-tuning:* $p$ trained vectors are prepended to the keys and to the values:
# $K = [P_k; XW_k] \in \mathbb{R}^{(p+3) \times 3}$, $V = [P_v; XW_v]$; the queries are unchanged, the score
# matrix grows from $3 \times 3$ to $3 \times (p+3)$ and each token's attention mass is shared with the
# prefix, so $Z$ (and everything after it) changes. Trained: $2 \cdot p \cdot 3$ numbers per layer; at
# inference the prefix makes every attention call a little longer (and uses up context).
# (b) *Adapter:* attention and feed-forward are untouched; the feed-forward output $F$ goes through
# $F \mapsto F + \mathrm{ReLU}(F W_{down}^\top + b_{down}) W_{up}^\top + b_{up}$ before it is added to $H$, with
# $W_{down} \in \mathbb{R}^{b \times 3}$, $W_{up} \in \mathbb{R}^{3 \times b}$. Trained: $2 \cdot 3b + b + 3$
# numbers; at inference it is an extra, sequential layer (a little more latency), and it cannot be merged
# because of the non-linearity.
# (c) *LoRA:* each projection $X W$ becomes $X W + \frac{\alpha}{r} X A^\top B^\top$, i.e. the weight becomes
# $W + \frac{\alpha}{r}(BA)^\top$ (row convention); with $r = 1$ that is $3 + 3 = 6$ trained numbers per
# matrix instead of 9. Shapes of $Q, K, V$ and of the scores are unchanged; at initialisation ($B = 0$) the
# layer computes exactly the original numbers; after training the update can be merged into $W_q, W_k, W_v$,
# so inference costs exactly what the original layer costs.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "head_count_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 8 · Counting parameters: check the handout's claims
#
# One of the handouts fine-tunes a model with hidden size $d$ on a yes/no task (2 labels) and reports:
#
# * **head-only fine-tuning** trains "$2d + 2$" parameters;
# * **prefix-tuning** "that appends trainable prefix embeddings of length 128" trains "$130d + 2$".
#
# Write `head_only_param_count(d, num_labels)`: the parameters of a single linear classification head
# (weights and biases) on top of a frozen model with hidden size $d$.
#
# Then write `prefix_tuning_param_count(d, prefix_len, num_layers, num_labels)`: prefix-tuning as in
# section 6 (Li and Liang), where **every** one of the `num_layers` attention layers gets its own
# `prefix_len` key vectors and `prefix_len` value vectors of size $d$ (count the prefixes of all heads
# together: a layer's keys have size $d$ in total), plus the same linear head, which is trained too.

# %% nbgrader={"grade": false, "grade_id": "head_only_param_count", "locked": false, "schema_version": 3, "solution": true, "task": false}
def head_only_param_count(d, num_labels):
    """Weights and biases of a linear head from hidden size d to num_labels. Example: (768, 2) -> 1538."""
    ### BEGIN SOLUTION
    return d * num_labels + num_labels
    ### END SOLUTION


def prefix_tuning_param_count(d, prefix_len, num_layers, num_labels):
    """Prefix keys and values of every layer plus the linear head. Example: (4, 1, 1, 2) -> 8 + 10 = 18."""
    ### BEGIN SOLUTION
    return 2 * num_layers * prefix_len * d + head_only_param_count(d, num_labels)
    ### END SOLUTION


print("head only, d = 768, 2 labels:", head_only_param_count(768, 2))
print("prefix-tuning, d = 768, 128 vectors, 12 layers, 2 labels:", prefix_tuning_param_count(768, 128, 12, 2))

# %% nbgrader={"grade": true, "grade_id": "test_head_only_param_count", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the head's parameter count on two small cases."""
assert head_only_param_count(4, 2) == 10, f"d = 4, 2 labels: 8 weights + 2 biases = 10, got {head_only_param_count(4, 2)}"
assert head_only_param_count(5, 3) == 18, f"d = 5, 3 labels: 15 weights + 3 biases = 18, got {head_only_param_count(5, 3)}"
### BEGIN HIDDEN TESTS
import random

import torch
from torch import nn

_rng = random.Random(8)
for _ in range(8):
    _d, _L = _rng.randint(1, 2048), _rng.randint(1, 50)
    _got = head_only_param_count(_d, _L)
    _want = sum(p.numel() for p in nn.Linear(_d, _L).parameters())
    assert int(_got) == _got and int(_got) == _want, f"wrong count for d={_d}, num_labels={_L}"
assert head_only_param_count(768, 2) == 2 * 768 + 2
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_prefix_tuning_param_count", "locked": true, "points": 2.0, "schema_version": 3, "solution": false, "task": false} tags=["judge"]
"""Check the prefix-tuning count on a small case."""
assert prefix_tuning_param_count(4, 1, 1, 2) == 18, f"one layer, one key and one value of size 4, head 4 * 2 + 2: 18, got {prefix_tuning_param_count(4, 1, 1, 2)}"
### BEGIN HIDDEN TESTS
import random

_rng = random.Random(9)
for _ in range(8):
    _d, _p, _n, _L = _rng.randint(1, 1024), _rng.randint(1, 200), _rng.randint(1, 48), _rng.randint(1, 10)
    _got = prefix_tuning_param_count(_d, _p, _n, _L)
    _want = 2 * _n * _p * _d + _d * _L + _L
    assert int(_got) == _got and int(_got) == _want, f"wrong count for d={_d}, prefix_len={_p}, num_layers={_n}, num_labels={_L}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": true, "grade_id": "handout_counts", "locked": false, "points": 2.0, "schema_version": 3, "solution": true, "task": false}
# **Question 8.1.** Are the handout's "$2d + 2$" and "$130d + 2$" right? Say under which reading each holds,
# and give the correct count for prefix-tuning with 128 vectors on a 12-layer model (e.g. BERT-base).
#
# ### BEGIN SOLUTION
# "$2d + 2$" is right for 2 labels and a single linear head: $2d$ weights (one row of $d$ per label, not
# "2d for the number of labels") plus 2 biases; in general it is $d \cdot L + L$. It is wrong if the head
# has more layers (RoBERTa's classification head adds a $d \times d$ dense layer: $d^2 + 3d + 2$).
# "$130d + 2$" $= 128d + (2d + 2)$ counts **one** set of 128 vectors at the input (prompt tuning: trainable
# embeddings put in front of the word embeddings) plus the head. Prefix-tuning in the sense of Li and Liang
# (and of the PEFT library) trains keys **and** values in **every** layer: $2 \cdot 12 \cdot 128\, d + 2d + 2
# = 3074d + 2$ for a 12-layer model, i.e. $\approx 2.4$M parameters for $d = 768$ instead of the handout's
# $\approx 100$k (and more during training if the prefixes are produced by a re-parametrisation MLP).
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": true, "grade_id": "peft_basics", "locked": false, "points": 3.0, "schema_version": 3, "solution": true, "task": false}
# ## 9 · Parameter-efficient fine-tuning: the big picture
#
# **Question 9.1.** (a) What is the core idea of parameter-efficient fine-tuning (PEFT)? (b) What are its
# main advantages? (c) What are its possible disadvantages?
#
# ### BEGIN SOLUTION
# (a) Keep the pre-trained weights frozen and train only a small number of new or selected parameters
# (low-rank updates, inserted adapter layers, prefix vectors, biases, a head), usually well under 1% of
# the model, that steer the frozen model towards the task.
# (b) Much less memory for training (no gradients or optimiser states for the frozen weights), a tiny
# file per task (one shared base model serves many tasks; modules can be swapped or combined, e.g. MAD-X
# language + task adapters), less overfitting and less catastrophic forgetting on small data because the
# base stays intact, and often accuracy close to full fine-tuning.
# (c) Sometimes lower accuracy than full fine-tuning, especially for tasks far from pre-training or with
# much data; extra hyper-parameters (rank, bottleneck size, prefix length, where to insert, larger
# learning rates) and sensitivity to them (prefix-tuning in particular is unstable); some methods add
# inference cost (adapters' extra layers, prefixes lengthen every attention call and take context);
# forward and backward still go through the whole model, so training compute and activation memory
# shrink much less than parameter memory.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": true, "grade_id": "peft_comparison", "locked": false, "points": 3.0, "schema_version": 3, "solution": true, "task": false}
# **Question 9.2.** Compare LoRA, prefix-tuning and adapters along three dimensions: *modelling* (how are
# the frozen model's representations changed?), *implementation and ease of use*, and *inference*.
#
# ### BEGIN SOLUTION
# *Modelling.* LoRA adds a low-rank term to chosen weight matrices, so it changes the linear maps
# themselves ($h = x(W + \frac{\alpha}{r}BA)^\top$), in parallel to the frozen path. Prefix-tuning changes
# no weight: it adds virtual key/value positions, so it changes the hidden states only through what
# attention reads (each head's output becomes a mix of the original output and a learned prefix
# direction). Adapters add a small non-linear function in series after sub-layers, modifying the hidden
# states directly through a residual bottleneck.
# *Implementation / ease of use.* LoRA: wrap selected `nn.Linear` layers, few hyper-parameters (r,
# alpha, targets), robust; widely supported. Prefix-tuning: needs access to each attention's keys and
# values (custom attention code, masks, position handling), is sensitive to initialisation and learning
# rate (often a re-parametrisation MLP is used) and consumes context length. Adapters: insert modules
# into every block (needs changing the model's forward), simple and stable to train, easy to stack or
# compose (e.g. language and task adapters).
# *Inference.* LoRA can be merged into the weights: zero extra latency (but then one task per merged
# copy; unmerged, many tasks can share a batch at small cost). Prefix-tuning: no extra weights, but every
# attention call sees $p$ more keys/values (more compute and memory, shorter usable context). Adapters:
# extra sequential layers in every block, cannot be merged, adding latency especially at small batch sizes.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "experiment_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 10 · Experiment: one pre-trained GPT, six ways to fine-tune it
#
# **The model.** A small GPT from notebook 06 (the course package's reference copy,
# `tfscourse.unlocked.gpt`, which you get once notebook 06's deadline has passed), pre-trained by
# next-token prediction on the Python language reference that ships with every Python installation.
# To keep it cheap, its tokens are lower-cased words, numbers and punctuation marks (a vocabulary of
# the 2,047 most frequent ones plus `<unk>`, which covers about 98.5% of the pre-training text), and it
# has 2 layers of width 64 and a context of 40 tokens. The first run pre-trains it for 2,000 steps (two
# to four minutes on a busy 2-core machine; an earlier version with 600 steps learned too little to help
# the task) and caches the weights under `~/.cache/tfscourse`; later runs load them. Pre-training is deterministic:
# the same settings give the same weights.
#
# **The task.** *Which part of the Python reference does a passage come from?* Passages of 32 tokens
# (a sentence or two) are cut from four topics: the `pdb` **debugger**, the **format-string**
# mini-language, the **string methods** and the **special method names** of the data model. 64 passages
# per topic are held out for testing, and these test passages are **removed from the pre-training
# text**, so the model has never seen them. Of the other passages, 8 per topic form a *validation* set
# and 64 per topic a pool from which the labelled training passages are drawn: only 16 per topic in the
# comparison below (labels are scarce, as in the tweets scenario), from 4 to 64 per topic in the
# learning curve of section 10.1. Guessing gives 25%. Two topics are about strings, so the task is not
# trivial.
#
# **Six ways** (plus a control):
# * *full*: every weight of the GPT and a new linear head are trained;
# * *head only*: the GPT is frozen, only the head ($d \cdot 4 + 4$ numbers) is trained;
# * *LoRA*: **your** `LoRALinear` (rank 4, $\alpha = 8$) wraps the attention projections `c_attn` and
#   `c_proj` of every block; LoRA matrices and head are trained;
# * *adapters*: **your** `Adapter` (bottleneck 8) on the output of every attention and every feed-forward
#   sub-layer, before the residual sum (Houlsby et al.'s placement, `tfscourse.finetune.add_adapters`);
#   adapters and head are trained;
# * *prefix*: 8 trainable key and value vectors per head and layer (the multi-head version of your
#   `prefix_attention`, in `tfscourse.finetune.PrefixCausalSelfAttention`), plus the head;
# * *prompt* (prompt tuning, Lester et al., 2021): 8 trainable vectors in the *input* embedding space,
#   put in front of every passage's token embeddings by **your** `prepend_prompt`
#   (`tfscourse.finetune.add_prompt`); they receive
#   positional embeddings 0-7 and the passage 8-39, which is why the GPT's context is 40 and not 32. Unlike
#   prefix-tuning, which adds keys and values in every layer, the prompt enters once, at the bottom,
#   and every layer reads it only through the frozen weights. The prompt vectors start as copies of the
#   embeddings of 8 random frequent words; prompt and head are trained. The classifier averages the
#   passage positions only;
# * *no pre-training* (control): the same network from random weights, fully trained.
#
# **How it is measured** (`tfscourse.finetune.compare_methods`). For each method the first seed tries
# two learning rates (full fine-tuning and the control: $3\cdot 10^{-4}$ and $10^{-3}$; the frozen-body
# methods, which start new parameters from zero or small values: $3\cdot 10^{-3}$ and $10^{-2}$), and the
# one with the better validation accuracy is kept; the test passages play no part in that choice. Each
# method is then trained with its learning rate for three seeds (the seed decides which labelled
# passages are drawn, the new parameters' initial values and the order of the batches; 100 steps of
# batch 32 each), and the table gives the mean test accuracy and the standard deviation over the seeds.
#
# The classifier reads the mean of the GPT's last hidden states. Trainable parameters are counted with
# **your** `count_trainable_parameters`. When the notebook is graded, everything shrinks to a few seconds
# (a tiny model, few steps, one seed): the numbers then mean nothing.

# %% nbgrader={"grade": false, "grade_id": "experiment_data", "locked": true, "schema_version": 3, "solution": false, "task": false}
experiment = ft.ExperimentConfig.quick() if tfscourse.grading_mode() else ft.ExperimentConfig()
topic_data = ft.topic_passages(experiment)
print(f"{len(topic_data.train_y)} training and {len(topic_data.test_y)} test passages, labels {topic_data.labels}")
for label in range(len(topic_data.labels)):
    example = topic_data.train_text[int((topic_data.train_y == label).nonzero()[0])]
    print(f"  {topic_data.labels[label]:>15}: {example}")
pretrained = ft.pretrained_gpt(experiment)
prompt = topic_data.vocab.encode(ft.tokenize("the debugger"))[None]  # (1, 2) token ids
print("greedy continuation of 'the debugger':", topic_data.vocab.decode(pretrained.generate(prompt, 20, temperature=0)[0]))

# %% nbgrader={"grade": false, "grade_id": "experiment_run", "locked": true, "schema_version": 3, "solution": false, "task": false}
import time

start = time.perf_counter()
# ft.compare_methods: validation split, learning rate per method from the first seed, then every seed
summary = ft.compare_methods(pretrained, topic_data, experiment, lora_cls=LoRALinear, adapter_cls=Adapter,
                             prepend=prepend_prompt, count=count_trainable_parameters)
n_test = len(topic_data.test_y)
print(f"{experiment.labels_per_class} labelled training passages per topic, {experiment.val_per_class} per topic for "
      f"validation, {n_test} test passages; seeds {list(experiment.finetune_seeds)}; learning rates tried: "
      f"{list(experiment.full_lrs)} (full, no pre-training), {list(experiment.peft_lrs)} (frozen body)")
print(ft.summary_table(summary))
print(f"one run's test accuracy near 0.8 has a binomial standard error of about {(0.8 * 0.2 / n_test) ** 0.5:.3f}; "
      f"{sum(len(s.val_accuracy) + len(s.test_accuracies) - 1 for s in summary.values())} runs in {time.perf_counter() - start:.0f} s")
print("head-only count from your formula:", head_only_param_count(experiment.n_embd, len(topic_data.labels)),
      "| counted in the model:", summary["head only"].trainable)

fig, ax = plt.subplots(figsize=(6.5, 4))
for method, s in summary.items():
    ax.errorbar(s.trainable, s.mean, yerr=s.sd, fmt="x" if method == "no pre-training" else "o", capsize=4, markersize=7)
    ax.annotate(method, (s.trainable, s.mean), textcoords="offset points",
                xytext=(7, -12 if method in ("LoRA", "prompt", "no pre-training") else 5))
ax.axhline(1 / len(topic_data.labels), color="gray", linestyle="--", label="chance")
ax.set(xscale="log", xlabel="trainable parameters (log scale)", ylabel="test accuracy (mean ± sd over seeds)", ylim=(0, 1),
       title=f"{experiment.labels_per_class} labels per topic, {len(experiment.finetune_seeds)} seeds")
ax.legend(loc="lower right")
plt.tight_layout()
plt.show()

# %% [markdown] nbgrader={"grade": false, "grade_id": "curve_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 10.1 · How many labels does pre-training save?
#
# One number of labels says little about *when* pre-training pays. The cell below trains full
# fine-tuning, head only and the control from scratch with 4, 8, 16, 32 and 64 labelled passages per
# topic (drawn anew for every seed from the same pool, the validation passages excluded), each with the
# learning rate chosen above and the same number of steps, over the same three seeds. At 16 per topic it
# reuses the runs of the table above (same seeds, same rates: the same runs). It took 65 s and 98 s in two
# runs on a busy 2-core machine.

# %% nbgrader={"grade": false, "grade_id": "curve_run", "locked": true, "schema_version": 3, "solution": false, "task": false}
start = time.perf_counter()
curve = ft.learning_curve(pretrained, topic_data, experiment, {m: s.lr for m, s in summary.items()}, known=summary)
print(f"test accuracy, mean ± sd over seeds {list(experiment.finetune_seeds)} ({time.perf_counter() - start:.0f} s)")
print(ft.curve_table(curve))

fig, ax = plt.subplots(figsize=(6.5, 4))
for method, row in curve.items():
    counts = list(row)
    means, sds = zip(*(ft.mean_sd(row[k]) for k in counts))
    ax.errorbar(counts, means, yerr=sds, marker="x" if method == "no pre-training" else "o", capsize=4, label=method)
ax.axhline(1 / len(topic_data.labels), color="gray", linestyle="--", label="chance")
ax.set(xscale="log", xticks=list(experiment.curve_counts), xticklabels=[str(k) for k in experiment.curve_counts],
       xlabel="labelled training passages per topic (log scale)", ylabel="test accuracy (mean ± sd over seeds)",
       ylim=(0, 1), title="Learning curves")
ax.legend(loc="lower right")
plt.tight_layout()
plt.show()

# %% [markdown] nbgrader={"grade": true, "grade_id": "experiment_discussion", "locked": false, "points": 3.0, "schema_version": 3, "solution": true, "task": false}
# **Question 10.1.** Read your table, the plot and the learning curve. (a) Which differences between the
# methods are clearly larger than the spread over the seeds (and than one run's standard error, printed
# under the table), and which are not? (b) What do the *no pre-training* control and the learning curve
# tell you about pre-training: where does it help, by how much, and how many labels does it save?
# (c) What limits how far these numbers can be trusted, and what would you change to test the usual
# claim that parameter-efficient methods come close to full fine-tuning?
#
# ### BEGIN SOLUTION
# (The CPU default run, 16 labelled passages per topic, seeds 0, 1, 2, test accuracy mean ± standard
# deviation over the seeds: full 0.827 ± 0.015, prefix 0.819 ± 0.032, adapters 0.809 ± 0.037, LoRA
# 0.806 ± 0.029, head only 0.798 ± 0.006, prompt 0.798 ± 0.020, no pre-training 0.706 ± 0.023, with 234k,
# 2.3k, 4.6k, 3.3k, 260, 772 and 234k trainable parameters. Learning curve, 4 / 8 / 16 / 32 / 64 passages
# per topic: full 0.724 ± 0.010, 0.777 ± 0.017, 0.827 ± 0.015, 0.880 ± 0.006, 0.897 ± 0.014; head only
# 0.707 ± 0.063, 0.749 ± 0.056, 0.798 ± 0.006, 0.849 ± 0.006, 0.871 ± 0.010; no pre-training
# 0.496 ± 0.031, 0.596 ± 0.015, 0.706 ± 0.023, 0.786 ± 0.016, 0.857 ± 0.026.)
# (a) Only one difference in the table is clearly real: every method that starts from the pre-trained
# GPT beats the control trained from scratch, by 9 to 12 points, far more than the spread (each of their
# 18 runs, at least 0.773, is above each run of the control, at most 0.723). Among the six pre-trained
# methods the means lie within 3 points (0.798 to 0.827), less than their seed-to-seed standard
# deviations (up to 0.037) and about one run's standard error (0.025): the table does not rank them.
# Full fine-tuning is first on average, but adapters and prefix-tuning each have a seed above its best.
# Nor does "more trainable parameters, more accuracy" show: head only (260) and prompt tuning (772) are
# within 3 points of full fine-tuning (234k).
# (b) Pre-training helps most where labels are scarcest: with 4 passages per topic, full fine-tuning
# reaches 0.724 and the control 0.496 (23 points, seven times the larger standard deviation); the gap is
# 18 points at 8, 12 at 16, 9 at 32 and 4 at 64 per topic, where it is no longer much larger than the
# control's spread (0.026). In labels: full fine-tuning with 8 per topic (0.777) matches the control with
# 32 (0.786), and with 16 (0.827) it beats the control with 32; pre-training saves about three quarters
# of the labels at these sizes. Even the frozen body with only a trained head beats training from
# scratch up to 32 per topic, and the curves approach each other as labels grow: with enough labels a
# model learns the topic's keywords from the labels alone.
# (c) Three seeds and 256 test passages give error bars of 1 to 4 points (6 for head only at 4 and 8 per
# topic), so differences below about 5 points are not established; the learning rate was chosen among
# two values on 32 validation passages with one seed, and every method had the same 100 steps whatever
# the number of labels. The base model is tiny (2 layers, 64 wide) and was pre-trained on 93k tokens of
# the same reference text the task is cut from, so what it learned is close to the task. To test the
# PEFT claim properly: more seeds (10 or more) and more test passages, a learning-rate and step search
# per method and per number of labels, larger base models pre-trained on general text, and the same
# comparison on a task unlike the pre-training text.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "diagnosis_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 11 · Diagnosing a fine-tuning run that learned nothing
#
# Handout 001 (§3.1, *Finetuning Basics*) fine-tunes RoBERTa-base on BoolQ (yes/no questions about a
# paragraph) four times, with learning rates $10^{-3}$, $5 \cdot 10^{-4}$, $1.25 \cdot 10^{-2}$ and
# $1.25 \cdot 10^{-2}$ and 9, 7, 12 and 20 epochs, and reports for **every** run the same validation
# ("DEV") accuracy, 0.6217125382262997, with test accuracies 0.6272, 0.6195, 0.6188 and 0.5999. The same
# sheet's BERT-base-cased run reaches 0.7092 on DEV. The handout presents these runs as a comparison of
# settings. The cell below checks two facts about the numbers: BoolQ's validation set has 3,270 questions,
# 2,033 of them with the answer *yes*; and the four test accuracies are whole numbers of correct answers
# out of 1,427 questions (the handout does not say how its test split was made; 1,427 is the smallest
# count that fits all four).

# %% nbgrader={"grade": false, "grade_id": "diagnosis_numbers", "locked": true, "schema_version": 3, "solution": false, "task": false}
handout_dev = 0.6217125382262997
handout_test = [0.6271899088997898, 0.6194814295725298, 0.6187806587245971, 0.5998598458304134]
print(f"2033 / 3270 = {2033 / 3270!r}, the same as the handout's DEV accuracy: {2033 / 3270 == handout_dev}")
print("correct test answers out of 1427:", [round(a * 1427, 3) for a in handout_test])

# %% [markdown] nbgrader={"grade": true, "grade_id": "diagnosis", "locked": false, "points": 3.0, "schema_version": 3, "solution": true, "task": false}
# **Question 11.1.** (a) What does a DEV accuracy of exactly 2033/3270 mean, and why is it suspicious that
# four runs with different learning rates and epochs give the same number to 16 digits? (b) What most
# likely went wrong in these runs? (c) Name at least three things you would check or change before
# comparing any settings.
#
# ### BEGIN SOLUTION
# (a) 2033/3270 is the share of *yes* answers in BoolQ's validation set: it is exactly the accuracy of a
# classifier that answers *yes* to every question (the majority-class baseline). Four different runs
# landing on the same fraction, not just a similar one, means each of them predicted the majority class
# for all 3,270 questions: the fine-tuned model ignores its input. The test accuracies (895, 884, 883 and
# 856 correct out of 1,427) are also near 0.6, what a nearly constant answer gets; they say no more.
# (b) The fine-tune collapsed. The likely cause is the learning rate: $5\cdot 10^{-4}$ to $1.25\cdot 10^{-2}$ is
# about 17 to 1,250 times the rates used to fine-tune RoBERTa (about $10^{-5}$ to $3\cdot 10^{-5}$, with warm-up);
# such steps wreck the pre-trained weights in the first updates, and the cheapest way to lower the loss
# left is to predict the class prior. (A bug can give the same picture: labels that do not reach the loss,
# a head that reads a constant feature, or evaluating an untrained or wrong checkpoint.) Nothing here
# compares settings: all four runs are the same failure.
# (c) Always print the majority-class baseline next to the accuracy; look at the predictions (their
# distribution or a confusion matrix: all *yes*?); plot the training loss (stuck near the entropy of the
# labels, $-0.62\ln 0.62 - 0.38\ln 0.38 \approx 0.66$ nats, means nothing was learned); retry with a
# learning rate around $2\cdot 10^{-5}$, warm-up and gradient clipping, on a few seeds; check on a tiny
# subset that the model can over-fit it (if not, look for a bug in the labels, the head or the data
# pipeline); make sure the evaluation uses `model.eval()` and the checkpoint that was actually trained.
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "wrap_up", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Wrap-up
#
# You implemented the three main parameter-efficient methods and the input side of prompt tuning,
# checked what each changes in one layer, corrected two parameter counts from the handouts, compared the
# methods on a real (small) pre-trained model, and measured how many labels its pre-training saves. Before handing in: *Kernel → Restart and run all*, check that every visible test
# passes, then save (on Colab: *File → Download → Download .ipynb*).
