"""A tiny CLIP-style image-caption search on scikit-learn's bundled 8x8 digits (notebook 04).

Everything here works offline: the 1,797 digit images ship inside scikit-learn
(``sklearn.datasets.load_digits``), and the captions are generated from each
image's label and two attributes measured on its pixels:

* stroke weight: *thin*, regular or *thick* (the amount of ink, in thirds within the digit's class);
* slant: *leaning left*, *upright* or *leaning right* (the ink's shear moment, in thirds within the class).

So image 17 may read "a thick seven leaning right". The model is a dual encoder
(an MLP for the 64 pixels, a bag-of-words for the caption) that maps both into
one shared space; it is trained with a contrastive loss that the notebook
passes in (the student's own ``info_nce_loss``), so this module holds no
answer to a graded exercise.

Example:
    >>> data = load_captioned_digits()
    >>> data.images.shape, len(data.captions)
    ((1797, 8, 8), 1797)
    >>> describe(7, 2, 2)
    'a thick seven leaning right'
    >>> Vocabulary().encode("A thick 7, leaning RIGHT!") == Vocabulary().encode("a thick seven leaning right")
    True
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
THICKNESS_WORDS = ("thin", "", "thick")  # canonical words for the lower, middle and upper third of ink
SLANT_WORDS = ("leaning left", "upright", "leaning right")  # canonical words for the three slant thirds

# Synonyms used to vary the training captions (index = attribute value).
_THICKNESS_VARIANTS = (("thin", "light", "thin"), ("", "regular", "medium"), ("thick", "bold", "heavy"))
_SLANT_VARIANTS = (("leaning left", "slanted left", "tilted left"), ("upright", "straight", "upright"),
                   ("leaning right", "slanted right", "tilted right"))
_OPENINGS = ("a", "the digit", "a handwritten", "number")


def _thirds_within_class(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """0, 1 or 2: which third of its own class each value falls in (class-wise terciles)."""
    out = np.zeros(len(values), dtype=np.int64)
    for label in np.unique(labels):
        members = labels == label
        low, high = np.quantile(values[members], [1 / 3, 2 / 3])
        out[members] = (values[members] > low).astype(int) + (values[members] > high).astype(int)
    return out


def slant_scores(images: np.ndarray) -> np.ndarray:
    """Shear of the ink: how far x moves right per row going up, weighted by ink. Positive = leans right.

    images: (N, 8, 8). Example: a stroke from bottom-left to top-right has a positive score.
    """
    rows, cols = np.mgrid[0:8, 0:8].astype(float)
    mass = images.sum(axis=(1, 2)) + 1e-9  # (N,)
    y_mean = (images * rows).sum(axis=(1, 2)) / mass  # (N,)
    x_mean = (images * cols).sum(axis=(1, 2)) / mass
    dy = rows[None] - y_mean[:, None, None]  # (N, 8, 8)
    dx = cols[None] - x_mean[:, None, None]
    cov_xy = (images * dx * dy).sum(axis=(1, 2)) / mass
    var_y = (images * dy * dy).sum(axis=(1, 2)) / mass + 1e-9
    return -cov_xy / var_y  # row index grows downwards, so leaning right means negative covariance


def describe(label: int, thickness: int, slant: int, rng: np.random.Generator | None = None) -> str:
    """A caption for a digit: canonical without ``rng``, a random paraphrase with one.

    Example: describe(3, 0, 1) -> 'a thin three upright'; describe(3, 1, 0) -> 'a three leaning left'.
    """
    if rng is None:
        words = ["a", THICKNESS_WORDS[thickness], DIGIT_WORDS[label], SLANT_WORDS[slant]]
    else:
        number = DIGIT_WORDS[label] if rng.random() < 0.7 else str(label)
        words = [_OPENINGS[rng.integers(len(_OPENINGS))],
                 _THICKNESS_VARIANTS[thickness][rng.integers(3)], number,
                 _SLANT_VARIANTS[slant][rng.integers(3)]]
    return " ".join(w for w in words if w)


@dataclass
class CaptionedDigits:
    """The digits with their attributes and canonical captions.

    images: (N, 8, 8) floats in [0, 1]; labels, thickness, slant: (N,) ints; captions: N strings.
    """

    images: np.ndarray
    labels: np.ndarray
    thickness: np.ndarray
    slant: np.ndarray
    captions: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def attributes(self, index: int) -> tuple[int, int, int]:
        return int(self.labels[index]), int(self.thickness[index]), int(self.slant[index])

    def paraphrase(self, index: int, rng: np.random.Generator) -> str:
        """A random rewording of caption ``index`` (synonyms, numerals), used for training."""
        return describe(*self.attributes(index), rng=rng)


def load_captioned_digits() -> CaptionedDigits:
    """scikit-learn's 1,797 8x8 digits (no download) with generated captions."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images / 16.0  # pixel values 0..16 -> [0, 1]
    labels = digits.target.astype(np.int64)
    thickness = _thirds_within_class(images.sum(axis=(1, 2)), labels)
    slant = _thirds_within_class(slant_scores(images), labels)
    captions = [describe(int(a), int(b), int(c)) for a, b, c in zip(labels, thickness, slant)]
    return CaptionedDigits(images, labels, thickness, slant, captions)


