"""Known-wrong answers for 07_finetuning (see tests/known_wrong/__init__.py)."""

import math

import torch
from torch import nn

from tests.nbharness import Wrong

# ---- LoRA parameter ratio -------------------------------------------------


def ratio_inverted(d_in, d_out, r):
    """Full over LoRA instead of LoRA over full."""
    return (d_in * d_out) / (r * (d_in + d_out))


def ratio_product(d_in, d_out, r):
    """Counts r * d_in * d_out for A and B."""
    return r * d_in * d_out / (d_in * d_out)


def ratio_counts_base_too(d_in, d_out, r):
    """Adds the frozen W to the trained parameters."""
    return (r * (d_in + d_out) + d_in * d_out) / (d_in * d_out)


def ratio_one_factor(d_in, d_out, r):
    """Counts only A."""
    return r * d_in / (d_in * d_out)


# ---- counting trainable parameters ----------------------------------------


def count_all_parameters(model):
    """Ignores requires_grad."""
    return sum(p.numel() for p in model.parameters())


def count_tensors(model):
    """Counts trainable tensors, not numbers."""
    return sum(1 for p in model.parameters() if p.requires_grad)


def count_per_module(model):
    """Sums over every module's parameters, counting nested and shared ones several times."""
    return sum(p.numel() for m in model.modules() for p in m.parameters() if p.requires_grad)


def count_frozen(model):
    """Counts the frozen parameters."""
    return sum(p.numel() for p in model.parameters() if not p.requires_grad)


# ---- LoRA ------------------------------------------------------------------
# The classes below subclass the notebook's own LoRALinear and Adapter: the harness
# executes their source in the notebook's namespace, where those names are the
# solution's classes. The stand-ins only make this module importable.
LoRALinear = nn.Module
Adapter = nn.Module


class LoRARandomB(LoRALinear):
    """B initialised randomly: the model no longer starts at the pre-trained one."""

    def __init__(self, base, r, alpha):
        super().__init__(base, r, alpha)
        with torch.no_grad():
            self.B.normal_(std=0.1)


class LoRAFloat32OnCPU(LoRALinear):
    """Creates A and B with torch's defaults (float32, CPU) instead of base.weight's dtype and device."""

    def __init__(self, base, r, alpha):
        super().__init__(base, r, alpha)
        self.A = nn.Parameter(torch.empty(r, base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.A, a=5 ** 0.5)


class LoRAStandardNormalA(LoRALinear):
    """Initialises A with N(0, 1): an update about sqrt(3 d_in) times larger than nn.Linear's scale."""

    def __init__(self, base, r, alpha):
        super().__init__(base, r, alpha)
        with torch.no_grad():
            self.A.normal_()


class LoRAScaleRoverAlpha(LoRALinear):
    """Scales the update by r / alpha instead of alpha / r."""

    def __init__(self, base, r, alpha):
        super().__init__(base, r, alpha)
        self.scaling = r / alpha


class LoRANoScaling(LoRALinear):
    """Forgets the alpha / r scaling."""

    def __init__(self, base, r, alpha):
        super().__init__(base, r, alpha)
        self.scaling = 1.0


class LoRAScaleAlpha(LoRALinear):
    """Scales by alpha, without dividing by r."""

    def __init__(self, base, r, alpha):
        super().__init__(base, r, alpha)
        self.scaling = float(alpha)


class LoRABaseTrainable(LoRALinear):
    """Leaves the base weight and bias trainable."""

    def __init__(self, base, r, alpha):
        super().__init__(base, r, alpha)
        self.base.requires_grad_(True)


class LoRABiasTrainable(LoRALinear):
    """Freezes the base weight but forgets the bias."""

    def __init__(self, base, r, alpha):
        super().__init__(base, r, alpha)
        if self.base.bias is not None:
            self.base.bias.requires_grad_(True)


class LoRANoBasePath(LoRALinear):
    """Returns only the low-rank update, dropping the frozen layer's output."""

    def forward(self, x):
        return self.scaling * (x @ self.A.T) @ self.B.T


class LoRABothZero(LoRALinear):
    """A and B both start at zero: no gradient ever reaches either."""

    def __init__(self, base, r, alpha):
        super().__init__(base, r, alpha)
        with torch.no_grad():
            self.A.zero_()


class LoRADetachedUpdate(LoRALinear):
    """Computes the update on detached A and B, so no gradient reaches them."""

    def forward(self, x):
        return self.base(x) + self.scaling * (x @ self.A.detach().T) @ self.B.detach().T


class LoRAMergeNoScale(LoRALinear):
    """Scales the forward pass correctly but merges W + B A without alpha / r."""

    def merge(self):
        merged = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None)
        with torch.no_grad():
            merged.weight.copy_(self.base.weight + self.B @ self.A)
            if self.base.bias is not None:
                merged.bias.copy_(self.base.bias)
        return merged


