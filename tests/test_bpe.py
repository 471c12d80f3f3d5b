"""Fast checks of the byte-level BPE reference (tfscourse_staff.reference.bpe) and the merge-trace widget."""

from __future__ import annotations

import random

import pytest

from tfscourse.bpe_trace import handout_names, summary_html, trace_steps
from tfscourse.corpora import reference_text
from tfscourse.hf_tokens import hf_token_bytes
from tfscourse_staff.reference.bpe import (
    ByteLevelBPE,
    chunk_counts,
    learn_merges,
    learn_merges_naive,
    merge_ids,
    split_chunks,
)

RANGES = [(0x20, 0x7E), (0xA0, 0xFF), (0x300, 0x36F), (0x4E00, 0x9FFF), (0x1F300, 0x1F64F)]
SPACES = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000"]


def random_text(rng: random.Random, n: int) -> str:
    out = []
    for _ in range(n):
        if rng.random() < 0.25:
            out.append(rng.choice(SPACES))
        else:
            lo, hi = rng.choice(RANGES)
            out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def test_chunks_cover_the_text():
    rng = random.Random(0)
    for text in ["", "Hello world's  end!\n\n", "x_y __init__ 3.14 ²½", *(random_text(rng, 80) for _ in range(50))]:
        assert "".join(split_chunks(text)) == text


def test_merge_ids_does_not_overlap():
    assert merge_ids([5, 5, 5, 6], (5, 5), 256) == [256, 5, 6]
    assert merge_ids([], (1, 2), 256) == []


@pytest.mark.parametrize("size", [2_000, 30_000])
def test_incremental_and_naive_trainers_agree(size):
    counts = chunk_counts(reference_text(size))
    assert learn_merges(counts, 150) == learn_merges_naive(counts, 150)


def test_tie_break_and_early_stop():
    assert ByteLevelBPE().train("aaab aaab", 258).merges == {(97, 97): 256, (97, 98): 257}
    assert ByteLevelBPE().train("ab cd", 1000).merges == {}
    with pytest.raises(ValueError):
        ByteLevelBPE().train("abc", 255)


def test_round_trip_on_random_unicode():
    rng = random.Random(1)
    tok = ByteLevelBPE().train(reference_text(20_000) + " 日本語 🙂🙂 🙂🙂 e\u0301e\u0301", 420)
    for text in ["", " ", "\n\n  \t", *(random_text(rng, rng.randint(1, 60)) for _ in range(100))]:
        ids = tok.encode(text)
        assert all(0 <= i < tok.vocab_size for i in ids)
        assert tok.decode(ids) == text


def test_save_and_load(tmp_path):
    tok = ByteLevelBPE().train(reference_text(10_000), 300)
    path = tmp_path / "bpe.json"
    tok.save(path)
    again = ByteLevelBPE.load(path)
    assert again.merges == tok.merges and again.vocab == tok.vocab
    text = reference_text()[-2_000:]
    assert again.encode(text) == tok.encode(text)
    path.write_text('{"format": "other"}', encoding="utf-8")
    with pytest.raises(ValueError):
        ByteLevelBPE.load(path)


def test_close_to_hugging_face():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    train, held_out = reference_text(100_000), reference_text()[-20_000:]
    ours = ByteLevelBPE().train(train, 256 + 300)
    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=256 + 300, min_frequency=2, show_progress=False, special_tokens=[],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    hf.train_from_iterator([train], trainer=trainer)
    hf_tokens = {hf_token_bytes(t) for t in hf.get_vocab()}
    assert {bytes([b]) for b in range(256)} <= hf_tokens  # the byte table is right
    ours_tokens = {ours.vocab[i] for i in ours.merges.values()}
    assert len(ours_tokens & hf_tokens) >= 0.9 * len(ours_tokens)
    ratio = len(hf.encode(held_out).ids) / len(ours.encode(held_out))
    assert 0.98 < ratio < 1.02


def test_toy_trace_table():
    def counts(vocab):
        out = {}
        for word, f in vocab.items():
            for pair in zip(word, word[1:]):
                out[pair] = out.get(pair, 0) + f
        return out

    def merge(vocab, pair, new):
        out = {}
        for word, f in vocab.items():
            syms, i = [], 0
            while i < len(word):
                if word[i:i + 2] == pair:
                    syms.append(new)
                    i += 2
                else:
                    syms.append(word[i])
                    i += 1
            out[tuple(syms)] = out.get(tuple(syms), 0) + f
        return out

    vocab = {("a", "b", "b", "c", "</w>"): 1, ("a", "b", "b", "</w>"): 2, ("a", "b", "c", "</w>"): 1}
    merges = [(("a", "b"), "ab"), (("ab", "b"), "abb"), (("abb", "</w>"), "abb</w>"), (("c", "</w>"), "c</w>")]
    steps = trace_steps(vocab, merges, counts, merge)
    assert steps[-1].vocab == {("abb", "c</w>"): 1, ("abb</w>",): 2, ("ab", "c</w>"): 1}
    assert [steps[i].counts[m[0]] for i, m in enumerate(merges)] == [4, 3, 2, 2]
    names = handout_names(merges)
    assert names == {"ab": "A", "abb": "B", "abb</w>": "C", "c</w>": "D"}
    assert "B D ×1" in summary_html(steps, names)
