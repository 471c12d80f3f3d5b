"""The shared references of hidden blocks (tfscourse_staff.hidden_references): what the build injects."""

import tomllib
from pathlib import Path

from tfscourse_staff import hidden_helpers, hidden_references

ROOT = Path(__file__).resolve().parents[1]
NAMES = [name for name, _ in hidden_references._definitions()]


def test_a_block_that_names_no_reference_gets_the_old_prelude():
    assert hidden_helpers.prelude("assert f(1) == 2") == hidden_helpers.PREAMBLE
    assert hidden_helpers.prelude("assert _close(f(1.0), 2.0)") == (
        f"{hidden_helpers.PREAMBLE}\n{hidden_helpers.COMPARISON_SOURCE}\n\n")
    # a name that merely contains a reference's name is not a use of it
    assert hidden_references.names_used("test_bpe_encode_word = 1\nx._bpe_split(2)\nmy_bpe_split(3)") == []


def test_a_block_gets_what_it_names_and_what_that_calls():
    assert hidden_references.names_used("_bpe_ref_encode(text, merges)") == ["_bpe_split", "_bpe_merge_ids",
                                                                                 "_bpe_ref_encode"]
    assert hidden_references.names_used("_bpe_check_learn('ab ab', '</w>', 'x')") == [
        "_bpe_ref_pair_counts", "_bpe_ref_merge_word", "_bpe_merge_loop", "_bpe_ref_learn", "_bpe_ref_learn_with_yours",
        "_bpe_check_learn"]


def test_the_prelude_of_a_built_block_is_the_prelude_of_the_source_block():
    """The master test reads the prelude back from the built block; the injected code must not change it."""
    for block in ("_bpe_ref_train('ab ab', 258)", "assert _close(1.0, 1.0)\n_bpe_ref_encode_word('ab', [], '</w>')"):
        built = hidden_helpers.prelude(block) + "\n" + block
        assert hidden_helpers.prelude(built) == hidden_helpers.prelude(block)


def test_the_injected_code_runs_on_its_own():
    namespace = {}
    exec(hidden_helpers.prelude("_bpe_ref_learn(t, e); _bpe_ref_encode(t, m); _bpe_ref_encode_word(w, m, e)"),
         namespace)
    toy = namespace["_bpe_ref_learn"]("abbc abb abc abb", "</w>")
    assert toy == [(("a", "b"), "ab"), (("ab", "b"), "abb"), (("abb", "</w>"), "abb</w>"), (("c", "</w>"), "c</w>")]
    assert namespace["_bpe_ref_encode_word"]("abc", [(("b", "c"), "bc"), (("a", "b"), "ab")], "</w>") == ["a", "bc", "</w>"]
    assert namespace["_bpe_ref_encode"]("abc abc", {(98, 99): 256, (99, 32): 257}) == [97, 256, 32, 97, 256]
    assert "_close(" not in hidden_references.source_for(" ".join(NAMES)), "references must not use the comparison helper"


def test_every_reference_has_a_notebook_prefix_and_is_known_to_ruff():
    builtins = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]["builtins"]
    assert NAMES and all(name.startswith(hidden_references.PREFIXES) for name in NAMES)
    assert set(NAMES) <= set(builtins), "list every reference in pyproject.toml's [tool.ruff] builtins"
