"""Tools for notebook 06's section 11 ("Going further"): GPT-2's weights and a key/value cache.

Nothing here answers a graded cell; the functions measure or rearrange the student's own model:

- ``positions_through_attention(model, fn, *args)`` runs ``fn(*args)`` and counts how many
  token positions went through each block's ``attn.c_attn`` (the test of the key/value cache
  uses it to tell a cache from a full recomputation);
- ``set_gelu(model, approximate)`` swaps every ``nn.GELU`` inside the blocks' MLPs for one with
  the given approximation (GPT-2 was trained with the tanh approximation);
- ``gpt2_config(config)`` the Hugging Face ``GPT2Config`` of the same shape, without dropout
  (needs ``transformers``);
- ``hub_reachable()`` whether the Hugging Face hub answers within a few seconds;
- ``tokens_per_second(fn, n_tokens, device)`` one timed call.

Example:
    >>> import torch
    >>> from tfscourse.unlocked.gpt import GPT, GPTConfig
    >>> model = GPT(GPTConfig(block_size=8, vocab_size=11, n_layer=2, n_head=2, n_embd=8)).eval()
    >>> out, positions = positions_through_attention(model, model, torch.zeros(1, 5, dtype=torch.long))
    >>> positions
    [5, 5]
"""

from __future__ import annotations

import socket
import time

import torch
import torch.nn as nn


def positions_through_attention(model: nn.Module, fn, *args, **kwargs):
    """``(fn(*args, **kwargs), positions)``: positions[i] = token positions block i's ``attn.c_attn`` saw.

    A forward hook on each ``model.transformer.h[i].attn.c_attn`` adds up the rows of its input
    (batch times positions); the hooks are removed afterwards, whatever ``fn`` does.
    """
    counts = [0] * len(model.transformer.h)
    hooks = []

    def counter(index):
        def hook(module, inputs, output):
            x = inputs[0]
            counts[index] += x.numel() // x.shape[-1]
        return hook

    try:
        for index, block in enumerate(model.transformer.h):
            hooks.append(block.attn.c_attn.register_forward_hook(counter(index)))
        result = fn(*args, **kwargs)
    finally:
        for hook in hooks:
            hook.remove()
    return result, counts


def set_gelu(model: nn.Module, approximate: str = "tanh") -> int:
    """Replace each ``nn.GELU`` inside the blocks' MLPs by ``nn.GELU(approximate=...)``; returns how many.

    ``approximate="tanh"`` is GPT-2's activation (Hugging Face calls it ``gelu_new``),
    ``"none"`` the exact ``x * Phi(x)``. An MLP that calls ``F.gelu`` in ``forward`` has no
    module to replace: the count tells.
    """
    replaced = 0
    for block in model.transformer.h:
        for name, child in list(block.mlp.named_children()):
            if isinstance(child, nn.GELU):
                setattr(block.mlp, name, nn.GELU(approximate=approximate))
                replaced += 1
    return replaced


def gpt2_config(config, **overrides):
    """A ``transformers.GPT2Config`` with the shape of ``config`` (the course's GPTConfig), dropout off."""
    # optional: only the demo cells and the course's tests use it
    from transformers import GPT2Config

    settings = dict(vocab_size=config.vocab_size, n_positions=config.block_size, n_embd=config.n_embd,
                    n_layer=config.n_layer, n_head=config.n_head, resid_pdrop=0.0, embd_pdrop=0.0,
                    attn_pdrop=0.0, bos_token_id=config.vocab_size - 1, eos_token_id=config.vocab_size - 1)
    return GPT2Config(**{**settings, **overrides})


def hub_reachable(host: str = "huggingface.co", timeout: float = 3.0) -> bool:
    """True when a TCP connection to ``host``:443 opens within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def tokens_per_second(fn, n_tokens: int, device: torch.device | str = "cpu") -> tuple[object, float]:
    """``(fn(), n_tokens / seconds)`` for one call of ``fn`` (CUDA synchronised around it)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return result, n_tokens / (time.perf_counter() - start)
