"""The pass signature: a detached PKCS#7 (CMS) in DER over ``manifest.json``.

Apple checks it with the pass-signing certificate, which must chain to the
WWDR intermediate included in the signature. ``Binary`` matters: without it
the builder canonicalises line endings to CRLF before hashing, and the
signature no longer matches the manifest bytes in the zip.
``PKCS7SignatureBuilder`` adds the signed attributes (content type, signing
time, message digest, S/MIME capabilities) unless told ``NoAttributes``;
Apple requires the signing time, so those options are never passed.
"""

import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from wallet.apple.config import AppleConfig

SIGNATURE_OPTIONS = (pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary)


@dataclass(frozen=True)
class SigningMaterial:
    certificate: x509.Certificate
    private_key: object
    wwdr_certificate: x509.Certificate


def _load_certificate(path: str) -> x509.Certificate:
    data = Path(path).read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)  # Apple hands out the WWDR certificate as DER (.cer)


def _load_private_key(path: str, password: str):
    data = Path(path).read_bytes()
    secret = password.encode() if password else None
    if b"-----BEGIN" in data:
        return serialization.load_pem_private_key(data, password=secret)
    return serialization.load_der_private_key(data, password=secret)


def _file_version(path: str) -> tuple:
    """``(path, modified time, size)``: a file replaced in place (a renewed certificate) is read again."""
    try:
        stat = os.stat(path)
    except OSError:
        return (path, None, None)  # the load below raises the error the caller reports
    return (path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _signing_material(cert: tuple, key: tuple, key_password: str, wwdr: tuple) -> SigningMaterial:
    # Loading the key costs ~50 ms: once per process and per version of the files.
    return SigningMaterial(
        certificate=_load_certificate(cert[0]),
        private_key=_load_private_key(key[0], key_password),
        wwdr_certificate=_load_certificate(wwdr[0]),
    )


# The files are looked at (three stat calls) at most this often per process and configuration.
FILES_CHECK_SECONDS = 5.0
_checked: dict = {}  # (paths, password) -> (when, material)


def signing_material(config: AppleConfig) -> SigningMaterial:
    """The parsed certificate, key and WWDR certificate; read again within FILES_CHECK_SECONDS of a file
    being replaced (a renewed certificate needs no restart)."""
    paths = (config.signer_cert_path, config.signer_key_path, config.signer_key_password, config.wwdr_cert_path)
    now = time.monotonic()
    checked = _checked.get(paths)
    if checked is not None and now - checked[0] < FILES_CHECK_SECONDS:
        return checked[1]
    material = _signing_material(
        _file_version(config.signer_cert_path),
        _file_version(config.signer_key_path),
        config.signer_key_password,
        _file_version(config.wwdr_cert_path),
    )
    _checked[paths] = (now, material)
    return material


def manifest_sign(*, manifest: bytes, config: AppleConfig) -> bytes:
    material = signing_material(config)
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(manifest)
        .add_signer(material.certificate, material.private_key, hashes.SHA256())
        .add_certificate(material.wwdr_certificate)
        .sign(serialization.Encoding.DER, list(SIGNATURE_OPTIONS))
    )
