"""The token estimator: deterministic, cheap, roughly len/4 for prose and more for code."""

from __future__ import annotations

import re

import pytest

from orchestrator_kit.llm.tokens import _pieces, estimate_tokens, estimate_usage
from orchestrator_kit.llm.types import Usage

PROSE = (
    "The orchestrator plans each step, asks the model for a structured answer, and checks it "
    "against the schema before moving on. "
) * 40
CODE = "def f(x, y):\n    return {'a': [x[0], y.get('k', 1)], 'b': (x or y)}\n" * 40


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", 0),
        (" ", 1),
        ("a", 1),
        ("\n", 1),
        ("abcd" * 100, 100),  # one long word: the byte count holds it at len/4
    ],
)
def test_small_and_edge_cases(text, expected):
    assert estimate_tokens(text) == expected


@pytest.mark.parametrize("text", ["x", " ", ".", "é", "日本", "\U0001f600", PROSE, CODE])
def test_never_zero_for_non_empty_text(text):
    assert estimate_tokens(text) >= 1


def test_prose_is_about_four_chars_per_token():
    est = estimate_tokens(PROSE)
    assert 0.8 * len(PROSE) / 4 <= est <= 1.3 * len(PROSE) / 4


def test_code_counts_more_per_char_than_prose():
    per_char_code = estimate_tokens(CODE) / len(CODE)
    per_char_prose = estimate_tokens(PROSE) / len(PROSE)
    assert per_char_code > 1.3 * per_char_prose


def test_deterministic():
    assert [estimate_tokens(PROSE + CODE) for _ in range(3)] == [estimate_tokens(PROSE + CODE)] * 3


@pytest.mark.parametrize("base", [PROSE, CODE, "word", "a(b)"])
def test_monotonic_when_text_grows(base):
    values = [estimate_tokens(base * k) for k in range(1, 6)]
    assert values == sorted(values)
    assert values[-1] > values[0]
    # appending anything never lowers the estimate
    for suffix in ["", "x", " ", ".", "more words here", "{[()]}"]:
        assert estimate_tokens(base + suffix) >= estimate_tokens(base)


def test_roughly_additive():
    a, b = estimate_tokens(PROSE), estimate_tokens(CODE)
    assert a + b - 2 <= estimate_tokens(PROSE + CODE) <= a + b + 2


@pytest.mark.parametrize("text", [PROSE, CODE, "snake_case_name = foo(bar, baz)[0];", "a--b  ..c\t_d_ 42"])
def test_piece_count_matches_the_regex_on_ascii(text):
    assert _pieces(text.encode()) == len(re.findall(r"\w+|[^\w\s]", text, re.ASCII))


def test_large_input_is_handled():
    big = (PROSE + CODE) * 10  # ~80 KB
    assert estimate_tokens(big) > estimate_tokens(PROSE + CODE) * 9


def test_estimate_usage():
    u = estimate_usage(PROSE, "short answer.")
    assert isinstance(u, Usage)
    assert u.estimated is True
    assert u.input_tokens == estimate_tokens(PROSE)
    assert u.output_tokens == estimate_tokens("short answer.")
    assert u.cache_read_tokens == u.cache_write_5m_tokens == u.cache_write_1h_tokens == 0
    assert estimate_usage("", "") == Usage(estimated=True)
