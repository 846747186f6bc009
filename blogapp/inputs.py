"""Numbers and dates that come from a request: the one parser for each.

Every integer read from a path, a query string or a form goes through ``request_int`` (the
``<int:...>`` converter, ``request.args.get(..., type=request_int)``, form fields), so none
can reach the database as something it can't hold. Python's own ``int()`` and
``str.isdigit()`` let through "²", "①" and Arabic-Indic digits, and nothing stops
9223372036854775808, which overflows SQLite's integers (PostgreSQL's already past 2**31-1):
each of those was a 500.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from werkzeug.routing import IntegerConverter
from wtforms.validators import ValidationError

# The id and count columns are SQLAlchemy Integer: 32-bit signed on PostgreSQL.
INT_MAX = 2**31 - 1
MAX_PAGE = 100_000  # far past any real list; keeps OFFSET small
_DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII only; 10 digits already pass INT_MAX
_SIGNED = re.compile(r"-?[0-9]+")

# Dates people may type (schedule, review): far enough either side for any real use, and
# far enough from datetime's limits that moving between time zones can't overflow.
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)


def request_int(value: object, maximum: int = INT_MAX) -> int:
    """A non-negative integer written in ASCII digits, at most ``maximum``; else ValueError.

    Raising ValueError makes it usable as ``type=`` for ``request.args.get``, which then
    gives the default instead.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    else:
        raise ValueError(f"not a whole number: {value!r}"[:80])
    if not 0 <= number <= maximum:
        raise ValueError(f"out of range: {number}")
    return number


def written_as_number(value: str) -> bool:
    """ASCII digits with an optional minus sign: meant as a number, in range or not."""
    return bool(_SIGNED.fullmatch(value))


def optional_int(value: object) -> int | None:
    """request_int's value, or None when the value is missing or not a usable number."""
    try:
        return request_int(value)
    except ValueError:
        return None


def page_number(value: object) -> int:
    """A list's page number: 1 and up (type= for request.args.get, default 1)."""
    number = request_int(value, maximum=MAX_PAGE)
    if number < 1:
        raise ValueError("pages start at 1")
    return number


class IdConverter(IntegerConverter):
    """``<int:...>`` in routes: ASCII digits within the column's range, or the route 404s."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits=0, min=None, max=INT_MAX, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=False)


def within_dates(form, field) -> None:
    """WTForms validator: a date or date-time between EARLIEST and LATEST."""
    value = field.data
    if value is None:
        return
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise ValidationError(f"Choose a date between {EARLIEST.year} and {LATEST.year}.")


# C0 and C1 controls but tab, DEL, and the Unicode line and paragraph separators: none
# belongs in a title, a name or a subject, and a CR or LF there breaks the email headers it
# ends up in. A tab is only white space (and legal in a header).
_CONTROLS = re.compile(" *[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]+ *")


def single_line(value: str) -> str:
    """A title, name or subject as one line: a run of control characters (and the spaces
    around it) becomes one space, trimmed."""
    return _CONTROLS.sub(" ", value).strip() if value else value


def init_app(app) -> None:
    """Replace Flask's int converter before any route is added."""
    app.url_map.converters["int"] = IdConverter