def split_indices(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A shuffled (train, test) split of range(n)."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def gallery_indices(data: CaptionedDigits, indices: Sequence[int]) -> np.ndarray:
    """The first image of each distinct caption among ``indices``.

    In this gallery every caption describes exactly one image, so "the correct item for query i is
    item i" is true and recall@k measures the model, not the ambiguity of the captions.
    """
    seen: set[str] = set()
    keep = []
    for i in indices:
        if data.captions[i] not in seen:
            seen.add(data.captions[i])
            keep.append(int(i))
    return np.array(keep, dtype=np.int64)


class Vocabulary:
    """Word <-> id for the caption words; unknown words are dropped (and can be listed).

    Example: Vocabulary().encode("a 7") == Vocabulary().encode("a seven") -> True
    """

    def __init__(self):
        words = {"a", "digit", "handwritten", "number", "the"}
        words.update(DIGIT_WORDS)
        for variants in (*_THICKNESS_VARIANTS, *_SLANT_VARIANTS):
            for phrase in variants:
                words.update(phrase.split())
        self.words = sorted(words)
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    @staticmethod
    def tokens(text: str) -> list[str]:
        """Lower-cased words; a numeral becomes its word ("7" -> "seven")."""
        out = []
        for word in re.findall(r"[a-z]+|[0-9]", text.lower()):
            out.append(DIGIT_WORDS[int(word)] if word.isdigit() else word)
        return out

    def encode(self, text: str) -> list[int]:
        return [self.index[w] for w in self.tokens(text) if w in self.index]

    def unknown_words(self, text: str) -> list[str]:
        return [w for w in self.tokens(text) if w not in self.index]


class ImageEncoder(nn.Module):
    """64 pixels -> hidden -> the shared space: (B, 8, 8) -> (B, embed_dim)."""

    def __init__(self, hidden: int, embed_dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, embed_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)  # (B, 8, 8) -> (B, 64) -> (B, hidden) -> (B, embed_dim)


class TextEncoder(nn.Module):
    """Mean of word vectors (a bag of words) -> MLP -> the shared space: B captions -> (B, embed_dim)."""

    def __init__(self, vocab_size: int, hidden: int, embed_dim: int):
        super().__init__()
        self.bag = nn.EmbeddingBag(vocab_size, hidden, mode="mean")
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(hidden, embed_dim))

    def forward(self, word_ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        # word_ids: all captions' ids concatenated (L,); offsets: where each caption starts (B,)
        return self.head(self.bag(word_ids, offsets))  # (B, hidden) -> (B, embed_dim)


@dataclass
class RetrievalConfig:
    """Settings of the tiny dual encoder; every value keeps training to seconds on a laptop CPU."""

    embed_dim: int = 32  # shared space: far more than the 10 x 3 x 3 = 90 caption meanings need
    hidden: int = 128  # one hidden layer of 128 units separates 8x8 digits well (>95% as a classifier)
    temperature: float = 0.1  # CLIP learns it and ends near 0.01; 0.1 is a stable fixed choice for a small batch
    batch_size: int = 128  # negatives per positive in each direction = batch_size - 1
    epochs: int = 60  # about 11 steps per epoch on the training split, under 10 s in total
    grading_epochs: int = 10  # while nbgrader runs the notebook: enough to check the pipeline, seconds
    lr: float = 3e-3  # Adam; the model is tiny and the loss is smooth
    weight_decay: float = 1e-4
    test_fraction: float = 0.3  # held-out images for the search gallery
    seed: int = 0


class DualEncoder(nn.Module):
    """An image encoder and a text encoder that map into the same space."""

    def __init__(self, config: RetrievalConfig, vocab: Vocabulary | None = None):
        super().__init__()
        self.config = config
        self.vocab = vocab or Vocabulary()
        self.image_encoder = ImageEncoder(config.hidden, config.embed_dim)
        self.text_encoder = TextEncoder(len(self.vocab), config.hidden, config.embed_dim)

    def encode_images(self, images) -> torch.Tensor:
        return self.image_encoder(torch.as_tensor(np.asarray(images), dtype=torch.float32))

    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        ids = [self.vocab.encode(t) for t in texts]
        offsets = torch.tensor([0] + [len(x) for x in ids[:-1]]).cumsum(0)  # (B,)
        flat = torch.tensor([i for x in ids for i in x], dtype=torch.long)  # (L,)
        return self.text_encoder(flat, offsets)

    @torch.no_grad()
    def embed_images(self, images) -> np.ndarray:
        """(N, 8, 8) images -> (N, embed_dim) NumPy embeddings (not normalised)."""
        self.eval()
        return self.encode_images(images).numpy().astype(float)

    @torch.no_grad()
    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """N captions -> (N, embed_dim) NumPy embeddings (not normalised)."""
        self.eval()
        return self.encode_texts(list(texts)).numpy().astype(float)


LossFn = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]


