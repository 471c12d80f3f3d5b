"""Fast checks of tfscourse.finetune, the package side of notebook 07 (a few seconds)."""

from __future__ import annotations

import math

import torch
from torch import nn

from tfscourse import finetune as ft


class _LoRA(nn.Module):
    def __init__(self, base, r, alpha):
        super().__init__()
        self.base = base.requires_grad_(False)
        self.scaling = alpha / r
        self.A = nn.Parameter(torch.randn(r, base.in_features) / math.sqrt(base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, r))

    def forward(self, x):
        return self.base(x) + self.scaling * (x @ self.A.T) @ self.B.T


def _trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_tokenize_and_vocab():
    assert ft.tokenize("Use str.format() twice!") == ["use", "str", ".", "format", "(", ")", "twice", "!"]
    vocab = ft.Vocab.build(["b", "a", "b", "c", "a", "b"], size=3)
    assert vocab.itos == [ft.UNK, "b", "a"]
    assert vocab.encode(["a", "c"]).tolist() == [2, 0]


def test_topic_passages_are_balanced_and_held_out():
    cfg = ft.ExperimentConfig.quick()
    data = ft.topic_passages(cfg)
    assert data.test_y.bincount().tolist() == [cfg.test_per_class] * len(cfg.topics)
    assert data.train_x.shape[1] == data.test_x.shape[1] == cfg.passage_tokens
    assert not set(data.train_text) & set(data.test_text)
    corpus = data.vocab.decode(data.pretrain_ids)
    for piece in data.test_text[:: max(1, len(data.test_text) // 10)]:
        assert data.vocab.decode(data.vocab.encode(piece.split())) not in corpus


def test_pretraining_is_cached_and_deterministic(tmp_path):
    cfg = ft.ExperimentConfig.quick()
    first = ft.pretrained_gpt(cfg, cache_dir=tmp_path, log=None)
    assert len(list(tmp_path.glob("finetune-gpt-*.pt"))) == 1
    again = ft.pretrained_gpt(cfg, cache_dir=tmp_path, log=None)
    fresh = ft.pretrained_gpt(cfg, cache_dir=None, log=None)
    for a, b, c in zip(first.state_dict().values(), again.state_dict().values(), fresh.state_dict().values()):
        assert torch.equal(a, b) and torch.equal(a, c)


def test_methods_train_the_expected_parameters():
    cfg = ft.ExperimentConfig.quick()
    torch.manual_seed(0)
    gpt = ft.GPT(cfg.gpt_config())
    d, L, layers = cfg.n_embd, 4, cfg.n_layer
    head = ft.freeze_body(ft.GPTClassifier(ft.fresh_copy(gpt), L))
    assert _trainable(head) == d * L + L
    lora = ft.add_lora(ft.GPTClassifier(ft.fresh_copy(gpt), L), _LoRA, r=2, alpha=4)
    per_block = 2 * (d + 3 * d) + 2 * (d + d)  # c_attn (d -> 3d) and c_proj (d -> d), rank 2
    assert _trainable(lora) == layers * per_block + d * L + L
    prefix = ft.add_prefix(ft.GPTClassifier(ft.fresh_copy(gpt), L), prefix_len=3)
    assert _trainable(prefix) == layers * 2 * 3 * d + d * L + L


def test_lora_starts_at_the_frozen_model_and_prefix_does_not():
    cfg = ft.ExperimentConfig.quick()
    torch.manual_seed(0)
    gpt = ft.GPT(cfg.gpt_config()).eval()
    x = torch.randint(cfg.vocab_size, (3, cfg.passage_tokens))
    plain = ft.GPTClassifier(ft.fresh_copy(gpt), 4)
    lora = ft.add_lora(ft.GPTClassifier(ft.fresh_copy(gpt), 4), _LoRA, r=2, alpha=4)
    lora.head.load_state_dict(plain.head.state_dict())
    assert torch.allclose(plain(x), lora(x), atol=1e-6)
    # even zero prefix keys and values take attention mass away from the tokens
    prefix = ft.add_prefix(ft.GPTClassifier(ft.fresh_copy(gpt), 4), prefix_len=2)
    prefix.head.load_state_dict(plain.head.state_dict())
    with torch.no_grad():
        for block in prefix.gpt.transformer.h:
            block.attn.prefix_k.fill_(0.0)
            block.attn.prefix_v.fill_(0.0)
    assert not torch.allclose(plain(x), prefix(x), atol=1e-6)  # zero keys still take attention mass


def test_finetune_is_deterministic_and_lowers_the_loss():
    cfg = ft.ExperimentConfig.quick()
    data = ft.topic_passages(cfg)
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        model = ft.GPTClassifier(ft.GPT(cfg.gpt_config()), len(data.labels))
        results.append(ft.finetune(model, data, cfg, device=torch.device("cpu"), log=None))
    assert results[0].losses == results[1].losses
    assert results[0].test_accuracy == results[1].test_accuracy
    losses = results[0].losses
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    # measured: about 1.39 -> 1.11 over the quick run's ten steps
    assert last < first - 0.1, f"fine-tuning did not lower the training loss: {first:.3f} -> {last:.3f}"


class _Adapter(nn.Module):
    def __init__(self, d, b):
        super().__init__()
        self.down, self.up = nn.Linear(d, b), nn.Linear(b, d)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, h):
        return h + self.up(torch.relu(self.down(h)))


def test_add_adapters_places_them_as_houlsby_and_starts_at_the_base_model():
    cfg = ft.ExperimentConfig.quick()
    torch.manual_seed(0)
    gpt = ft.GPT(cfg.gpt_config())
    x = torch.randint(cfg.vocab_size, (2, cfg.passage_tokens))
    plain = ft.GPTClassifier(ft.fresh_copy(gpt), 4)
    torch.manual_seed(1)
    adapted = ft.add_adapters(ft.GPTClassifier(ft.fresh_copy(gpt), 4), _Adapter, 3)
    adapted.head.load_state_dict(plain.head.state_dict())
    with torch.no_grad():
        assert torch.allclose(adapted(x), plain(x), atol=1e-6)  # identity adapters: the pre-trained model
    d, layers = cfg.n_embd, cfg.n_layer
    assert _trainable(adapted) == layers * 2 * (2 * d * 3 + d + 3) + d * 4 + 4
    block = adapted.gpt.transformer.h[0]
    assert isinstance(block.attn[1], _Adapter) and isinstance(block.mlp[1], _Adapter)  # on each sub-layer's output


def test_split_validation_holds_out_per_class_and_keeps_the_test_set():
    cfg = ft.ExperimentConfig.quick()
    data = ft.topic_passages(cfg)
    fit, val_x, val_y = ft.split_validation(data, 4)
    assert val_y.bincount().tolist() == [4] * len(cfg.topics)
    assert len(fit.train_y) + len(val_y) == len(data.train_y)
    assert torch.equal(fit.test_x, data.test_x)
    rows = {tuple(r) for r in fit.train_x.tolist()}
    assert not any(tuple(r) in rows for r in val_x.tolist())


def test_test_cell_helpers_report_plain_data():
    torch.manual_seed(0)
    layer = nn.Linear(3, 2)
    layer.bias.requires_grad_(False)
    table = ft.parameter_table(layer)
    assert table["weight"] == {"shape": (2, 3), "dtype": "float32", "device": "cpu", "requires_grad": True}
    assert table["bias"]["requires_grad"] is False
    seen = ft.backward_gradients(layer, torch.ones(1, 3))
    assert seen["output_requires_grad"] and seen["grads"]["bias"] is None
    assert torch.allclose(seen["grads"]["weight"], 2 * layer(torch.ones(1, 3)).detach().T @ torch.ones(1, 3))
    before = layer.weight.detach().clone()
    ft.sgd_step(layer, 0.5)
    assert torch.allclose(layer.weight.detach(), before - 0.5 * seen["grads"]["weight"])
    tied = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.Linear(2, 2)})
    ft.share_parameter(tied["a"], "weight", tied["b"], "weight")
    assert tied["b"].weight is tied["a"].weight and ft.class_name(tied["a"]) == "Linear"
    ft.set_requires_grad(tied["a"], "bias", False)
    assert not tied["a"].bias.requires_grad


