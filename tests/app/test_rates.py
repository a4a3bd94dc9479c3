"""The rate parser shared by the start-up check and the throttles (app/throttling/rates.py)."""

import pytest

from throttling.rates import parse_rate


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        ("5/second", (5, 1)),
        ("100/minute", (100, 60)),
        ("20/hour", (20, 3600)),
        ("1000/day", (1000, 86400)),
        ("7/s", (7, 1)),  # only the unit's first letter counts, as in DRF
        ("7/m", (7, 60)),
        ("7/h", (7, 3600)),
        ("7/d", (7, 86400)),
        ("0/minute", (0, 60)),
        (" 30/minute ", (30, 60)),
    ],
)
def test_rates_are_a_count_per_period_in_seconds(rate, expected):
    assert parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["off", "OFF", " Off ", "none", "None", "", "   "])
def test_off_means_no_throttling(rate):
    assert parse_rate(rate) is None


@pytest.mark.parametrize(
    "rate",
    [
        "lots",
        "10",
        "10/",
        "/minute",
        "10/fortnight",
        "-1/minute",
        "1.5/minute",
        "²/minute",
        "١٠/minute",
        "10/Minute",
        "offf",
        "no",
    ],
)
def test_anything_else_is_refused_with_the_accepted_forms(rate):
    with pytest.raises(ValueError) as error:
        parse_rate(rate)
    assert str(error.value) == f"{rate!r} is not a rate: use N/second, N/minute, N/hour, N/day or off"
