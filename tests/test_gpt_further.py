"""Notebook 06, section 11 ("Going further"): GPT-2's weights in the course's GPT, and the key/value cache.

The reference answers live in ``tfscourse.unlocked.gpt`` (``load_gpt2_weights``,
``generate_cached``); the helpers the notebook's tests call in ``tfscourse.gpt_extras``.
The comparisons with Hugging Face's GPT-2 build a small random ``GPT2LMHeadModel`` from a
``GPT2Config`` (nothing is downloaded) and skip when ``transformers`` is not installed.
"""

from __future__ import annotations

import contextlib
import io
import os

import pytest
import torch
import torch.nn as nn

from tfscourse import gpt_extras
from tfscourse.unlocked import gpt

SHAPES = [
    gpt.GPTConfig(block_size=32, vocab_size=97, n_layer=3, n_head=4, n_embd=48),
    gpt.GPTConfig(block_size=16, vocab_size=50, n_layer=1, n_head=1, n_embd=8),
]


def _random_gpt(config, seed, scale=0.4):
    model = gpt.GPT(config).eval()
    gen = torch.Generator().manual_seed(seed)
    state = {k: (torch.randn(v.shape, generator=gen) * scale if v.is_floating_point() else v)
             for k, v in model.state_dict().items()}
    state["lm_head.weight"] = state["transformer.wte.weight"]
    model.load_state_dict(state)
    return model


@pytest.mark.parametrize("config", SHAPES, ids=lambda c: f"L{c.n_layer}C{c.n_embd}")
def test_loading_a_hugging_face_gpt2_gives_its_logits(config):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    hf_config = gpt_extras.gpt2_config(config, initializer_range=0.2)
    assert hf_config.activation_function == "gelu_new"
    hf = transformers.GPT2LMHeadModel(hf_config).eval()
    mine = gpt.GPT(config).eval()
    assert gpt.load_gpt2_weights(mine, hf.state_dict()) is mine
    assert mine.lm_head.weight is mine.transformer.wte.weight  # still tied
    idx = torch.randint(0, config.vocab_size, (2, config.block_size))
    with torch.no_grad():
        want = hf(idx).logits
        exact = (mine(idx)[0] - want).abs().max().item()
        assert gpt_extras.set_gelu(mine, "tanh") == config.n_layer
        tanh = (mine(idx)[0] - want).abs().max().item()
    assert tanh < 2e-5, tanh  # float32 rounding only
    assert exact > 10 * tanh  # the exact GELU is a real (small) difference with weights this large


