"""Fast checks of tfscourse.retrieval, the digits search of notebook 04 (about 10 s on 2 cores)."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.pictures import PLOT_CHANGED, PNG_MAGIC, changed_share
from tfscourse import retrieval


def reference_info_nce(image_emb, text_emb, temperature):
    """CLIP's symmetric InfoNCE, kept here because the package must not ship the notebook's answer."""
    logits = F.normalize(image_emb, dim=-1) @ F.normalize(text_emb, dim=-1).T / temperature  # (B, B)
    targets = torch.arange(len(logits))
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


def recall(similarity: np.ndarray, k: int) -> float:
    """recall@k with ties counted against the query (the notebook's definition)."""
    correct = np.diag(similarity)[:, None]
    return float(np.mean((similarity >= correct).sum(axis=1) - 1 < k))


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return a @ b.T


@pytest.fixture(scope="module")
def digits():
    return retrieval.load_captioned_digits()


@pytest.fixture(scope="module")
def short_run(digits):
    return retrieval.train_dual_encoder(digits, reference_info_nce, epochs=12)


def test_digits_and_captions(digits):
    assert digits.images.shape == (1797, 8, 8)
    assert 0.0 <= digits.images.min() and digits.images.max() <= 1.0
    assert len(set(digits.captions)) == 90
    for label in range(10):
        members = digits.labels == label
        for attribute in (digits.thickness, digits.slant):
            shares = np.bincount(attribute[members], minlength=3) / members.sum()
            assert np.all(np.abs(shares - 1 / 3) < 0.05), f"thirds within class {label} are unbalanced: {shares}"


def test_slant_sign():
    image = np.zeros((1, 8, 8))
    for row in range(8):
        image[0, row, 7 - row] = 1.0  # from bottom-left to top-right: leans right
    assert retrieval.slant_scores(image)[0] > 0
    assert retrieval.slant_scores(image[:, :, ::-1])[0] < 0


def test_captions_and_vocabulary():
    vocab = retrieval.Vocabulary()
    assert retrieval.describe(7, 2, 2) == "a thick seven leaning right"
    assert retrieval.describe(3, 1, 1) == "a three upright"
    rng = np.random.default_rng(0)
    for label in range(10):
        for thickness in range(3):
            for slant in range(3):
                text = retrieval.describe(label, thickness, slant, rng=rng)
                assert vocab.unknown_words(text) == [], f"paraphrase {text!r} uses unknown words"
    assert vocab.encode("A 7!") == vocab.encode("a seven")
    assert vocab.unknown_words("a purple seven") == ["purple"]


def test_encoders_shapes_and_empty_caption():
    model = retrieval.DualEncoder(retrieval.RetrievalConfig(embed_dim=5, hidden=7))
    assert model.embed_images(np.zeros((3, 8, 8))).shape == (3, 5)
    emb = model.embed_texts(["a seven", "", "zebra"])  # empty and unknown captions give the bias vector
    assert emb.shape == (3, 5) and np.all(np.isfinite(emb))
    assert np.allclose(emb[1], emb[2])


def test_gallery_has_one_image_per_caption(digits):
    gallery = retrieval.gallery_indices(digits, np.arange(len(digits)))
    captions = [digits.captions[i] for i in gallery]
    assert len(captions) == len(set(captions)) == 90


def test_training_learns_a_search(digits, short_run):
    threads = torch.get_num_threads()
    assert short_run.losses[-1] < short_run.losses[0] - 1.0
    assert len(set(short_run.train_indices) & set(short_run.test_indices)) == 0
    gallery = retrieval.gallery_indices(digits, short_run.test_indices)
    similarity = cosine(short_run.model.embed_texts([digits.captions[i] for i in gallery]),
                        short_run.model.embed_images(digits.images[gallery]))
    chance = 5 / len(gallery)
    assert recall(similarity, 5) > 10 * chance, f"text->image recall@5 {recall(similarity, 5):.2f}"
    assert torch.get_num_threads() == threads, "training must restore the thread count"


def test_grading_mode_shrinks_training(digits, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    config = retrieval.RetrievalConfig(grading_epochs=2)
    run = retrieval.train_dual_encoder(digits, reference_info_nce, config)
    assert len(run.losses) == 2


def test_caption_search_widget(digits, short_run):
    gallery = retrieval.gallery_indices(digits, short_run.test_indices)
    search = retrieval.CaptionSearch(short_run.model, digits, gallery, cosine, query="a purple seven", k=6)
    indices, scores = search.top_k("a thick seven", 6)
    assert len(indices) == 6 and set(indices) <= set(gallery.tolist())
    assert np.all(np.diff(scores) <= 0)
    assert "purple" in search.note.value
    bundle = search._repr_mimebundle_()
    assert "image/png" in bundle and bytes(search.image.value).startswith(PNG_MAGIC)
    # a change redraws without a front end, and the images shown change, not only the title
    before = search.image.value
    search.k.value = 3
    assert changed_share(before, search.image.value) > PLOT_CHANGED, "top k 6 -> 3 did not change the images"
    before = search.image.value
    search.text.value = "a thin one upright"
    assert changed_share(before, search.image.value) > PLOT_CHANGED, "a new caption did not change the images"
    static = base64.b64decode(search._repr_mimebundle_()["image/png"])
    assert changed_share(static, search.image.value) == 0, "the static picture must be the current search"
