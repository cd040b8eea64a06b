"""The money table and Decimal costs (figures hand-computed from the reference price table)."""

from __future__ import annotations

import json
import warnings
from datetime import date
from decimal import Decimal
from importlib import resources

import pytest

from orchestrator_kit.errors import ConfigError, ModelRetiredError, UnknownModelError
from orchestrator_kit.llm import pricing
from orchestrator_kit.llm.pricing import (
    DEFAULT_MODEL,
    GUIDE_MODEL,
    CostBreakdown,
    ModelPrice,
    ModelRetirementWarning,
    PriceTable,
    UnknownPriceWarning,
    check_model,
    cost_of,
    format_usd,
    get_price,
    is_known_model,
    model_warnings,
    price_table,
    worst_case_cost,
)
from orchestrator_kit.llm.types import Usage

D = Decimal
M = 1_000_000

SDK_MODEL_IDS = [
    "claude-fable-5-2",
    "claude-mythos-5-2",
    "claude-haiku-5-5",
    "claude-sonnet-5-5",
    "claude-fable-5-1",
    "claude-opus-5-5",
    "claude-mythos-5-1",
    "claude-sonnet-5",
    "claude-fable-5",
    "claude-mythos-5",
    "claude-opus-5",
    "claude-opus-4-8",
    "claude-opus-4-7",
    "claude-mythos-preview",
    "claude-opus-4-6",
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
    "claude-haiku-4-5-20251001",
    "claude-opus-4-5",
    "claude-opus-4-5-20251101",
    "claude-sonnet-4-5",
    "claude-sonnet-4-5-20250929",
]
UNPRICED = [
    "claude-fable-5-2",
    "claude-mythos-5-2",
    "claude-mythos-5-1",
    "claude-fable-5",
    "claude-mythos-5",
    "claude-mythos-preview",
]

# id: (input, output, cache_write_5m, cache_write_1h, cache_read), USD per million tokens
EXPECTED_PRICES = {
    "claude-fable-5-1": ("10", "50", "12.50", "20", "0.25"),
    "claude-opus-5-5": ("4", "20", "5", "8", "0.20"),
    "claude-sonnet-5-5": ("2", "10", "2.50", "4", "0.20"),
    "claude-haiku-5-5": ("0.10", "0.50", "0.125", "0.20", "0.01"),
    "claude-opus-5": ("5", "25", "6.25", "10", "0.50"),
    "claude-sonnet-5": ("2", "10", "2.50", "4", "0.20"),
    "claude-opus-4-8": ("5", "25", "6.25", "10", "0.50"),
    "claude-opus-4-7": ("5", "25", "6.25", "10", "0.50"),
    "claude-opus-4-6": ("5", "25", "6.25", "10", "0.50"),
    "claude-opus-4-5": ("5", "25", "6.25", "10", "0.50"),
    "claude-sonnet-4-6": ("3", "15", "3.75", "6", "0.30"),
    "claude-sonnet-4-5-20250929": ("3", "15", "3.75", "6", "0.30"),
    "claude-haiku-4-5": ("1", "5", "1.25", "2", "0.10"),
    "claude-opus-4-1": ("15", "75", "18.75", "30", "1.50"),
}


# ---------------------------------------------------------------- the table


@pytest.mark.parametrize("model_id", SDK_MODEL_IDS)
def test_every_sdk_model_id_is_in_the_table(model_id):
    assert is_known_model(model_id)
    assert model_id in price_table().ids()
    assert get_price(model_id) is not None


def test_table_metadata_and_retired_extra():
    table = price_table()
    assert table.version == "2026-11-01"
    assert isinstance(table.as_of, date)
    assert set(table.ids()) == set(SDK_MODEL_IDS) | {"claude-opus-4-1"}
    assert get_price("claude-opus-4-1").retired is True
    assert price_table() is table  # cached


def test_json_prices_are_strings_not_floats():
    text = resources.files("orchestrator_kit.llm").joinpath("data/models.json").read_text(encoding="utf-8")
    data = json.loads(text)
    for entry in data["models"]:
        for key in ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read", "batch_discount"):
            assert entry[key] is None or isinstance(entry[key], str), (entry["id"], key)
        assert entry["source"] and entry["as_of"]


