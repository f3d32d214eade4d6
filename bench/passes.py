"""Section 4 of the bench: complete signed .pkpass files per second vs a bare PKCS#7 signature.

The limit is what the signature alone costs with ``cryptography``: a detached
PKCS#7 (SHA-256, DER, the intermediate certificate attached) over random
bytes the size of a real pass's manifest, with the same key and certificates.
Both loops run in this process, one after the other, for the same time.
"""

import json
import os
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from bench.report import Figure
from wallet.apple.builder import pass_files_build, pass_package_build
from wallet.apple.config import apple_config
from wallet.apple.services import apple_pass_get_or_create


def _rate(work, seconds: float) -> float:
    work()  # warm: certificates and fonts loaded once per process, as in a worker
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        work()
        done += 1
    return done / (time.perf_counter() - began)


def pass_generation(card, *, seconds: float) -> list[Figure]:
    config = apple_config()
    if config is None:
        raise SystemExit("bench: Apple Wallet is not configured (bench/environment.py sets it up)")
    apple_pass = apple_pass_get_or_create(card=card)
    files = pass_files_build(apple_pass=apple_pass, config=config)
    manifest_size = len(json.dumps({name: "0" * 40 for name in files}, indent=2, sort_keys=True).encode())
    manifest = os.urandom(manifest_size)  # same size as the real manifest.json

    with open(config.signer_cert_path, "rb") as handle:
        certificate = x509.load_pem_x509_certificate(handle.read())
    with open(config.signer_key_path, "rb") as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)
    with open(config.wwdr_cert_path, "rb") as handle:
        intermediate = x509.load_pem_x509_certificate(handle.read())

    def bare_signature():
        (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(manifest)
            .add_signer(certificate, key, hashes.SHA256())
            .add_certificate(intermediate)
            .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])
        )

    def package():
        apple_pass.card.refresh_from_db()  # the card's current state, as a download reads it
        pass_package_build(apple_pass=apple_pass, config=config)

    signatures = _rate(bare_signature, seconds)
    packages = _rate(package, seconds)
    size = len(pass_package_build(apple_pass=apple_pass, config=config))
    return [Figure.against(
        "Pass generation", "signed .pkpass files/s", packages, "/s", signatures, "bare PKCS#7 detached signature", 0.7,
        f"{len(files) + 2} files, {size / 1024:.1f} KB per pass; manifest {manifest_size} bytes",
    )]
