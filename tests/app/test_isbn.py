"""ISBN parsing, against published examples (not values computed by the code under test)."""

import pytest

from books.isbn import InvalidISBN, normalize_isbn


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("9780306406157", "9780306406157"),  # ISBN-13, bare
        ("978-0-306-40615-7", "9780306406157"),  # hyphens
        ("978 0 306 40615 7", "9780306406157"),  # spaces
        ("0306406152", "9780306406157"),  # the same book as ISBN-10
        ("0-306-40615-2", "9780306406157"),
        ("080442957X", "9780804429573"),  # ISBN-10 with check digit X
        ("0-8044-2957-x", "9780804429573"),  # lower-case x
        ("0-13-235088-2", "9780132350884"),
        ("0-7356-1967-0", "9780735619678"),  # ISBN-10 whose check digit is 0 (11 - 0 wraps to 0)
        ("978-0-201-63361-0", "9780201633610"),  # ISBN-13 whose check digit is 0 (10 - 0 wraps to 0)
        ("0-201-63361-2", "9780201633610"),  # the same book as ISBN-10: its ISBN-13 check digit is 0
        ("979-10-90636-07-1", "9791090636071"),  # 979 prefix
        (" 978-0-13-235088-4 ", "9780132350884"),  # surrounding blanks
    ],
)
def test_valid_spellings_normalize_to_isbn13(raw, expected):
    assert normalize_isbn(raw) == expected


@pytest.mark.parametrize(
    "raw, message",
    [
        ("9780306406158", "ISBN-13 check digit is wrong."),
        ("0306406153", "ISBN-10 check digit is wrong."),
        ("030640615X", "ISBN-10 check digit is wrong."),
        ("9770306406157", "ISBN-13 must start with 978 or 979."),
        ("97803064061X7", "ISBN-13 must be 13 digits."),
        ("03064O6152", "ISBN-10 must be 9 digits followed by a digit or X."),
        ("X306406152", "ISBN-10 must be 9 digits followed by a digit or X."),
        ("12345", "ISBN must have 10 or 13 digits (hyphens and spaces are ignored)."),
        ("97803064061570", "ISBN must have 10 or 13 digits (hyphens and spaces are ignored)."),
        ("", "ISBN must not be empty."),
        (" - - ", "ISBN must not be empty."),
        ("978_0306406157", "ISBN must have 10 or 13 digits (hyphens and spaces are ignored)."),
    ],
)
def test_invalid_isbns_say_why(raw, message):
    with pytest.raises(InvalidISBN) as error:
        normalize_isbn(raw)
    assert str(error.value) == message


def test_non_string_is_rejected():
    with pytest.raises(InvalidISBN) as error:
        normalize_isbn(9780306406157)
    assert str(error.value) == "ISBN must be a string."
