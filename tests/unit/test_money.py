"""Money: exact minor units, currency checks, basis-point fees that always add up."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkos.money import (
    CurrencyMismatch,
    Money,
    apply_discount_bps,
    basis_points_fee,
    split_fee,
)

CNY = "CNY"
amounts = st.integers(min_value=0, max_value=10**15)
rates = st.integers(min_value=0, max_value=10_000)


@pytest.mark.parametrize("amount", [1.0, 0.1, True, False, Decimal("1"), "100", None, 10**2 + 0j])
def test_only_exact_int_amounts_are_money(amount):
    with pytest.raises(TypeError):
        Money(amount, CNY)


@pytest.mark.parametrize("currency", ["cny", "CN", "CNYY", "", "C1Y", "ÄBC", " CNY", "CNY\n", None])
def test_currency_must_be_three_upper_case_letters(currency):
    with pytest.raises(ValueError):
        Money(100, currency)


def test_constructors_and_predicates():
    assert Money.of(250, CNY) == Money(250, CNY)
    assert Money.zero(CNY).is_zero()
    assert not Money.of(1, CNY).is_zero()
    assert Money.of(-1, CNY).is_negative()
    assert not Money.zero(CNY).is_negative()


def test_arithmetic_in_one_currency():
    a, b = Money(1000, CNY), Money(250, CNY)
    assert a + b == Money(1250, CNY)
    assert a - b == Money(750, CNY)
    assert b - a == Money(-750, CNY)
    assert -a == Money(-1000, CNY)
    assert a.times(3) == Money(3000, CNY) == a * 3 == 3 * a


@pytest.mark.parametrize("factor", [1.5, 2.0, True, Decimal(2)])
def test_multiplication_only_by_int(factor):
    with pytest.raises(TypeError):
        Money(100, CNY).times(factor)
    with pytest.raises(TypeError):
        Money(100, CNY) * factor


def test_no_division():
    with pytest.raises(TypeError):
        Money(100, CNY) / 2  # noqa: B018
    with pytest.raises(TypeError):
        Money(100, CNY) // 2  # noqa: B018


def test_mixed_currencies_are_refused():
    cny, usd = Money(100, CNY), Money(100, "USD")
    for operation in (
        lambda: cny + usd,
        lambda: cny - usd,
        lambda: cny < usd,
        lambda: cny <= usd,
        lambda: cny > usd,
        lambda: cny >= usd,
        lambda: Money.total([cny, usd], CNY),
    ):
        with pytest.raises(CurrencyMismatch):
            operation()
    assert issubclass(CurrencyMismatch, ValueError)
    # Equality is value equality (so Money works in sets and dicts): never equal.
    assert cny != usd


def test_money_does_not_mix_with_plain_numbers():
    with pytest.raises(TypeError):
        Money(100, CNY) + 1
    with pytest.raises(TypeError):
        Money(100, CNY) < 5  # noqa: B015


def test_ordering_in_one_currency():
    assert Money(1, CNY) < Money(2, CNY) <= Money(2, CNY)
    assert Money(3, CNY) > Money(2, CNY) >= Money(2, CNY)
    assert max(Money(5, CNY), Money(9, CNY), Money(-1, CNY)) == Money(9, CNY)


def test_total():
    assert Money.total([], CNY) == Money.zero(CNY)
    assert Money.total([Money(1, CNY), Money(2, CNY)], CNY) == Money(3, CNY)


def test_money_is_immutable_and_hashable():
    m = Money(1, CNY)
    with pytest.raises(AttributeError):
        m.amount_minor = 2  # type: ignore[misc]
    assert {m, Money(1, CNY)} == {m}


@pytest.mark.parametrize(
    ("gross", "bps", "fee"),
    [
        (1, 5000, 1),  # 0.5 fen rounds half up
        (3, 1666, 0),  # 0.4998 fen rounds down
        (3, 1667, 1),  # 0.5001 fen rounds up
        (10_000, 250, 250),
        (199, 250, 5),  # 4.975 -> 5
        (180, 250, 5),  # 4.5 -> 5 (half up, not banker's)
        (140, 250, 4),  # 3.5 -> 4
        (12_345_678, 30, 37_037),  # 37037.034 -> 37037
        (0, 10_000, 0),
        (7, 0, 0),
        (7, 10_000, 7),
    ],
)
def test_fee_rounding_is_exact(gross, bps, fee):
    assert basis_points_fee(Money(gross, CNY), bps) == Money(fee, CNY)
    assert split_fee(Money(gross, CNY), bps) == (Money(fee, CNY), Money(gross - fee, CNY))


@pytest.mark.parametrize("bps", [-1, 10_001])
def test_fee_rate_out_of_range(bps):
    with pytest.raises(ValueError):
        split_fee(Money(100, CNY), bps)


@pytest.mark.parametrize("bps", [2.5, True, "250"])
def test_fee_rate_must_be_int(bps):
    with pytest.raises(TypeError):
        basis_points_fee(Money(100, CNY), bps)


def test_fee_needs_non_negative_gross():
    with pytest.raises(ValueError):
        split_fee(Money(-100, CNY), 250)


def test_discount():
    assert apply_discount_bps(Money(10_000, CNY), 1500) == Money(8500, CNY)
    assert apply_discount_bps(Money(3, CNY), 5000) == Money(1, CNY)  # 1.5 off rounds to 2
    assert apply_discount_bps(Money(999, CNY), 0) == Money(999, CNY)


@given(gross=amounts, bps=rates)
def test_fee_and_net_add_up_to_gross(gross, bps):
    fee, net = split_fee(Money(gross, CNY), bps)
    assert fee + net == Money(gross, CNY)
    assert Money.zero(CNY) <= fee <= Money(gross, CNY)
    assert not net.is_negative()


@given(gross=amounts, bps=rates)
def test_fee_is_nearest_minor_unit(gross, bps):
    fee = basis_points_fee(Money(gross, CNY), bps).amount_minor
    # |fee - gross*bps/10000| <= 1/2, in integers
    assert abs(fee * 10_000 - gross * bps) <= 5_000


@given(gross=amounts, low=rates, high=rates)
def test_fee_never_falls_when_the_rate_rises(gross, low, high):
    low, high = sorted((low, high))
    assert basis_points_fee(Money(gross, CNY), low) <= basis_points_fee(Money(gross, CNY), high)


@given(gross=amounts, bps=rates)
def test_discounted_price_stays_within_price(gross, bps):
    price = Money(gross, CNY)
    assert Money.zero(CNY) <= apply_discount_bps(price, bps) <= price


@given(a=st.integers(), b=st.integers())
def test_addition_is_exact_for_any_size(a, b):
    assert (Money(a, CNY) + Money(b, CNY)).amount_minor == a + b
    assert Money(a, CNY) - Money(b, CNY) + Money(b, CNY) == Money(a, CNY)


@pytest.mark.parametrize(
    ("text", "money"),
    [
        ("12.34 CNY", Money(1234, CNY)),
        ("-0.05 CNY", Money(-5, CNY)),
        ("7 CNY", Money(700, CNY)),
        ("1500 JPY", Money(1500, "JPY")),
        ("1.234 KWD", Money(1234, "KWD")),
    ],
)
def test_parse_and_print(text, money):
    assert Money.parse(text) == money
    assert Money.parse(str(money)) == money


@pytest.mark.parametrize("text", ["12.345 CNY", "1.5 JPY", "12,34 CNY", "12.34", "1e3 CNY", "abc CNY"])
def test_parse_refuses_inexact_or_malformed_text(text):
    with pytest.raises(ValueError):
        Money.parse(text)


@given(amount=st.integers(min_value=-(10**18), max_value=10**18))
def test_str_parse_roundtrip(amount):
    assert Money.parse(str(Money(amount, CNY))) == Money(amount, CNY)
