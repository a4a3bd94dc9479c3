"""ISBN parsing: accept ISBN-10 and ISBN-13 as people write them, store ISBN-13.

Hyphens and spaces are layout only. ISBN-10's check digit is mod 11 (X = 10);
ISBN-13's is mod 10 with weights 1,3,1,3,... An ISBN-10 becomes an ISBN-13 by
prefixing 978 and recomputing the check digit, so both spellings of one book
normalize to the same stored value and the uniqueness constraint sees them as one.
"""


def is_ascii_digits(text: str) -> bool:
    """ASCII 0-9 only: str.isdigit() also admits "²" (int() refuses it: a 500)
    and other scripts' digits ("٣"), which would store a non-canonical ISBN
    that escapes the uniqueness constraint."""
    return text.isascii() and text.isdigit()


class InvalidISBN(ValueError):
    """The text is not a valid ISBN; the message says why, for the API client."""


def _isbn10_check_digit(first_nine: str) -> str:
    total = sum((10 - position) * int(digit) for position, digit in enumerate(first_nine))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def isbn13_check_digit(first_twelve: str) -> str:
    total = sum((3 if position % 2 else 1) * int(digit) for position, digit in enumerate(first_twelve))
    return str((10 - total % 10) % 10)


def normalize_isbn(raw: str) -> str:
    """Return the ISBN-13 digits of `raw`, or raise InvalidISBN."""
    if not isinstance(raw, str):
        raise InvalidISBN("ISBN must be a string.")
    compact = raw.replace("-", "").replace(" ", "").upper()
    if not compact:
        raise InvalidISBN("ISBN must not be empty.")
    if len(compact) == 10:
        body, check = compact[:9], compact[9]
        if not is_ascii_digits(body) or not (is_ascii_digits(check) or check == "X"):
            raise InvalidISBN("ISBN-10 must be 9 digits followed by a digit or X.")
        if _isbn10_check_digit(body) != check:
            raise InvalidISBN("ISBN-10 check digit is wrong.")
        first_twelve = "978" + body
        return first_twelve + isbn13_check_digit(first_twelve)
    if len(compact) == 13:
        if not is_ascii_digits(compact):
            raise InvalidISBN("ISBN-13 must be 13 digits.")
        if compact[:3] not in ("978", "979"):
            raise InvalidISBN("ISBN-13 must start with 978 or 979.")
        if isbn13_check_digit(compact[:12]) != compact[12]:
            raise InvalidISBN("ISBN-13 check digit is wrong.")
        return compact
    raise InvalidISBN("ISBN must have 10 or 13 digits (hyphens and spaces are ignored).")
