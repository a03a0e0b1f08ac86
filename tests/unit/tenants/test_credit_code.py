"""GB 32100-2015 unified social credit codes: check characters and structure."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parkos import credit_code

# Published codes of well-known enterprises (business licences are public).
REAL_CODES = ["914403001922038216", "91330100716105852F", "9144030071526726XG", "91310000MA1FL1MMXL"]


def valid_codes() -> st.SearchStrategy[str]:
    """Codes built the way an issuing authority builds them: both check characters computed."""
    alphabet = credit_code.ALPHABET

    def build(authority: str, category: str, division: str, body: str) -> str:
        organisation = body + credit_code.organisation_check_character(body)
        first_seventeen = authority + category + division + organisation
        return first_seventeen + credit_code.check_character(first_seventeen)

    return st.builds(
        build,
        st.sampled_from(sorted(credit_code.REGISTRATION_AUTHORITIES)),
        st.sampled_from(alphabet),
        st.text(alphabet="0123456789", min_size=6, max_size=6),
        st.text(alphabet=alphabet, min_size=8, max_size=8),
    )


def test_published_codes_are_valid() -> None:
    for code in REAL_CODES:
        assert credit_code.problem(code) is None, code


def test_check_character_of_a_published_code() -> None:
    assert credit_code.check_character("91440300192203821") == "6"


def test_check_value_31_maps_to_zero() -> None:
    # Find a prefix whose weighted sum is 0 mod 31: its check value would be 31, written "0".
    prefix = "9144030019220382"
    for last in credit_code.ALPHABET:
        candidate = prefix + last
        total = sum(credit_code.ALPHABET.index(c) * w for c, w in zip(candidate, credit_code.WEIGHTS))
        if total % 31 == 0:
            assert credit_code.check_character(candidate) == "0"
            return
    raise AssertionError("no candidate found")


def test_wrong_length_and_characters_are_explained() -> None:
    assert "18 characters" in credit_code.problem("91440300192203821")
    assert "alphabet" in credit_code.problem("91440300192203821I")
    assert "registration authority" in credit_code.problem("Z14403001922038216".replace("Z", "B"))
    assert "division" in credit_code.problem("9144A3001922038216")


def test_normalize_trims_and_upper_cases() -> None:
    assert credit_code.normalize("  9144030071526726xg ") == "9144030071526726XG"


@given(valid_codes())
def test_a_generated_valid_code_passes(code: str) -> None:
    assert credit_code.is_valid(code)


@given(valid_codes(), st.integers(min_value=0, max_value=17), st.sampled_from(credit_code.ALPHABET))
def test_any_single_character_change_fails(code: str, position: int, replacement: str) -> None:
    if code[position] == replacement:
        replacement = credit_code.ALPHABET[(credit_code.ALPHABET.index(replacement) + 1) % 31]
    changed = code[:position] + replacement + code[position + 1 :]
    assert not credit_code.is_valid(changed)


@given(valid_codes(), st.integers(min_value=0, max_value=15))
def test_swapping_two_different_neighbours_fails(code: str, position: int) -> None:
    # The weights 3**i mod 31 are distinct and 31 is prime, so any such swap moves the sum.
    a, b = code[position], code[position + 1]
    if a == b:
        return
    swapped = code[:position] + b + a + code[position + 2 :]
    assert not credit_code.is_valid(swapped)


def test_composed_and_random_codes_are_valid() -> None:
    import random

    assert credit_code.is_valid(credit_code.compose("140100", "MA0L8K3T"))
    rng = random.Random(7)
    assert all(credit_code.is_valid(credit_code.random_code(rng)) for _ in range(200))