def loss_and_gradients(loss_fn: LossFn, image_emb, text_emb, temperature: float) -> dict:
    """Call ``loss_fn`` on fresh leaf copies of the embeddings and return what a test checks, as plain data.

    A grader that runs outside the notebook's process receives tensors as values, without autograd
    history; this runs the loss and its backward pass where the loss function lives and sends back
    the numbers. Keys: ``type`` (the result's type name), ``shape`` (its shape, ``None`` if it is no
    tensor), ``loss`` (float or ``None``), ``requires_grad``, and ``grad_image`` / ``grad_text``
    (tensors, or ``None`` when no gradient reached that input).

    Example:
        >>> out = loss_and_gradients(lambda u, v, t: ((u - v) ** 2).sum() / t, torch.ones(1, 2), torch.zeros(1, 2), 2.0)
        >>> out["loss"], out["grad_image"].tolist()
        (1.0, [[1.0, 1.0]])
    """
    u = torch.as_tensor(image_emb).detach().clone().requires_grad_(True)
    v = torch.as_tensor(text_emb).detach().clone().requires_grad_(True)
    result = loss_fn(u, v, temperature)
    out = {"type": type(result).__name__, "shape": None, "loss": None, "requires_grad": False,
           "grad_image": None, "grad_text": None}
    if not isinstance(result, torch.Tensor):
        return out
    out["shape"] = list(result.shape)
    if result.numel() == 1:
        out["loss"] = float(result.detach().reshape(()).item())
    out["requires_grad"] = bool(result.requires_grad)
    if result.requires_grad and result.numel() == 1:
        result.reshape(()).backward()
        out["grad_image"] = None if u.grad is None else u.grad.detach().clone()
        out["grad_text"] = None if v.grad is None else v.grad.detach().clone()
    return out


@dataclass
class TrainingRun:
    model: DualEncoder
    train_indices: np.ndarray
    test_indices: np.ndarray
    losses: list[float] = field(default_factory=list)  # mean loss per epoch
    seconds: float = 0.0


