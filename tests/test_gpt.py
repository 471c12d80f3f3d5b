"""Fast checks of the GPT code: notebook 06's reference model (tfscourse.unlocked.gpt), the training
tools (tfscourse.gpt_training) and the corpus/tokenizer (tfscourse.lm_corpus)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from tfscourse import gpt_training as training
from tfscourse.lm_corpus import decode, encode, load_corpus, token_strings, train_tokenizer
from tfscourse.unlocked import gpt

ROOT = Path(__file__).resolve().parents[1]

TINY = gpt.GPTConfig(block_size=16, vocab_size=50, n_layer=2, n_head=2, n_embd=16)
# what notebook 06 passes to train: the student's four functions (here the reference answers)
STUDENT_FUNCTIONS = {"get_batch_fn": gpt.get_batch, "lr_fn": gpt.lr_at, "optimizer_fn": gpt.configure_optimizer,
                     "step_fn": gpt.train_step}


def test_gpt2_small_parameter_count():
    with torch.device("meta"):
        model = gpt.GPT(gpt.GPTConfig())
    assert model.num_params() == 124_439_808
    assert model.num_params(non_embedding=True) == 124_439_808 - 1024 * 768


def test_explicit_attention_matches_sdpa_and_is_causal():
    torch.manual_seed(0)
    model = gpt.GPT(TINY).eval()
    idx = torch.randint(0, 50, (3, 11))
    with torch.no_grad():
        training.set_sdpa(model, True)
        fused, _ = model(idx)
        training.set_sdpa(model, False)
        explicit, _ = model(idx)
        changed = idx.clone()
        changed[:, 6:] = (changed[:, 6:] + 1) % 50
        later, _ = model(changed)
    torch.testing.assert_close(fused, explicit, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(later[:, :6], explicit[:, :6], rtol=1e-5, atol=1e-5)
    assert "mask" in dict(model.transformer.h[0].attn.named_buffers())


def test_initial_loss_is_ln_vocab_and_head_is_tied():
    torch.manual_seed(0)
    model = gpt.GPT(TINY)
    assert model.lm_head.weight is model.transformer.wte.weight
    _, loss = model(torch.randint(0, 50, (8, 16)), torch.randint(0, 50, (8, 16)))
    assert abs(loss.item() - math.log(50)) < 0.1


def test_get_batch_and_schedule():
    data = torch.arange(20)
    x, y = gpt.get_batch(data, 5, 7, torch.Generator().manual_seed(0))
    assert x.shape == (7, 5) and x.dtype == torch.long
    assert torch.equal(y, x + 1) and int(y.max()) <= 19
    assert gpt.lr_at(0, 1.0, 10, 100, 0.1) == pytest.approx(0.1)
    assert gpt.lr_at(55, 1.0, 10, 100, 0.1) == pytest.approx(0.55)
    assert gpt.lr_at(500, 1.0, 10, 100, 0.1) == pytest.approx(0.1)


def test_optimizer_decays_matrices_only():
    model = gpt.GPT(TINY)
    opt = gpt.configure_optimizer(model, lr=1e-3, weight_decay=0.1)
    decay, no_decay = opt.param_groups
    assert all(p.dim() >= 2 for p in decay["params"]) and decay["weight_decay"] == 0.1
    assert all(p.dim() < 2 for p in no_decay["params"]) and no_decay["weight_decay"] == 0.0
    assert sum(p.numel() for g in opt.param_groups for p in g["params"]) == model.num_params()


def test_train_lowers_loss_and_logs_to_stdout(capsys):
    torch.manual_seed(0)
    data = torch.tensor([i % 7 for i in range(400)])
    model = gpt.GPT(gpt.GPTConfig(block_size=8, vocab_size=7, n_layer=1, n_head=1, n_embd=16))
    cfg = training.TrainConfig(batch_size=8, max_steps=40, warmup_steps=5, max_lr=3e-3, min_lr=3e-4, eval_interval=20, eval_iters=2)
    hist = training.train(model, data, data, cfg, torch.device("cpu"), **STUDENT_FUNCTIONS)
    assert hist.steps == [0, 20, 40] and hist.val_loss[-1] < hist.val_loss[0] - 0.5
    out = capsys.readouterr()
    assert "step    40/40" in out.out and out.err == ""


def test_generate_top_k_one_is_greedy_and_crops():
    torch.manual_seed(0)
    model = gpt.GPT(TINY).eval()
    prompt = torch.randint(0, 50, (2, 20))  # longer than block_size
    out = model.generate(prompt, 3, top_k=1)
    assert out.shape == (2, 23)
    with torch.no_grad():
        first = model(prompt[:, -16:])[0][:, -1].argmax(-1)
    assert torch.equal(out[:, 20], first)
    assert torch.equal(model.generate(prompt, 3, temperature=0), out)


def test_attention_maps_are_causal_distributions():
    torch.manual_seed(0)
    model = gpt.GPT(TINY)
    maps = training.attention_maps(model, torch.randint(0, 50, (9,)))
    assert len(maps) == 2 and maps[0].shape == (2, 9, 9)
    torch.testing.assert_close(maps[1].sum(-1), torch.ones(2, 9))
    assert float(maps[0].triu(1).abs().max()) == 0.0


def test_presets_are_consistent():
    for preset in training.PRESETS.values():
        assert preset.model.n_embd % preset.model.n_head == 0
        assert preset.tokenizer_vocab == preset.model.vocab_size
        assert preset.train.warmup_steps < preset.train.max_steps
        assert preset.measured or "UNMEASURED" in preset.note  # an estimate says so


def test_preset_follows_the_device(monkeypatch):
    assert training.choose_preset(torch.device("cpu")) is training.CPU_REFERENCE

    def gpu(capability, gib):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
        monkeypatch.setattr(torch.cuda, "get_device_properties",
                            lambda device=None: type("Props", (), {"total_memory": gib * 2**30})())
        return training.choose_preset(torch.device("cuda"))

    assert gpu((7, 5), 15) is training.COLAB_T4  # Tesla T4
    assert gpu((8, 0), 40) is training.LARGE_GPU  # A100 40 GB
    assert gpu((9, 0), 80) is training.LARGE_GPU  # H100
    assert gpu((8, 6), 12) is training.COLAB_T4  # a small Ampere card


def test_preset_never_reads_a_small_corpus_many_times():
    t4 = training.COLAB_T4
    per_step = t4.train.batch_size * t4.model.block_size
    cut = training.fit_to_corpus(t4, 3_000_000)  # the offline corpus, after a failed download
    assert cut.train.max_steps * per_step <= 4 * 3_000_000 < (cut.train.max_steps + 1) * per_step
    assert cut.train.warmup_steps < cut.train.max_steps and "cut to" in cut.note
    assert t4.train.max_steps == 2500  # the preset itself is unchanged
    assert training.fit_to_corpus(t4, 10**9) is t4  # a large corpus: nothing to cut


def test_bigram_baseline_matches_counts_and_is_optimistic():
    from tfscourse.lm_corpus import bigram_baseline, bits_per_character

    ids = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 3] * 50)
    result = bigram_baseline(ids, ids, 4)
    # 1 always follows 0 and 0 always follows 2; after 1 comes 2 twice as often as 3
    assert result["loss"] < 0.5 < math.log(4)
    assert result["loss"] == min(result["losses"].values())
    assert bits_per_character(math.log(2), 10, 10) == pytest.approx(1.0)
    assert bits_per_character(2.0, 100, 400) == pytest.approx(0.5 / math.log(2))


def test_cpu_preset_reads_the_language_reference_byte_by_byte(monkeypatch):
    """The CPU preset's text is 05's (same validation characters) and its tokens are bytes."""
    from tfscourse.char_lstm import CharLMConfig
    from tfscourse.corpora import reference_text, train_val_split

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")  # offline, as while grading
    preset = training.CPU_REFERENCE
    corpus = load_corpus(preset.corpus)
    assert "language reference" in corpus.name
    assert (corpus.train, corpus.val) == train_val_split(reference_text(), CharLMConfig.val_fraction)  # 05's split
    tok = train_tokenizer(corpus.train[:20_000], vocab_size=preset.tokenizer_vocab)
    assert tok.get_vocab_size() == preset.model.vocab_size == 256  # bytes only, no merges
    text = corpus.val[:3000]
    assert len(encode(tok, text)) == len(text.encode("utf-8"))  # one token per byte


def test_stdlib_corpus_splits_by_file():
    from tfscourse.lm_corpus import stdlib_corpus, stdlib_files

    files = stdlib_files()
    assert files and not any(part in ("test", "tests", "site-packages") for f in files for part in f.parts[-3:-1])
    corpus = stdlib_corpus(max_chars=50_000)
    assert len(corpus.train) == 50_000 and 0 < len(corpus.val) <= 50_000 // 9 + 1
    assert corpus.train[:200] != corpus.val[:200] and "standard library" in corpus.name


def test_hugging_face_loading_on_a_local_copy(tmp_path, monkeypatch):
    """The streaming code of load_corpus("tinystories") on a small local copy written here.

    With the real ``datasets`` installed it reads the copy; without it, a stand-in with the same
    ``load_dataset(path, name, split=..., streaming=True)`` reads the same files.
    """
    import json
    import sys
    import types

    from tfscourse.lm_corpus import load_corpus

    stories = {"train": [f"Once upon a time there was a cat number {i}." for i in range(200)],
               "validation": [f"Lily saw a dog number {i}." for i in range(30)]}
    for split, texts in stories.items():
        (tmp_path / f"{split}.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    try:
        import datasets  # noqa: F401
    except ImportError:
        def load_dataset(path, name=None, split="train", streaming=False):
            assert streaming and name is None
            lines = (tmp_path / f"{split}.jsonl").read_text().splitlines() if path == str(tmp_path) else []
            return iter(json.loads(line) for line in lines)

        monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    corpus = load_corpus("tinystories", max_chars=900, hf_path=str(tmp_path))
    assert corpus.name.startswith("TinyStories") and len(corpus.train) == 900
    assert corpus.train.startswith("Once upon a time there was a cat number 0.\nOnce upon")
    assert corpus.val.startswith("Lily saw a dog number 0.") and len(corpus.val) <= 900 // 9 + 1
    full = load_corpus("tinystories", hf_path=str(tmp_path))
    assert full.train == "\n".join(stories["train"]) and full.val == "\n".join(stories["validation"])
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")  # graded: never the network, the offline text
    assert "standard library" in load_corpus("tinystories", max_chars=1000, hf_path=str(tmp_path)).name


def test_corpus_and_tokenizer_offline(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")  # never touches the network while grading
    corpus = load_corpus(max_chars=30_000)
    assert "offline" in corpus.name and "standard library" in corpus.name and len(corpus.train) > 8 * len(corpus.val) > 0
    tok = train_tokenizer(corpus.train, vocab_size=400)
    assert tok.get_vocab_size() <= 400
    text = corpus.val[:500] + " ünïcödé ✓"
    ids = encode(tok, text)
    assert ids.dtype == torch.long and decode(tok, ids) == text
    assert len(token_strings(tok, ids[:5])) == 5


def test_grad_scaler_is_torch_amp_and_the_torch_floor_has_it():
    """torch.amp.GradScaler came with torch 2.3: pyproject must not allow an older torch (notebook 06 uses it)."""
    floor = re.search(r'"torch>=(\d+)\.(\d+)', (ROOT / "pyproject.toml").read_text())
    assert floor and (int(floor[1]), int(floor[2])) >= (2, 3), "pyproject allows a torch without torch.amp.GradScaler"
    scaler = training.make_grad_scaler(enabled=False)
    assert isinstance(scaler, torch.amp.GradScaler)
    loss = torch.tensor(2.0, requires_grad=True)
    assert scaler.scale(loss) is loss  # disabled: a no-op, as on the CPU


def test_grading_helpers_return_plain_data():
    torch.manual_seed(0)
    assert training.parameter_count(gpt.GPT, gpt.GPTConfig()) == 124_439_808
    g1, g2 = training.make_generator(5), training.make_generator(5)
    assert torch.equal(torch.randint(100, (4,), generator=g1), torch.randint(100, (4,), generator=g2))
    model = gpt.GPT(TINY)
    x, y = torch.randint(0, 50, (2, 16)), torch.randint(0, 50, (2, 16))
    step = training.adamw_step(model, x, y, lr=1e-2)
    assert step["loss_after"] < step["loss_before"]
    assert sum(n for n, _ in step["parameters"].values()) == model.num_params()
    assert all(norm is not None and norm > 0 for _, norm in step["parameters"].values())


def test_int_dropout_is_accepted():
    model = gpt.GPT(gpt.GPTConfig(block_size=8, vocab_size=20, n_layer=1, n_head=2, n_embd=8, dropout=0))
    assert model(torch.zeros(1, 4, dtype=torch.long))[0].shape == (1, 4, 20)


@dataclass
class ConfigIntDropout:
    """GPT-2 small's defaults with ``dropout: float = 0`` (an int zero): a right answer."""

    block_size: int = 1024
    vocab_size: int = 50257
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0
    bias: bool = True


