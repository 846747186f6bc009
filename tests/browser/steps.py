"""What a person does in the browser tests again and again: sign in and out, check with axe."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

from tests.builders import PASSWORD


def fill_sign_in(page, login: str, password: str = PASSWORD) -> None:
    """On the sign-in page: type who and the password, then press Sign in."""
    page.get_by_label("Email or username").fill(login)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_in(page, base: str, login: str, password: str = PASSWORD, next_path: str = "") -> None:
    """Open the sign-in page (to go on to next_path) and sign in; the caller checks the result."""
    page.goto(base + "/auth/login" + (f"?next={next_path}" if next_path else ""))
    fill_sign_in(page, login, password)


def sign_out(page) -> None:
    page.get_by_role("navigation", name="Account").get_by_role("button", name="Sign out").click()


def axe_violations(page) -> list[str]:
    """axe-core's findings on the page as it is now, one line each ("id: help (nodes)")."""
    results = Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in results.response["violations"]]


def no_axe_violations(page) -> None:
    assert axe_violations(page) == []
