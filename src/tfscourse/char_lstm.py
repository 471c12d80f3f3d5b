"""A small character-level LSTM language model (notebook 05).

The notebook trains it on the offline corpus (``tfscourse.corpora.reference_text``)
in well under a minute on a laptop CPU, samples from it with the student's
``sample_next`` and looks inside it with ``tfscourse.lstm_gates``. The training
loop itself lives in the notebook, so students see every step.

Example:
    >>> vocab = CharVocab.from_text("hello world")
    >>> vocab.decode(vocab.encode("hello"))
    'hello'
    >>> model = CharLSTM(len(vocab), CharLMConfig(hidden_size=8, embed_size=4))
    >>> logits, state = model(torch.tensor([vocab.encode("hell")]))
    >>> tuple(logits.shape)
    (1, 4, 8)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass
class CharLMConfig:
    """Sizes and training settings; each value is about as small as still gives readable samples."""

    embed_size: int = 32  # ~100 distinct characters need only a few dozen dimensions
    hidden_size: int = 128  # enough memory for indentation and common words, fast on a CPU
    seq_len: int = 64  # characters per training window: longer than most words and code lines
    batch_size: int = 32  # windows per step: smooth enough gradients at a few ms per step
    steps: int = 2000  # ~15-20 s on one CPU thread; held-out loss ~1.3 nats/char
    max_seconds: float = 40.0  # stop early on a slow machine so the notebook stays well under 90 s
    lr: float = 1e-2  # Adam; small models tolerate a large step
    max_norm: float = 1.0  # global gradient-norm clip, the usual safety net for RNNs
    val_fraction: float = 0.1  # tail of the corpus kept for the validation loss


class CharVocab:
    """Characters <-> integer ids; characters outside the vocabulary are dropped when encoding."""

    def __init__(self, chars):
        self.chars = list(chars)
        self.index = {ch: i for i, ch in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        return [self.index[ch] for ch in text if ch in self.index]

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)


class CharLSTM(nn.Module):
    """Embedding -> one-layer nn.LSTM (batch first) -> linear layer to next-character logits."""

    def __init__(self, vocab_size: int, config: CharLMConfig):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, config.embed_size)
        self.lstm = nn.LSTM(config.embed_size, config.hidden_size, batch_first=True)
        self.head = nn.Linear(config.hidden_size, vocab_size)

    def forward(self, ids: torch.Tensor, state=None):
        """ids (B, T) -> logits (B, T, V) and the LSTM state ((1, B, H), (1, B, H))."""
        out, state = self.lstm(self.embed(ids), state)  # (B, T, E) -> (B, T, H)
        return self.head(out), state  # (B, T, H) x (H, V) -> (B, T, V)

    def lstm_weights(self) -> tuple[np.ndarray, ...]:
        """(W_ih (4H, E), W_hh (4H, H), b_ih (4H,), b_hh (4H,)) as float64 NumPy arrays, torch's layout."""
        names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
        return tuple(getattr(self.lstm, n).detach().double().numpy().copy() for n in names)

    def embed_ids(self, ids) -> np.ndarray:
        """The LSTM inputs (T, E) for a list of character ids, as float64 NumPy."""
        with torch.no_grad():
            return self.embed(torch.as_tensor(list(ids), dtype=torch.long)).double().numpy()


def random_windows(data: torch.Tensor, seq_len: int, batch_size: int, generator: torch.Generator):
    """A batch of random windows and their targets shifted by one character: two (B, T) tensors.

    Example: data "abcdef", a window at 1 of length 3 -> input "bcd", target "cde".
    """
    starts = torch.randint(0, len(data) - seq_len - 1, (batch_size,), generator=generator)
    windows = torch.stack([data[s : s + seq_len + 1] for s in starts.tolist()])  # (B, T + 1)
    return windows[:, :-1].contiguous(), windows[:, 1:].contiguous()


# ---- helpers the notebook's test cells call ------------------------------------------------------
# When the notebook is graded, its test cells run in a separate judge process that exchanges plain
# data with the notebook's kernel. A NumPy generator cannot travel as data, and the judge only ever
# sends copies of its arrays; these two helpers make a generator in the notebook's own process and
# report the arguments of a call as they are after the call. In the notebook they do just that.


def numpy_generator(seed: int) -> np.random.Generator:
    """``np.random.default_rng(seed)``."""
    return np.random.default_rng(seed)


def call_keeping_arguments(function, *args):
    """``(function(*args), args)``: the result and the arguments as they are after the call (changed in place?)."""
    return function(*args), list(args)
