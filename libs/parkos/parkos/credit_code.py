"""The unified social credit code (统一社会信用代码) of GB 32100-2015.

Eighteen characters over a 31-character alphabet (digits and upper-case letters without
I, O, Z, S, V):

====  =========================================================
1     registration authority (9 = market regulation, 1 = institution registry, ...)
2     category within that authority
3-8   administrative division code (six digits)
9-17  organisation code of GB 11714, whose 9th character is its own check digit
18    check character over the first seventeen (weights 3**i mod 31)
====  =========================================================

Only the standard's arithmetic lives here; the domain decides what to do with a bad code.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {char: value for value, char in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
# Registration authorities of GB 32100-2015 table 1 (A: the central military commission's
# establishment office, N: agriculture, Y: others).
REGISTRATION_AUTHORITIES = frozenset("123456789ANY")
_ORGANISATION_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def normalize(code: str) -> str:
    """The code as it is stored: surrounding blanks removed, letters upper-cased."""
    return code.strip().upper()


def check_character(first_seventeen: str) -> str:
    """The 18th character for the given first seventeen (which must be over the alphabet)."""
    if len(first_seventeen) != LENGTH - 1:
        raise ValueError("need exactly 17 characters")
    total = sum(_VALUE[char] * weight for char, weight in zip(first_seventeen, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def organisation_check_character(first_eight: str) -> str:
    """GB 11714 check digit of an organisation code body ("0"-"9" or "X")."""
    total = sum(_organisation_value(char) * weight for char, weight in zip(first_eight, _ORGANISATION_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def problem(code: str) -> str | None:
    """Why `code` (already normalized) is not a valid credit code, or None when it is."""
    if len(code) != LENGTH:
        return f"must be {LENGTH} characters, got {len(code)}"
    strange = sorted({char for char in code if char not in _VALUE})
    if strange:
        return f"contains characters outside the GB 32100-2015 alphabet: {''.join(strange)}"
    if code[0] not in REGISTRATION_AUTHORITIES:
        return f"unknown registration authority code {code[0]!r}"
    if not code[2:8].isdigit():
        return "characters 3-8 must be an administrative division code (digits)"
    if organisation_check_character(code[8:16]) != code[16]:
        return "the organisation code (characters 9-17) fails its GB 11714 check digit"
    if check_character(code[:17]) != code[17]:
        return "check character (18th) does not match (GB 32100-2015)"
    return None


def is_valid(code: str) -> bool:
    """True when `code` (already normalized) is a well-formed credit code with correct checks."""
    return problem(code) is None


def _organisation_value(char: str) -> int:
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10


def compose(division: str, organisation_body: str, *, authority: str = "9", category: str = "1") -> str:
    """A code built as an issuing authority builds one: both check characters computed.

    For seed data, simulators and tests; `division` is six digits, `organisation_body`
    the eight characters of the organisation code before its check digit.
    """
    organisation = organisation_body + organisation_check_character(organisation_body)
    first_seventeen = authority + category + division + organisation
    return first_seventeen + check_character(first_seventeen)


def random_code(rng) -> str:
    """A valid code with a random division and organisation body, drawn from `rng` (random.Random)."""
    division = "".join(rng.choice("0123456789") for _ in range(6))
    body = "".join(rng.choice(ALPHABET) for _ in range(8))
    return compose(division, body)