class LoRAMergeInPlace(LoRALinear):
    """Adds the update into the base weight and returns the base: the LoRA layer then counts it twice."""

    def merge(self):
        with torch.no_grad():
            self.base.weight += self.scaling * self.B @ self.A
        return self.base


class LoRAMergeDropsBias(LoRALinear):
    """Builds the merged layer without copying the bias."""

    def merge(self):
        merged = nn.Linear(self.base.in_features, self.base.out_features, bias=False)
        with torch.no_grad():
            merged.weight.copy_(self.base.weight + self.scaling * self.B @ self.A)
        return merged


class LoRAMergeTransposed(LoRALinear):
    """Merges (B A)^T, the row-convention update, into nn.Linear's (out, in) weight."""

    def merge(self):
        merged = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None)
        with torch.no_grad():
            delta = (self.B @ self.A).T.reshape(self.base.weight.shape)
            merged.weight.copy_(self.base.weight + self.scaling * delta)
            if self.base.bias is not None:
                merged.bias.copy_(self.base.bias)
        return merged


# ---- adapter ---------------------------------------------------------------


class AdapterNoResidual(Adapter):
    """Forgets the residual connection: outputs only up(relu(down(h)))."""

    def forward(self, h):
        return self.up(torch.relu(self.down(h)))


class AdapterNoActivation(Adapter):
    """No non-linearity between down and up."""

    def forward(self, h):
        return h + self.up(self.down(h))


class AdapterRandomUp(Adapter):
    """Keeps nn.Linear's random initialisation of up: not the identity at the start."""

    def __init__(self, d_model, bottleneck):
        super().__init__(d_model, bottleneck)
        self.up = nn.Linear(bottleneck, d_model)


class AdapterTanh(Adapter):
    """Uses tanh instead of ReLU."""

    def forward(self, h):
        return h + self.up(torch.tanh(self.down(h)))


# ---- prompt tuning ---------------------------------------------------------


def prompt_appended(embeddings, prompt):
    """Puts the prompt after the tokens: a causal model's tokens never see it."""
    return torch.cat([embeddings, prompt.unsqueeze(0).expand(embeddings.shape[0], -1, -1)], dim=1)


def prompt_added(embeddings, prompt):
    """Adds the prompt to the first p token embeddings instead of adding p positions."""
    out = embeddings.clone()
    out[:, : prompt.shape[0]] += prompt
    return out


def prompt_first_sequence_only(embeddings, prompt):
    """Prepends the prompt to the first sequence and pads the others with zeros."""
    pad = torch.zeros(embeddings.shape[0], prompt.shape[0], embeddings.shape[2])
    pad[0] = prompt
    return torch.cat([pad, embeddings], dim=1)


def prompt_reversed(embeddings, prompt):
    """Puts the prompt vectors in reverse order."""
    return torch.cat([prompt.flip(0).unsqueeze(0).expand(embeddings.shape[0], -1, -1), embeddings], dim=1)


# ---- prefix attention ------------------------------------------------------


def prefix_on_queries(X, W_q, W_k, W_v, P_k, P_v):
    """Puts the prefix in front of the queries too: one output row per prefix vector as well."""
    Q = torch.cat([P_k, X @ W_q])
    K = torch.cat([P_k, X @ W_k])
    V = torch.cat([P_v, X @ W_v])
    w = torch.softmax(Q @ K.T / math.sqrt(Q.shape[1]), dim=-1)
    return w @ V, w