def test_config_with_int_dropout_passes_the_notebook_check():
    """The config check accepts dropout 0 written as an int, in the kernel and on the judge."""
    from tests.conftest import harness
    from tests.nbharness import Wrong
    from tests.test_judge_known_wrong import _judge

    h = harness("06_gpt")
    right = Wrong("GPTConfig", ConfigIntDropout, ("test_gpt_config",))
    assert h.run_test("test_gpt_config", right).passed
    assert not _judge(h.test_sources["test_gpt_config"], h.namespace_with("test_gpt_config", right), "test_gpt_config").error


# ---- checkpoints ------------------------------------------------------------------------------


def _checkpoint_run(path=None, stop_after=None, **changes):
    """A tiny deterministic run (dropout on, so that the global random state matters too); with
    ``stop_after`` the step function raises KeyboardInterrupt on that call, as a runtime that disconnects."""
    torch.manual_seed(0)
    data = torch.tensor([(i * 7 + i // 5) % 11 for i in range(600)])
    model = gpt.GPT(gpt.GPTConfig(block_size=8, vocab_size=11, n_layer=1, n_head=2, n_embd=16, dropout=0.1))
    cfg = training.TrainConfig(**{"batch_size": 4, "max_steps": 10, "warmup_steps": 2, "max_lr": 3e-3,
                                  "min_lr": 3e-4, "eval_interval": 4, "eval_iters": 2, **changes})
    calls = []

    def step_fn(*args):
        calls.append(1)
        if stop_after is not None and len(calls) == stop_after:
            raise KeyboardInterrupt
        return gpt.train_step(*args)

    functions = {**STUDENT_FUNCTIONS, "step_fn": step_fn}
    hist = training.train(model, data[:500], data[500:], cfg, torch.device("cpu"), **functions, log=None,
                          checkpoint_path=path, checkpoint_every=3)
    return model, hist, len(calls)


def test_an_interrupted_run_resumes_to_the_same_weights_and_losses(tmp_path):
    model, hist, _ = _checkpoint_run()
    path = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        _checkpoint_run(path, stop_after=8)  # checkpoints after steps 3 and 6; step 8 never finishes
    assert path.exists() and not path.with_name("run.pt.tmp").exists()
    resumed, hist2, calls = _checkpoint_run(path)
    assert calls == 4  # steps 6, 7, 8, 9 (0-based) again, not from the start
    for name, value in model.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], value), name
    assert hist2.steps == hist.steps == [0, 4, 8, 10]
    assert hist2.val_loss == hist.val_loss and hist2.train_loss == hist.train_loss
    assert hist2.loss == hist.loss and hist2.grad_norm == hist.grad_norm and hist2.lr == hist.lr
    # a finished run is loaded, not trained again
    again, hist3, calls = _checkpoint_run(path)
    assert calls == 0 and hist3.val_loss == hist.val_loss
    assert all(torch.equal(again.state_dict()[k], v) for k, v in model.state_dict().items())


def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    path = tmp_path / "run.pt"
    _checkpoint_run(path)
    with pytest.raises(training.CheckpointError, match=r"different run.*max_lr: checkpoint 0.003, now 0.001"):
        _checkpoint_run(path, max_lr=1e-3)
    with pytest.raises(training.CheckpointError, match="different run.*code"):
        torch.manual_seed(0)
        model = gpt.GPT(gpt.GPTConfig(block_size=8, vocab_size=11, n_layer=1, n_head=2, n_embd=16, dropout=0.1))
        data = torch.tensor([(i * 7 + i // 5) % 11 for i in range(600)])
        cfg = training.TrainConfig(batch_size=4, max_steps=10, warmup_steps=2, max_lr=3e-3, min_lr=3e-4,
                                   eval_interval=4, eval_iters=2)
        training.train(model, data[:500], data[500:], cfg, torch.device("cpu"), **STUDENT_FUNCTIONS, log=None,
                       checkpoint_path=path)  # the reference step function, not the wrapper: other code


def test_a_corrupt_checkpoint_gives_a_clear_error(tmp_path):
    path = tmp_path / "run.pt"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(training.CheckpointError, match="cannot be read.*delete it"):
        _checkpoint_run(path)
    torch.save({"something": 1}, path)
    with pytest.raises(training.CheckpointError, match="not a checkpoint of tfscourse.gpt_training.train"):
        _checkpoint_run(path)
    _checkpoint_run(path.with_name("good.pt"))
    data = path.with_name("good.pt").read_bytes()
    path.write_bytes(data[: len(data) // 2])  # cut off half-way (what the atomic write prevents)
    with pytest.raises(training.CheckpointError, match="cannot be read"):
        _checkpoint_run(path)
