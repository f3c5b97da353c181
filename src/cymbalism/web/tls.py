"""HTTPS for the studio on a network: a self-signed certificate made once and kept, or your own.

Browsers give Web MIDI, AudioWorklet and the microphone only to secure contexts, and a
page from ``http://192.168.1.20`` is not one. ``cymbalism serve --tls`` makes an ECDSA
P-256 key and a self-signed certificate for this computer's names and addresses (with
the ``cryptography`` package), keeps them in the user's data folder and uses them again
on every start, so a browser that accepted the certificate once keeps accepting it. A
new address or name the certificate does not cover, or an end date less than 30 days
away, makes a new one. The SHA-256 fingerprint is printed so that whoever accepts the
browser's warning can check it is this studio's.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cymbalism.errors import InputError, require

__all__ = ["TlsFiles", "default_tls_folder", "load_tls", "self_signed"]

_CERT, _KEY = "studio-cert.pem", "studio-key.pem"
_VALID_DAYS = 397
_RENEW_DAYS = 30


@dataclass(frozen=True)
class TlsFiles:
    """A certificate and its key, ready for the server.

    Attributes
    ----------
    certfile, keyfile : Path
    fingerprint : str
        SHA-256 of the certificate, as browsers show it (``"AB:CD:..."``).
    self_signed : bool
        Made by cymbalism (browsers warn once) rather than given.
    made : bool
        Made on this start (a browser that accepted the previous one must accept again).
    """

    certfile: Path
    keyfile: Path
    fingerprint: str
    self_signed: bool = False
    made: bool = False


def default_tls_folder() -> Path:
    """Where the self-signed certificate is kept: ``tls/`` in the user's data folder."""
    import platformdirs

    return Path(platformdirs.user_data_dir("cymbalism", appauthor=False)) / "tls"


def _x509() -> Any:
    require("cryptography", "web")
    from cryptography import x509

    return x509


def _fingerprint(cert: Any) -> str:
    from cryptography.hazmat.primitives import hashes

    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def _covers(cert: Any, names: set[str], ips: set[str]) -> bool:
    x509 = _x509()
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have_names = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
    have_ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    return names <= have_names and ips <= have_ips


def self_signed(
    folder: str | os.PathLike[str] | None = None,
    *,
    names: Iterable[str] = (),
    addresses: Iterable[str] = (),
) -> TlsFiles:
    """The studio's self-signed certificate in ``folder``, made if missing or unfit.

    Parameters
    ----------
    folder : path, optional
        Where to keep it (default :func:`default_tls_folder`).
    names : iterable of str
        Host names it must cover besides ``localhost``.
    addresses : iterable of str
        IP addresses it must cover besides the loopback ones.

    Returns
    -------
    TlsFiles
    """
    x509 = _x509()
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    where = Path(folder) if folder is not None else default_tls_folder()
    certfile, keyfile = where / _CERT, where / _KEY
    want_names = {"localhost", *(n.lower() for n in names)}
    want_ips = {"127.0.0.1", "::1", *(str(ipaddress.ip_address(a)) for a in addresses)}
    now = dt.datetime.now(dt.UTC)
    if certfile.exists() and keyfile.exists():
        try:
            cert = x509.load_pem_x509_certificate(certfile.read_bytes())
            fresh = cert.not_valid_after_utc - now > dt.timedelta(days=_RENEW_DAYS)
            if fresh and _covers(cert, want_names, want_ips):
                return TlsFiles(certfile, keyfile, _fingerprint(cert), self_signed=True)
        except ValueError:
            pass  # unreadable: make a new one
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cymbalism studio")])
    alt = [x509.DNSName(n) for n in sorted(want_names)] + [
        x509.IPAddress(ipaddress.ip_address(a)) for a in sorted(want_ips)
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    where.mkdir(parents=True, exist_ok=True)
    fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:  # the key is readable by its owner only
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return TlsFiles(certfile, keyfile, _fingerprint(cert), self_signed=True, made=True)


def load_tls(certfile: str | os.PathLike[str], keyfile: str | os.PathLike[str]) -> TlsFiles:
    """Your own certificate and key (PEM), checked to belong together.

    Raises
    ------
    InputError
        If a file is missing or unreadable, or the key does not match the certificate.
    """
    cert_path, key_path = Path(certfile).expanduser(), Path(keyfile).expanduser()
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert_path, key_path)
        cert = _x509().load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise InputError(
            f"cannot use {cert_path} with {key_path} for HTTPS: {exc} "
            "(both must be PEM files, the key unencrypted and matching the certificate)"
        ) from None
    return TlsFiles(cert_path, key_path, _fingerprint(cert))