def _prepend(embeddings, prompt):
    """The tests' prompt placement: (B, T, d) and (P, d) -> (B, P + T, d)."""
    return torch.cat([prompt.expand(embeddings.shape[0], -1, -1), embeddings], dim=1)


def test_add_prompt_trains_only_the_prompt_and_the_head():
    cfg = ft.ExperimentConfig.quick()
    torch.manual_seed(0)
    gpt = ft.GPT(cfg.gpt_config())
    model = ft.add_prompt(ft.GPTClassifier(ft.fresh_copy(gpt), 4), prompt_len=5, prepend=_prepend)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"prompt", "head.weight", "head.bias"}
    assert model.prompt.shape == (5, cfg.n_embd)
    assert _trainable(model) == 5 * cfg.n_embd + cfg.n_embd * 4 + 4
    # initialised from the embeddings of vocabulary tokens
    ids = torch.tensor([3, 1, 4, 1, 5])
    seeded = ft.add_prompt(ft.GPTClassifier(ft.fresh_copy(gpt), 4), prompt_len=5, prepend=_prepend, seed_ids=ids)
    assert torch.equal(seeded.prompt.detach(), gpt.transformer.wte.weight[ids].detach())
    assert cfg.block_size >= cfg.passage_tokens + cfg.prompt_len
    assert ft.ExperimentConfig().block_size >= ft.ExperimentConfig().passage_tokens + ft.ExperimentConfig().prompt_len


