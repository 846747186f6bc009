"""References: Markdown footnotes become a References section; check-links finds dead links."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from blogapp.markup import render_post
from tests.builders import make_post

CITED = (
    "Fluids matter[^who] and so does rest[^rest]; fluids again[^who].\n\n"
    "[^who]: World Health Organization, *Hydration*, <https://example.org/who>.\n"
    "[^rest]: A study of night shifts.\n"
)


def test_footnotes_become_a_numbered_references_section_with_back_links():
    html = render_post(CITED).html
    assert '<sup class="footnote-ref"><a href="#fn-1" id="fnref-1">[1]</a></sup>' in html
    assert '<a href="#fn-1" id="fnref-1-2">[1]</a>' in html
    assert '<a href="#fn-2" id="fnref-2">[2]</a>' in html
    assert '<section class="footnotes">' in html and ">References</a></h2>" in html
    assert '<li id="fn-1" class="footnote-item">' in html
    assert 'href="#fnref-1" class="footnote-backref" aria-label="Back to reference 1 in' in html
    assert 'aria-label="Back to reference 1 (2) in the text"' in html
    assert "<hr" not in html  # the section has a heading, not a rule


@pytest.mark.parametrize(
    "raw",
    [
        '<a id="main" href="#x">x</a>',
        '<a class="evil" href="#x">x</a>',
        '<a aria-label="Click me" href="#x">x</a>',
        '<li id="content">x</li>',
        '<section class="footnotes" onclick="alert(1)">x</section>',
        '<sup class="x" id="fnref-1">x</sup>',
    ],
)
def test_the_sanitizer_lets_through_only_the_footnote_attributes_it_needs(raw):
    html = render_post(raw).html
    for bad in ('id="main"', 'class="evil"', "Click me", 'id="content"', "onclick", 'class="x"'):
        assert bad not in html
    assert 'id="fnref-1">x</sup>' not in html


def test_references_show_in_the_post_and_in_the_feed(client, ctx):
    post = make_post(title="Cited", body=CITED)
    page = client.get(f"/posts/{post.slug}").text
    assert "References</a></h2>" in page and 'id="fn-2"' in page
    feed = client.get("/feed.xml").text
    assert "References" in feed and "fnref-1" in feed


class Handler(BaseHTTPRequestHandler):
    def do_HEAD(self):
        if self.path == "/slow":
            time.sleep(1.5)
        if self.path.startswith("/no-head"):
            self.send_response(405)
        else:
            self.send_response(200 if self.path in ("/ok", "/slow") else 404)
        self.end_headers()

    def do_GET(self):
        self.send_response(200 if self.path.startswith("/no-head?a=1&b=2") else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_check_links_lists_dead_links_with_their_posts_and_fails(app, runner, site):
    with app.app_context():
        make_post(title="Good", body=f"[ok]({site}/ok) and [no head]({site}/no-head?a=1&b=2)")
        make_post(title="Bad", body=f"[gone]({site}/gone), [slow]({site}/slow), [ok]({site}/ok)")
        make_post(title="Draft", status="draft", body=f"[hidden]({site}/draft-only)")
    result = runner.invoke(args=["check-links", "--timeout", "0.5", "--workers", "3"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    dead = {line.split()[0]: line for line in lines if line.startswith("http")}
    assert set(dead) == {f"{site}/gone", f"{site}/slow"}
    assert "HTTP 404" in dead[f"{site}/gone"] and "/posts/bad" in dead[f"{site}/gone"]
    assert "timed out" in dead[f"{site}/slow"]
    assert "2 of 4 links are dead." in result.output
    assert "draft-only" not in result.output


def test_check_links_passes_when_every_link_answers(app, runner, site):
    with app.app_context():
        make_post(title="Good", body=f"[ok]({site}/ok)")
    result = runner.invoke(args=["check-links", "--timeout", "2"])
    assert result.exit_code == 0, result.output
    assert "All 1 links answered." in result.output
