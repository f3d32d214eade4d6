"""Section 4 of the bench: complete signed .pkpass files per second vs a bare PKCS#7 signature,
and a device's pass fetch after a push (the whole view).

The limit is what the signature alone costs with ``cryptography``: a detached
PKCS#7 (SHA-256, DER, the intermediate certificate attached) over random
bytes the size of a real pass's manifest, with the same key and certificates.
A pass is built as a download builds it: the card's current state read from
the database (one statement), then pass.json, the files its program version
shares (cached per process, see wallet/apple/builder.py), the manifest, the
signature and the zip. Both loops run in this process, in alternating slices
of a quarter second for the same total time, so a machine busy with something
else slows both alike.

The fetch is ``GET /v1/passes/<passTypeIdentifier>/<serial>`` with the pass's
``ApplePass`` token and no ``If-Modified-Since`` (so the pass is built), through
``django.test.Client`` and the whole middleware stack: what every device does
once a push told it its pass changed.
"""

import io
import os
import statistics
import time
import zipfile

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from bench.report import Figure
from wallet.apple.builder import pass_package_build
from wallet.apple.config import apple_config
from wallet.apple.services import apple_pass_get_or_create, device_register
from wallet.apple.signing import signing_material

SECTION = "Pass generation"
SLICE_SECONDS = 0.25
FETCH_REPEAT = 200
FETCH_TARGET_MS = 5


def rates(works: dict, seconds: float) -> dict:
    """Calls per second of each ``works`` callable, run in turns of SLICE_SECONDS for ``seconds`` each."""
    for work in works.values():
        work()  # warm: certificates loaded, the program's design built, as in a worker after its first pass
    done = dict.fromkeys(works, 0)
    spent = dict.fromkeys(works, 0.0)
    while min(spent.values()) < seconds:
        for name, work in works.items():
            began = time.perf_counter()
            while (elapsed := time.perf_counter() - began) < SLICE_SECONDS:
                work()
                done[name] += 1
            spent[name] += elapsed
    return {name: done[name] / spent[name] for name in works}


def pass_generation(card, *, seconds: float) -> list[Figure]:
    config = apple_config()
    if config is None:
        raise SystemExit("bench: Apple Wallet is not configured (bench/environment.py sets it up)")
    apple_pass = apple_pass_get_or_create(card=card)
    with zipfile.ZipFile(io.BytesIO(pass_package_build(apple_pass=apple_pass, config=config))) as archive:
        sizes = {info.filename: info.file_size for info in archive.infolist()}
        package_size = sum(info.compress_size for info in archive.infolist())
    manifest = os.urandom(sizes["manifest.json"])  # same size as the real manifest.json
    material = signing_material(config)

    def bare_signature():
        (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(manifest)
            .add_signer(material.certificate, material.private_key, hashes.SHA256())
            .add_certificate(material.wwdr_certificate)
            .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])
        )

    def package():
        pass_package_build(apple_pass=apple_pass, config=config)  # reads the card's current state

    measured = rates({"signature": bare_signature, "package": package}, seconds)
    return [
        Figure.against(
            SECTION,
            "signed .pkpass files/s",
            measured["package"],
            "/s",
            measured["signature"],
            "bare PKCS#7 detached signature",
            0.4,
            f"{len(sizes)} files, {package_size / 1024:.1f} KB per pass; manifest {sizes['manifest.json']} bytes; "
            "card read included (1 statement)",
        )
    ]


def pass_fetch(card, *, repeat: int = FETCH_REPEAT) -> Figure:
    """A device's ``GET /v1/passes/...`` after a push, whole view, p50 of ``repeat`` (If-Modified-Since absent)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    config = apple_config()
    apple_pass = apple_pass_get_or_create(card=card)
    device_register(apple_pass=apple_pass, device_library_identifier="bench-device-fetch", push_token="bench-token")
    path = reverse("wallet_apple:latest-pass", args=[config.pass_type_identifier, apple_pass.serial_number])
    client = Client()
    headers = {"Authorization": f"ApplePass {apple_pass.authentication_token}"}

    def fetch():
        response = client.get(path, headers=headers)
        if response.status_code != 200 or response["Content-Type"] != "application/vnd.apple.pkpass":
            raise SystemExit(f"bench: the pass fetch answered {response.status_code}")
        return response

    for _ in range(5):
        fetch()
    timings, cpu = [], []
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        fetch()
        timings.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    with CaptureQueriesContext(connection) as captured:
        size = len(fetch().content)
    ordered = sorted(timings)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return Figure.under(
        SECTION,
        "a device's pass fetch after a push (GET, whole view), p50",
        statistics.median(timings),
        "ms",
        FETCH_TARGET_MS,
        f"p99 {p99:.1f} ms; Python CPU p50 {statistics.median(cpu):.1f} ms; {len(captured.captured_queries)} "
        f"queries; {size / 1024:.1f} KB; no If-Modified-Since, so the pass is built",
    )