@pytest.mark.parametrize("model_id, expected", sorted(EXPECTED_PRICES.items()))
def test_prices(model_id, expected):
    p = get_price(model_id)
    assert (p.input, p.output, p.cache_write_5m, p.cache_write_1h, p.cache_read) == tuple(
        D(x) for x in expected
    )
    assert p.batch_discount == D("0.5")
    assert p.priced


@pytest.mark.parametrize("model_id", UNPRICED)
def test_unpriced_models_have_null_prices_and_a_note(model_id):
    p = get_price(model_id)
    assert not p.priced
    assert (p.input, p.output, p.cache_write_5m, p.cache_write_1h, p.cache_read) == (None,) * 5
    assert "no price on the stored pricing page" in p.notes


def test_sonnet_5_5_third_party_cache_read_claim_only_in_notes():
    p = get_price("claude-sonnet-5-5")
    assert p.cache_read == D("0.20")
    assert "0.10" in p.notes


@pytest.mark.parametrize(
    "alias, canonical",
    [
        ("claude-haiku-4-5", "claude-haiku-4-5-20251001"),
        ("claude-opus-4-5", "claude-opus-4-5-20251101"),
        ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
    ],
)
def test_alias_resolution(alias, canonical):
    assert get_price(alias) is get_price(canonical)
    assert get_price(alias).id == canonical
    assert alias in get_price(canonical).aliases


def test_retirement_dates():
    assert get_price(GUIDE_MODEL).retires == date(2026, 11, 30)
    assert get_price("claude-sonnet-4-5").retires == date(2026, 11, 30)
    assert get_price(DEFAULT_MODEL).retires is None


def test_duplicate_ids_are_rejected():
    entry = {"id": "a", "aliases": ["b"], "input": "1", "output": "2", "batch_discount": "0.5"}
    with pytest.raises(ValueError, match="'b'"):
        PriceTable.from_dict(
            {"version": "x", "as_of": None, "models": [entry, {**entry, "id": "b", "aliases": []}]}
        )


# ---------------------------------------------------------------- costs


@pytest.mark.parametrize(
    "model, usage, batch, expected_total",
    [
        ("claude-sonnet-5-5", Usage(input_tokens=M, output_tokens=M), False, "12"),
        ("claude-sonnet-5-5", Usage(input_tokens=M, output_tokens=M), True, "6"),
        ("claude-sonnet-5-5", Usage(input_tokens=1000, output_tokens=500), False, "0.007"),
        # 5m write 2.50 + 1h write 4 + read 0.20 per million
        (
            "claude-sonnet-5-5",
            Usage(cache_write_5m_tokens=M, cache_write_1h_tokens=M, cache_read_tokens=M),
            False,
            "6.70",
        ),
        (
            "claude-opus-5-5",
            Usage(input_tokens=10_000, cache_read_tokens=90_000, output_tokens=2_000),
            False,
            "0.098",
        ),  # 0.04 + 0.018 + 0.04
        ("claude-haiku-4-5", Usage(input_tokens=M, output_tokens=M), True, "3"),
        ("claude-opus-4-1", Usage(input_tokens=100, output_tokens=100), False, "0.009"),
        # Haiku 5.5 at exactly 100k: standard tier; above: long-context tier
        ("claude-haiku-5-5", Usage(input_tokens=100_000, output_tokens=M), False, "0.51"),
        ("claude-haiku-5-5", Usage(input_tokens=100_001, output_tokens=M), False, "2.5500005"),
        # 110k total input counting cache reads -> long-context tier: 50k x 0.50 + 60k x 0.05
        ("claude-haiku-5-5", Usage(input_tokens=50_000, cache_read_tokens=60_000), False, "0.028"),
    ],
)
def test_cost_totals(model, usage, batch, expected_total):
    c = cost_of(usage, model, batch=batch)
    assert isinstance(c.total, Decimal)
    assert c.total == D(expected_total)
    assert c.total == c.input + c.output + c.cache_write_5m + c.cache_write_1h + c.cache_read