def test_prompt_output_matches_a_manual_concatenation():
    cfg = ft.ExperimentConfig.quick()
    torch.manual_seed(0)
    gpt = ft.GPT(cfg.gpt_config()).eval()
    P, T = 3, cfg.passage_tokens
    model = ft.add_prompt(ft.GPTClassifier(ft.fresh_copy(gpt), 4), prompt_len=P, prepend=_prepend).eval()
    with torch.no_grad():
        model.prompt.normal_()
    x = torch.randint(cfg.vocab_size, (2, T))
    t = model.gpt.transformer
    with torch.no_grad():
        h = torch.cat([model.prompt[None].expand(2, P, cfg.n_embd), t.wte(x)], dim=1) + t.wpe(torch.arange(P + T))
        for block in t.h:
            h = block(h)
        want = model.head(t.ln_f(h)[:, P:].mean(dim=1))  # pooled over the passage positions only
        got = model(x)
    assert got.shape == (2, 4)
    assert torch.allclose(got, want, atol=1e-5)
    # the prompt changes the output, and the gradient reaches it
    plain = ft.GPTClassifier(ft.fresh_copy(gpt), 4).eval()
    plain.head.load_state_dict(model.head.state_dict())
    with torch.no_grad():
        assert not torch.allclose(plain(x), got, atol=1e-4)
    model(x).sum().backward()
    assert model.prompt.grad is not None and model.prompt.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.gpt.parameters())


def test_add_prompt_uses_the_given_prepend_function():
    cfg = ft.ExperimentConfig.quick()
    torch.manual_seed(0)
    gpt = ft.GPT(cfg.gpt_config()).eval()
    calls = []

    def prepend(embeddings, prompt):
        calls.append((tuple(embeddings.shape), tuple(prompt.shape)))
        return torch.cat([prompt.unsqueeze(0).expand(embeddings.shape[0], -1, -1), embeddings], dim=1)

    torch.manual_seed(1)
    default = ft.add_prompt(ft.GPTClassifier(ft.fresh_copy(gpt), 4), prompt_len=3, prepend=_prepend).eval()
    torch.manual_seed(1)
    given = ft.add_prompt(ft.GPTClassifier(ft.fresh_copy(gpt), 4), prompt_len=3, prepend=prepend).eval()
    x = torch.randint(cfg.vocab_size, (2, cfg.passage_tokens))
    with torch.no_grad():
        assert torch.allclose(default(x), given(x), atol=1e-6)
    assert calls == [((2, cfg.passage_tokens, cfg.n_embd), (3, cfg.n_embd))]
    built = ft.build_classifier("prompt", gpt, cfg, 4, seed=0, prepend=prepend)
    assert built.prepend is prepend and built.prompt.shape == (cfg.prompt_len, cfg.n_embd)


def test_labelled_subset_and_quick_comparison_and_curve():
    cfg = ft.ExperimentConfig.quick()
    data = ft.topic_passages(cfg)
    fit, _, _ = ft.split_validation(data, cfg.val_per_class)
    a, b = ft.labelled_subset(fit, 3, seed=0), ft.labelled_subset(fit, 3, seed=1)
    assert a.train_y.bincount().tolist() == [3] * len(cfg.topics)
    assert not torch.equal(a.train_x, b.train_x)  # another seed, other passages
    assert torch.equal(a.train_x, ft.labelled_subset(fit, 3, seed=0).train_x)
    gpt = ft.pretrained_gpt(cfg, cache_dir=None, log=None)
    methods = ("full", "head only", "prompt", "no pre-training")
    summary = ft.compare_methods(gpt, data, cfg, count=_trainable, methods=methods, prepend=_prepend)
    assert list(summary) == list(methods)
    assert summary["prompt"].trainable == cfg.prompt_len * cfg.n_embd + cfg.n_embd * 4 + 4
    assert all(0.0 <= s.mean <= 1.0 and len(s.test_accuracies) == len(cfg.finetune_seeds) for s in summary.values())
    assert "prompt" in ft.summary_table(summary)
    lrs = {m: s.lr for m, s in summary.items()}
    curve = ft.learning_curve(gpt, data, cfg, lrs, methods=("full", "no pre-training"), known=summary, prepend=_prepend)
    assert list(curve["full"]) == list(cfg.curve_counts)
    assert curve["full"][cfg.curve_counts[0]] != [] and "±" in ft.curve_table(curve)