def prefix_added_to_queries(X, W_q, W_k, W_v, P_k, P_v):
    """Adds the mean prefix key to every query instead of prepending keys and values."""
    Q = X @ W_q + (P_k.mean(dim=0) if len(P_k) else 0.0)
    K, V = X @ W_k, X @ W_v
    w = torch.softmax(Q @ K.T / math.sqrt(Q.shape[1]), dim=-1)
    return w @ V, w


def prefix_no_scale(X, W_q, W_k, W_v, P_k, P_v):
    """Forgets the 1 / sqrt(d_k) scaling."""
    K = torch.cat([P_k, X @ W_k])
    V = torch.cat([P_v, X @ W_v])
    w = torch.softmax((X @ W_q) @ K.T, dim=-1)
    return w @ V, w


def prefix_scaled_by_d_model(X, W_q, W_k, W_v, P_k, P_v):
    """Scales by sqrt of the model width d instead of the key size d_k."""
    K = torch.cat([P_k, X @ W_k])
    V = torch.cat([P_v, X @ W_v])
    w = torch.softmax((X @ W_q) @ K.T / math.sqrt(X.shape[1]), dim=-1)
    return w @ V, w


def prefix_keys_only(X, W_q, W_k, W_v, P_k, P_v):
    """Prepends the keys but ignores the prefix values (drops the prefix columns before mixing)."""
    K = torch.cat([P_k, X @ W_k])
    w = torch.softmax((X @ W_q) @ K.T / math.sqrt(W_q.shape[1]), dim=-1)
    return w[:, len(P_k):] @ (X @ W_v), w


def prefix_softmax_over_queries(X, W_q, W_k, W_v, P_k, P_v):
    """Normalises over the queries (dim 0) instead of the keys."""
    K = torch.cat([P_k, X @ W_k])
    V = torch.cat([P_v, X @ W_v])
    w = torch.softmax((X @ W_q) @ K.T / math.sqrt(W_q.shape[1]), dim=0)
    return w @ V, w


# ---- head and prefix counts ---------------------------------------------------


def head_no_bias(d, num_labels):
    """Forgets the biases."""
    return d * num_labels


def head_handout_formula(d, num_labels):
    """Always 2d + 2, whatever the number of labels."""
    return 2 * d + 2


def head_sum(d, num_labels):
    """Adds instead of multiplying."""
    return d + num_labels


def head_one_bias(d, num_labels):
    """A single shared bias."""
    return d * num_labels + 1


def prefix_count_prompt_tuning(d, prefix_len, num_layers, num_labels):
    """The handout's 130d + 2 reading: one set of prefix vectors at the input."""
    return prefix_len * d + d * num_labels + num_labels


def prefix_count_keys_only(d, prefix_len, num_layers, num_labels):
    """Counts the keys of every layer but not the values."""
    return num_layers * prefix_len * d + d * num_labels + num_labels


def prefix_count_no_head(d, prefix_len, num_layers, num_labels):
    """Forgets the trained head."""
    return 2 * num_layers * prefix_len * d