def test_cost_parts_and_cache_savings():
    usage = Usage(
        input_tokens=M,
        output_tokens=M,
        cache_write_5m_tokens=M,
        cache_write_1h_tokens=M,
        cache_read_tokens=4 * M,
    )
    c = cost_of(usage, "claude-sonnet-5-5")
    assert (c.input, c.output, c.cache_write_5m, c.cache_write_1h, c.cache_read) == (
        D(2),
        D(10),
        D("2.5"),
        D(4),
        D("0.8"),
    )
    assert c.total == D("19.3")
    # reads saved 4 x (2 - 0.20) = 7.20; write premiums 0.50 + 2 -> 4.70
    assert c.cache_savings == D("4.7")
    assert not c.long_context and not c.batch

    b = cost_of(usage, "claude-sonnet-5-5", batch=True)
    for part in (
        "input",
        "output",
        "cache_write_5m",
        "cache_write_1h",
        "cache_read",
        "total",
        "cache_savings",
    ):
        assert getattr(b, part) * 2 == getattr(c, part), part
    assert b.batch


def test_cache_savings_negative_when_only_writing():
    c = cost_of(Usage(cache_write_1h_tokens=M), "claude-sonnet-5-5")
    assert c.cache_savings == D(-2)


def test_long_context_tier_uses_total_input_including_cache():
    under = cost_of(Usage(input_tokens=60_000, cache_read_tokens=40_000), "claude-haiku-5-5")
    over = cost_of(Usage(input_tokens=60_001, cache_read_tokens=40_000), "claude-haiku-5-5")
    assert not under.long_context and over.long_context
    assert under.input == D("0.006")  # 60k x 0.10
    assert over.input == D("0.0300005")  # 60,001 x 0.50
    assert over.cache_read == D("0.002")  # 40k x 0.05


@pytest.mark.parametrize("model", [*UNPRICED, "claude-nonexistent-9"])
def test_unknown_cost_is_none_never_zero(model):
    assert cost_of(Usage(input_tokens=10, output_tokens=10), model) is None
    assert cost_of(Usage(), model) is None
    assert worst_case_cost(model, 1000, 1000) is None
    assert format_usd(worst_case_cost(model, 1000, 1000)) == "unknown"


def test_missing_cache_price_only_matters_when_used(monkeypatch):
    table = PriceTable.from_dict(
        {
            "version": "t",
            "as_of": "2026-11-01",
            "models": [{"id": "m", "input": "1", "output": "2", "cache_read": None, "batch_discount": "0.5"}],
        }
    )
    p = table.get("m")
    assert isinstance(p, ModelPrice) and p.cache_read is None
    monkeypatch.setattr(pricing, "price_table", lambda: table)
    assert cost_of(Usage(input_tokens=M), "m").total == D(1)
    assert cost_of(Usage(input_tokens=M, cache_read_tokens=1), "m") is None


def test_worst_case_cost():
    assert worst_case_cost("claude-sonnet-5-5", 10_000, 4_000) == D("0.06")  # 0.02 + 0.04
    assert worst_case_cost("claude-sonnet-5-5", 10_000, 4_000, batch=True) == D("0.03")
    assert worst_case_cost("claude-haiku-5-5", 200_000, 0) == D("0.1")  # long-context 0.50
    assert worst_case_cost("claude-sonnet-4-5", M, 0) == D(3)


def test_breakdowns_add():
    a = cost_of(Usage(input_tokens=M), DEFAULT_MODEL)
    b = cost_of(Usage(output_tokens=M), DEFAULT_MODEL)
    s = a + b
    assert isinstance(s, CostBreakdown)
    assert (s.input, s.output, s.total) == (D(2), D(10), D(12))


# ---------------------------------------------------------------- warnings and checks


