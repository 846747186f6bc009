"""The date filters: times for people in the site's zone, and ISO times as stored.

Both remember their results (a thread page formats the same times on every view); the
remembered answers must stay right when the zone setting differs or the offsets differ.
"""

from datetime import UTC, date, datetime, timedelta, timezone

from flask import Flask

from blogapp.templating import email_breaks, format_date, format_datetime, iso


def site(zone: str) -> Flask:
    app = Flask(__name__)
    app.config["BLOG_TIMEZONE"] = zone
    return app


NOON_UTC = datetime(2026, 3, 4, 19, 5, tzinfo=UTC)


def test_times_are_shown_in_the_sites_zone_whatever_was_shown_before():
    with site("America/New_York").app_context():
        assert format_datetime(NOON_UTC) == "March 4, 2026, 2:05 PM EST"
        assert format_date(NOON_UTC) == "March 4, 2026"
    with site("Europe/Paris").app_context():
        assert format_datetime(NOON_UTC) == "March 4, 2026, 8:05 PM CET"
    with site("America/New_York").app_context():
        assert format_datetime(NOON_UTC.astimezone(timezone(timedelta(hours=9)))) == (
            "March 4, 2026, 2:05 PM EST"
        )
        assert format_datetime(None) == ""


def test_iso_keeps_each_values_own_offset():
    eastern = NOON_UTC.astimezone(timezone(timedelta(hours=-5)))
    assert eastern == NOON_UTC  # the same instant: equal, and so one key without the zone
    assert iso(NOON_UTC) == "2026-03-04T19:05:00+00:00"
    assert iso(eastern) == "2026-03-04T14:05:00-05:00"
    assert iso(date(2026, 3, 4)) == "2026-03-04"
    assert iso(None) == ""


def test_an_address_may_wrap_after_dots_and_at_and_stays_escaped():
    assert str(email_breaks("jo.lee@clinic.example")) == "jo.<wbr>lee@<wbr>clinic.<wbr>example"
    assert str(email_breaks('<b onmouseover="x">@a.b')) == (
        "&lt;b onmouseover=&#34;x&#34;&gt;@<wbr>a.<wbr>b"
    )
    assert str(email_breaks(None)) == ""