CASES = [
    Wrong("lora_param_ratio", ratio_inverted),
    Wrong("lora_param_ratio", ratio_product),
    Wrong("lora_param_ratio", ratio_counts_base_too),
    Wrong("lora_param_ratio", ratio_one_factor),
    Wrong("count_trainable_parameters", count_all_parameters, pitfall=True),
    Wrong("count_trainable_parameters", count_tensors),
    Wrong("count_trainable_parameters", count_per_module, pitfall=True),
    Wrong("count_trainable_parameters", count_frozen),
    # LoRA: each hidden block of the four LoRA test cells rejects at least three of these
    Wrong("LoRALinear", LoRARandomB, ("test_lora_linear_init",), pitfall=True),
    Wrong("LoRALinear", LoRAFloat32OnCPU, ("test_lora_linear_init",), pitfall=True),
    Wrong("LoRALinear", LoRAStandardNormalA, ("test_lora_linear_init",), pitfall=True),
    Wrong("LoRALinear", LoRABaseTrainable, ("test_lora_linear_init", "test_lora_linear_gradients"), pitfall=True),
    Wrong("LoRALinear", LoRABiasTrainable, ("test_lora_linear_init", "test_lora_linear_gradients"), pitfall=True),
    Wrong("LoRALinear", LoRANoBasePath, ("test_lora_linear_init", "test_lora_linear_scaling")),
    Wrong("LoRALinear", LoRABothZero, ("test_lora_linear_init", "test_lora_linear_gradients"), pitfall=True),
    Wrong("LoRALinear", LoRADetachedUpdate, ("test_lora_linear_gradients",)),
    Wrong("LoRALinear", LoRAScaleRoverAlpha, ("test_lora_linear_scaling", "test_lora_linear_merge"), pitfall=True),
    Wrong("LoRALinear", LoRANoScaling, ("test_lora_linear_scaling",), pitfall=True),
    Wrong("LoRALinear", LoRAScaleAlpha, ("test_lora_linear_scaling", "test_lora_linear_merge")),
    Wrong("LoRALinear", LoRAMergeNoScale, ("test_lora_linear_merge",)),
    Wrong("LoRALinear", LoRAMergeInPlace, ("test_lora_linear_merge",), pitfall=True),
    Wrong("LoRALinear", LoRAMergeDropsBias, ("test_lora_linear_merge",)),
    Wrong("LoRALinear", LoRAMergeTransposed, ("test_lora_linear_merge",)),
    Wrong("Adapter", AdapterNoResidual, ("test_adapter",), pitfall=True),
    Wrong("Adapter", AdapterNoActivation, ("test_adapter",)),
    Wrong("Adapter", AdapterRandomUp, ("test_adapter",), pitfall=True),
    Wrong("Adapter", AdapterTanh, ("test_adapter",)),
    Wrong("prepend_prompt", prompt_appended, ("test_prepend_prompt",), pitfall=True),
    Wrong("prepend_prompt", prompt_added, ("test_prepend_prompt",), pitfall=True),
    Wrong("prepend_prompt", prompt_first_sequence_only, ("test_prepend_prompt",)),
    Wrong("prepend_prompt", prompt_reversed, ("test_prepend_prompt",)),
    Wrong("prefix_attention", prefix_on_queries),
    Wrong("prefix_attention", prefix_added_to_queries),
    Wrong("prefix_attention", prefix_no_scale),
    Wrong("prefix_attention", prefix_scaled_by_d_model),
    Wrong("prefix_attention", prefix_keys_only),
    Wrong("prefix_attention", prefix_softmax_over_queries),
    Wrong("head_only_param_count", head_no_bias),
    Wrong("head_only_param_count", head_handout_formula, pitfall=True),
    Wrong("head_only_param_count", head_sum),
    Wrong("head_only_param_count", head_one_bias),
    Wrong("prefix_tuning_param_count", prefix_count_prompt_tuning, pitfall=True),
    Wrong("prefix_tuning_param_count", prefix_count_keys_only),
    Wrong("prefix_tuning_param_count", prefix_count_no_head),
    # the fine-tuning strategies
    Wrong("answer_q1", {"A"}, ("test_strategy_q1",)),
    Wrong("answer_q1", {"A", "B", "C"}, ("test_strategy_q1",)),
    Wrong("answer_q1", {"B", "C"}, ("test_strategy_q1",)),
    Wrong("answer_q2", {"C"}, ("test_strategy_q2",)),
    Wrong("answer_q2", {"A", "B", "C"}, ("test_strategy_q2",)),
    Wrong("answer_q2", {"A"}, ("test_strategy_q2",)),
    Wrong("answer_q3", {"C"}, ("test_strategy_q3",)),
    Wrong("answer_q3", {"A"}, ("test_strategy_q3",)),
    Wrong("answer_q3", {"A", "B", "C"}, ("test_strategy_q3",)),
]