def test_guide_model_warns_with_its_retirement_date():
    msgs = model_warnings(GUIDE_MODEL, today=date(2026, 11, 26))
    assert len(msgs) == 1
    assert "retires on 2026-11-30" in msgs[0] and "in 4 days" in msgs[0] and DEFAULT_MODEL in msgs[0]
    with pytest.warns(ModelRetirementWarning, match="2026-11-30"):
        assert check_model(GUIDE_MODEL, today=date(2026, 11, 26)) is get_price(GUIDE_MODEL)
    with pytest.warns(ModelRetirementWarning, match="2026-11-30"):
        check_model("claude-sonnet-4-5", today=date(2026, 11, 26))


@pytest.mark.parametrize(
    "today, fragment",
    [
        (date(2026, 11, 29), "in 1 day;"),
        (date(2026, 11, 30), "today is its last day"),
        (date(2026, 12, 1), "retired after 2026-11-30"),
    ],
)
def test_retirement_message_around_the_date(today, fragment):
    (msg,) = model_warnings(GUIDE_MODEL, today=today)
    assert fragment in msg


def test_retired_model_is_refused_naming_its_replacement():
    assert any("retired" in m for m in model_warnings("claude-opus-4-1"))
    with pytest.raises(ModelRetiredError, match="claude-opus-5-5"):
        check_model("claude-opus-4-1")


def test_guide_model_warns_on_its_last_day_and_is_refused_the_day_after():
    with pytest.warns(ModelRetirementWarning, match="today is its last day; use claude-sonnet-5-5"):
        assert check_model(GUIDE_MODEL, today=date(2026, 11, 30)) is get_price(GUIDE_MODEL)
    for model in (GUIDE_MODEL, "claude-sonnet-4-5"):
        with pytest.raises(ModelRetiredError, match=r"retired after 2026-11-30.*Use claude-sonnet-5-5"):
            check_model(model, today=date(2026, 12, 1))
    # allow_unknown_model does not let a retired model through: the API would refuse every call
    with pytest.raises(ModelRetiredError):
        check_model(GUIDE_MODEL, today=date(2027, 1, 1), allow_unknown=True)


def test_unknown_model_hint_names_the_real_keyword():
    with pytest.raises(UnknownModelError, match="allow_unknown_model=True") as info:
        check_model("claude-custom-x")
    assert "allow_unknown=True" not in str(info.value)


def test_current_model_has_no_warnings():
    assert model_warnings(DEFAULT_MODEL, today=date(2026, 11, 26)) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_model(DEFAULT_MODEL).id == DEFAULT_MODEL


def test_unknown_price_warns():
    (msg,) = model_warnings("claude-mythos-5")
    assert "unknown" in msg
    with pytest.warns(UnknownPriceWarning, match="unknown"):
        assert check_model("claude-mythos-5").id == "claude-mythos-5"


def test_unknown_id_raises_naming_the_fix():
    with pytest.raises(UnknownModelError) as info:
        check_model("claude-sonet-5-5")
    msg = str(info.value)
    assert isinstance(info.value, ConfigError)
    assert "allow_unknown_model=True" in msg and "--allow-unknown-model" in msg
    assert "claude-sonnet-5-5" in msg  # a close match / a known id


def test_unknown_id_allowed_warns_and_returns_none():
    with pytest.warns(UnknownPriceWarning, match="claude-custom"):
        assert check_model("claude-custom", allow_unknown=True) is None
    assert model_warnings("claude-custom")


# ---------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    "value, text",
    [
        (None, "unknown"),
        (D("0"), "$0.00"),
        (D("0.0123"), "$0.0123"),
        (D("0.012345"), "$0.0123"),
        (D("0.00005"), "$0.0001"),
        (D("0.0000123"), "$0.000012"),
        (D("0.5"), "$0.5000"),
        (D("12"), "$12.00"),
        (D("12.005"), "$12.01"),
        (D("1234.5"), "$1,234.50"),
        (D("-0.0123"), "-$0.0123"),
    ],
)
def test_format_usd(value, text):
    assert format_usd(value) == text


def test_format_usd_of_a_real_cost():
    assert format_usd(cost_of(Usage(input_tokens=1000, output_tokens=500), DEFAULT_MODEL).total) == "$0.0070"
