"""HTTPS: the studio's own certificate, your own, and Web MIDI in a page served over it.

Chromium counts ``http://127.0.0.1`` as secure already, so the page is opened by a name
(``studio.test``, mapped to loopback inside Chromium) as a phone would open the studio
by its LAN address: over HTTP it is not a secure context, over HTTPS it is, and only
then does the page get Web MIDI.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cymbalism.errors import InputError
from cymbalism.web.app import create_app
from cymbalism.web.server import Studio, studio_config
from cymbalism.web.tls import load_tls, self_signed
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS


def _served_fingerprint(port: int) -> str:
    pem = ssl.get_server_certificate(("127.0.0.1", port))
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def test_the_self_signed_certificate_is_kept_and_renewed_for_new_names(tmp_path: Path) -> None:
    from cryptography import x509

    first = self_signed(tmp_path, names=["studio.lan"], addresses=["192.0.2.4"])
    assert first.made and first.self_signed
    assert (first.keyfile.stat().st_mode & 0o777) == 0o600
    again = self_signed(tmp_path, names=["studio.lan"], addresses=["192.0.2.4"])
    assert not again.made and again.fingerprint == first.fingerprint  # kept
    assert self_signed(tmp_path).fingerprint == first.fingerprint  # covers less: still fine
    moved = self_signed(tmp_path, names=["studio.lan"], addresses=["192.0.2.9"])
    assert moved.made and moved.fingerprint != first.fingerprint  # a new address
    cert = x509.load_pem_x509_certificate(moved.certfile.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"localhost", "studio.lan"} <= set(san.get_values_for_type(x509.DNSName))
    assert {"127.0.0.1", "192.0.2.9"} <= {str(a) for a in san.get_values_for_type(x509.IPAddress)}
    # your own files are checked to belong together
    assert load_tls(moved.certfile, moved.keyfile).fingerprint == moved.fingerprint
    other = self_signed(tmp_path / "other")
    with pytest.raises(InputError, match="cannot use"):
        load_tls(moved.certfile, other.keyfile)
    with pytest.raises(InputError, match="cannot use"):
        load_tls(tmp_path / "missing.pem", other.keyfile)


@pytest.fixture(scope="module")
def studios(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Studio, Studio, Any]]:
    folder = tmp_path_factory.mktemp("tls")
    files = self_signed(folder / "cert", names=["studio.test"])
    made = []
    for tls in (files, None):
        config = studio_config(db=str(folder / "s.sqlite3"), names=["studio.test"])
        made.append(Studio(create_app(config), port=0, tls=tls).start_in_thread())
    yield made[0], made[1], files
    for s in made:
        s.stop()


@pytest.mark.browser
def test_web_midi_is_there_in_the_studio_over_https(studios: tuple[Studio, Studio, Any]) -> None:
    from playwright.sync_api import sync_playwright

    secure, plain, files = studios
    assert _served_fingerprint(secure.port) == files.fingerprint
    probe = "() => ({secure: window.isSecureContext, midi: typeof navigator.requestMIDIAccess})"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP studio.test 127.0.0.1"],
        )
        try:
            context = browser.new_context(ignore_https_errors=True)  # the warning, accepted
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"https://studio.test:{secure.port}/")
            assert page.evaluate(probe) == {"secure": True, "midi": "function"}
            # the page works over HTTPS and WSS: a room opens and this tab joins it
            page.wait_for_function("() => document.querySelectorAll('#song option').length > 0")
            page.click("#create")
            page.wait_for_selector("#lobby:not([hidden])")
            page.wait_for_function("() => window.studio.offsetSec !== null")
            assert not errors
            # the same page over plain HTTP by name is no secure context: no Web MIDI there
            insecure = context.new_page()
            insecure.goto(f"http://studio.test:{plain.port}/")
            seen = insecure.evaluate(probe)
            assert seen["secure"] is False and seen["midi"] == "undefined"
        finally:
            browser.close()