def train_dual_encoder(data: CaptionedDigits, loss_fn: LossFn, config: RetrievalConfig | None = None,
                       epochs: int | None = None) -> TrainingRun:
    """Train a DualEncoder with ``loss_fn(image_emb, text_emb, temperature)`` on shuffled batches.

    Each epoch pairs every training image with a fresh paraphrase of its caption. ``epochs`` defaults
    to ``config.epochs``, or ``config.grading_epochs`` while nbgrader runs the notebook.
    """
    from tfscourse.environment import grading_mode

    config = config or RetrievalConfig()
    if epochs is None:
        epochs = config.grading_epochs if grading_mode() else config.epochs
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    train_idx, test_idx = split_indices(len(data), config.test_fraction, config.seed)
    model = DualEncoder(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    images = torch.tensor(data.images, dtype=torch.float32)  # (N, 8, 8)
    run = TrainingRun(model, train_idx, test_idx)
    threads = torch.get_num_threads()
    # The matrices are tiny: one thread is fastest, and several threads on a busy machine spin-wait
    # (measured 10x slower with 2 threads while other processes used the cores).
    torch.set_num_threads(1)
    start = time.perf_counter()
    model.train()
    try:
        _train_epochs(model, optimizer, data, images, train_idx, loss_fn, config, epochs, rng, run)
    finally:
        torch.set_num_threads(threads)
    run.seconds = time.perf_counter() - start
    model.eval()
    return run


def _train_epochs(model, optimizer, data, images, train_idx, loss_fn, config, epochs, rng, run) -> None:
    for _ in range(epochs):
        order = rng.permutation(train_idx)
        total, batches = 0.0, 0
        for first in range(0, len(order), config.batch_size):
            batch = order[first:first + config.batch_size]
            if len(batch) < 2:
                continue  # a contrastive loss needs at least one negative
            texts = [data.paraphrase(int(i), rng) for i in batch]
            image_emb = model.encode_images(images[batch])  # (B, embed_dim)
            text_emb = model.encode_texts(texts)  # (B, embed_dim)
            loss = loss_fn(image_emb, text_emb, config.temperature)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, batches = total + loss.item(), batches + 1
        run.losses.append(total / max(batches, 1))


# ---- pictures and the search widget ---------------------------------------------------------


def digits_figure(images: np.ndarray, titles: Sequence[str], ncols: int = 5, suptitle: str = ""):
    """A matplotlib Figure (not attached to pyplot) with a grid of 8x8 images and their titles."""
    from matplotlib.figure import Figure

    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig = Figure(figsize=(2.0 * ncols, 2.15 * nrows + (0.3 if suptitle else 0.0)), layout="constrained")
    for k in range(nrows * ncols):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        ax.axis("off")
        if k < n:
            ax.imshow(images[k], cmap="gray_r", vmin=0.0, vmax=1.0)
            ax.set_title(titles[k], fontsize=8, wrap=True)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


SimilarityFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


class CaptionSearch:
    """Type a caption, see the top-k gallery images under ``similarity_fn`` (e.g. the student's cosine).

    Example:
        search = CaptionSearch(model, data, gallery, cosine_similarity_matrix)
        search.top_k("a thick seven", 5)  -> (indices into data, scores)
    """

    def __init__(self, model: DualEncoder, data: CaptionedDigits, gallery: Sequence[int],
                 similarity_fn: SimilarityFn, query: str = "a thick seven leaning right", k: int = 8):
        import ipywidgets as widgets

        self.model, self.data = model, data
        self.gallery = np.asarray(gallery, dtype=np.int64)
        self.similarity_fn = similarity_fn
        self.gallery_emb = model.embed_images(data.images[self.gallery])  # (G, embed_dim)
        self.text = widgets.Text(value=query, description="caption", continuous_update=False,
                                 layout=widgets.Layout(width="28em"))
        self.k = widgets.IntSlider(value=k, min=1, max=20, description="top k", continuous_update=False)
        self.note = widgets.HTML()
        self.image = widgets.Image(format="png")
        self.box = widgets.VBox([widgets.HBox([self.text, self.k]), self.note, self.image])
        self.text.observe(self._changed, names="value")
        self.k.observe(self._changed, names="value")
        self.redraw()

    def top_k(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices (into the data set) of the k best gallery images for ``query``, and their scores."""
        query_emb = self.model.embed_texts([query])  # (1, embed_dim)
        scores = np.asarray(self.similarity_fn(query_emb, self.gallery_emb), dtype=float)[0]  # (G,)
        best = np.argsort(-scores, kind="stable")[:k]
        return self.gallery[best], scores[best]

    def figure(self):
        query, k = self.text.value, self.k.value
        indices, scores = self.top_k(query, k)
        titles = [f"{s:+.2f} {self.data.captions[i].removeprefix('a ')}" for i, s in zip(indices, scores)]
        return digits_figure(self.data.images[indices], titles, ncols=min(k, 5), suptitle=f"top {k} for '{query}'")

    def redraw(self) -> None:
        from tfscourse.widgets import figure_png

        unknown = self.model.vocab.unknown_words(self.text.value)
        self.note.value = f"<i>ignored (not in the vocabulary): {', '.join(unknown)}</i>" if unknown else ""
        self.image.value = figure_png(self.figure())

    def _changed(self, change) -> None:
        self.redraw()

    def _repr_mimebundle_(self, **kwargs):
        import base64

        bundle = self.box._repr_mimebundle_(**kwargs)
        bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")  # static picture for viewers
        return bundle


def show_caption_search(model: DualEncoder, data: CaptionedDigits, gallery: Sequence[int],
                        similarity_fn: SimilarityFn, **kwargs) -> CaptionSearch:
    """Display a CaptionSearch widget and return it."""
    from IPython.display import display

    search = CaptionSearch(model, data, gallery, similarity_fn, **kwargs)
    display(search)
    return search