def test_loader_transposes_the_conv1d_matrices_and_skips_buffers():
    """Without transformers: a GPT-2-style dict made from a reference model, with the old buffers."""
    config = SHAPES[0]
    source = _random_gpt(config, 3)
    hf = {}
    for name, value in source.state_dict().items():
        if name.endswith(".mask"):
            continue
        hf[name] = value.t().contiguous() if name.endswith(gpt.HF_CONV1D_WEIGHTS) else value.clone()
    for i in range(config.n_layer):
        hf[f"transformer.h.{i}.attn.bias"] = torch.ones(1, 1, config.block_size, config.block_size).tril()
        hf[f"transformer.h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    del hf["lm_head.weight"]  # checkpoints may leave the tied copy out
    target = gpt.load_gpt2_weights(gpt.GPT(config).eval(), hf)
    idx = torch.randint(0, config.vocab_size, (3, 20))
    torch.testing.assert_close(target(idx)[0], source(idx)[0])
    with pytest.raises(KeyError, match="has no place"):
        gpt.load_gpt2_weights(gpt.GPT(config), {**hf, "transformer.h.0.attn.rotary": torch.zeros(1)})
    with pytest.raises(KeyError, match="no values for"):
        gpt.load_gpt2_weights(gpt.GPT(config), {k: v for k, v in hf.items() if "ln_f" not in k})


@pytest.mark.parametrize("seed, config, batch, prompt, n_new", [
    (0, SHAPES[0], 2, 5, 27),  # up to the last position the model knows: 5 + 27 - 1 < 32
    (1, SHAPES[1], 1, 1, 16),  # T + n - 1 = block_size exactly
    (2, gpt.GPTConfig(block_size=24, vocab_size=30, n_layer=2, n_head=3, n_embd=12, bias=False), 3, 8, 10),
])
def test_cached_generation_gives_the_tokens_of_generate(seed, config, batch, prompt, n_new):
    model = _random_gpt(config, seed)
    idx = torch.randint(0, config.vocab_size, (batch, prompt), generator=torch.Generator().manual_seed(seed))
    cached, positions = gpt_extras.positions_through_attention(model, gpt.generate_cached, model, idx, n_new)
    full = model.generate(idx, n_new, temperature=0)
    assert torch.equal(cached, full)
    assert positions == [batch * (prompt + n_new - 1)] * config.n_layer
    _, recomputed = gpt_extras.positions_through_attention(model, model.generate, idx, n_new, temperature=0)
    assert recomputed == [batch * (n_new * prompt + n_new * (n_new - 1) // 2)] * config.n_layer
    # the notebook's tests compare tokens exactly where the greedy choice is clear: margins well above rounding
    seq = idx
    for t in range(n_new):
        top = model(seq)[0][:, -1].topk(2).values
        assert (top[:, 0] - top[:, 1]).min() > 1e-4, (t, top)
        seq = full[:, : prompt + t + 1]


def test_cached_generation_refuses_more_positions_than_the_model_has():
    model = _random_gpt(SHAPES[1], 0)
    with pytest.raises(ValueError, match="block_size"):
        gpt.generate_cached(model, torch.zeros(1, 10, dtype=torch.long), 8)


def test_positions_are_counted_per_block_and_hooks_removed():
    model = _random_gpt(SHAPES[0], 4)
    _, counts = gpt_extras.positions_through_attention(model, model, torch.zeros(2, 7, dtype=torch.long))
    assert counts == [14, 14, 14]
    assert all(not block.attn.c_attn._forward_hooks for block in model.transformer.h)
    with pytest.raises(ZeroDivisionError):
        gpt_extras.positions_through_attention(model, lambda: 1 / 0)
    assert all(not block.attn.c_attn._forward_hooks for block in model.transformer.h)


def test_set_gelu_swaps_modules_only():
    model = gpt.GPT(SHAPES[1])
    assert gpt_extras.set_gelu(model, "tanh") == 1
    assert model.transformer.h[0].mlp.gelu.approximate == "tanh"

    class FunctionalGelu(nn.Module):
        def forward(self, x):
            return torch.nn.functional.gelu(x)

    model.transformer.h[0].mlp = FunctionalGelu()
    assert gpt_extras.set_gelu(model, "none") == 0


def test_kv_cache_size_of_gpt2_small():
    """The notebook's kv_cache_bytes: keys and values, 12 layers, 1024 positions, 768 numbers, float32."""
    config = gpt.GPTConfig()
    with torch.device("meta"):
        k = torch.empty(1, config.n_head, config.block_size, config.n_embd // config.n_head)
    assert 2 * config.n_layer * k.numel() * 4 == 75_497_472 == 72 * 2**20


def test_notebook_demo_cells_run_outside_grading(monkeypatch):
    """Section 11's demonstration cells run on the master's namespace outside grading: small logit differences,
    the same tokens with and without the cache."""
    pytest.importorskip("transformers")
    from tests.conftest import harness

    h = harness("06_gpt")
    sources = {gid: source for gid, source, _ in h.code_cells}
    namespace = dict(h.final_namespace)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(sources["hf_compare"], "hf_compare", "exec"), namespace)
    lines = [line for line in printed.getvalue().splitlines() if "max |logit difference|" in line]
    assert len(lines) == 4, printed.getvalue()
    diffs = [float(line.split("max |logit difference| ")[1].split()[0]) for line in lines]
    assert max(diffs) < 1e-2 and min(diffs[1], diffs[3]) < 2e-5, lines
    assert os.environ.get("NBGRADER_EXECUTION") is None
    # the real GPT-2 cell skips on a CPU; the speed cell generates as much as the trained model's context allows
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(sources["gpt2_real"], "gpt2_real", "exec"), namespace)
        exec(compile(sources["kv_speed"], "kv_speed", "exec"), namespace)
    assert namespace["gpt2"] is None and "skipped" in printed.getvalue()
    n_new = namespace["config"].block_size - namespace["prompt"].shape[1]
    assert f"{n_new} new tokens after" in printed.getvalue() and "same tokens: True" in printed.getvalue(), printed.getvalue()
