"""The pass signature: a detached PKCS#7 (CMS) in DER over ``manifest.json``.

Apple checks it with the pass-signing certificate, which must chain to the
WWDR intermediate included in the signature. ``Binary`` matters: without it
the builder canonicalises line endings to CRLF before hashing, and the
signature no longer matches the manifest bytes in the zip.
``PKCS7SignatureBuilder`` adds the signed attributes (content type, signing
time, message digest, S/MIME capabilities) unless told ``NoAttributes``;
Apple requires the signing time, so those options are never passed.

Every pass is signed when it is fetched, and a campaign makes every device
fetch at once, so the signature is made from a *template*: once per signing
material, ``cryptography``'s builder signs a sample manifest, and the DER it
returns is kept cut where one signature differs from another — the message
digest, the signing time and the RSA signature, all of fixed size, so no
length around them changes. A pass's signature is that DER with those three
filled in: the same bytes the builder returns for the same manifest in the
same second (RSA PKCS#1 v1.5 is deterministic; tests/wallet/apple compare
the two), for the cost of the RSA operation alone, without the ~50 µs the
builder spends around it (15% of a signature on the bench machine). A key
that is not RSA, or a year that needs another time encoding (2050), goes
through the builder.
"""

import dataclasses
import datetime
import functools
import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from wallet.apple.config import AppleConfig

logger = logging.getLogger(__name__)

SIGNATURE_OPTIONS = (pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary)


@dataclass(frozen=True)
class SignatureTemplate:
    """A signature made by the builder, cut around what differs from one manifest (and second) to the next."""

    head: bytes  # from the start to the signer's signed attributes
    attributes: bytes  # the signed attributes, as carried: [0] IMPLICIT SET OF Attribute
    digest_at: int  # where the message digest (SHA-256, 32 bytes) starts within ``attributes``
    time_at: int  # where the signing time (UTCTime, 13 characters) starts within ``attributes``
    middle: bytes  # from after the attributes to the signature's value, which ends the DER


@dataclass(frozen=True)
class SigningMaterial:
    certificate: x509.Certificate
    private_key: object
    wwdr_certificate: x509.Certificate
    template: SignatureTemplate | None = None  # None: each signature through the builder


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
    material = SigningMaterial(
        certificate=_load_certificate(cert[0]),
        private_key=_load_private_key(key[0], key_password),
        wwdr_certificate=_load_certificate(wwdr[0]),
    )
    try:
        template = signature_template(material)
    except (ValueError, IndexError, StopIteration):  # output we cannot cut: every signature by the builder
        logger.warning("apple.signature_template_unavailable", exc_info=True)
        template = None
    return dataclasses.replace(material, template=template)


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
    now = datetime.datetime.now(datetime.UTC)
    if material.template is None or not 1950 <= now.year < 2050:
        return builder_sign(manifest, material)
    return template_sign(material, manifest, now)


def builder_sign(manifest: bytes, material: SigningMaterial) -> bytes:
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(manifest)
        .add_signer(material.certificate, material.private_key, hashes.SHA256())
        .add_certificate(material.wwdr_certificate)
        .sign(serialization.Encoding.DER, list(SIGNATURE_OPTIONS))
    )


def template_sign(material: SigningMaterial, manifest: bytes, now: datetime.datetime) -> bytes:
    """The builder's signature of ``manifest`` at ``now`` (whole seconds, UTC), from the material's template."""
    template = material.template
    attributes = bytearray(template.attributes)
    attributes[template.digest_at : template.digest_at + 32] = hashlib.sha256(manifest).digest()
    attributes[template.time_at : template.time_at + 13] = _utc_time(int(now.timestamp()))
    # Signed as the DER of a SET OF (RFC 5652, 5.4), carried with the [0] IMPLICIT tag.
    attributes[0] = _SET
    signature = material.private_key.sign(bytes(attributes), padding.PKCS1v15(), hashes.SHA256())
    attributes[0] = _SIGNED_ATTRIBUTES
    return b"".join((template.head, attributes, template.middle, signature))


@functools.lru_cache(maxsize=2)
def _utc_time(second: int) -> bytes:
    """The UTCTime text of a second (``strftime`` costs ~7 µs: once per second, not per pass)."""
    return time.strftime("%y%m%d%H%M%SZ", time.gmtime(second)).encode("ascii")


# --- The template: the builder's DER, walked to the fields that differ -------------------------------------

_SEQUENCE, _SET, _OCTET_STRING, _UTC_TIME = 0x30, 0x31, 0x04, 0x17
_CONTEXT_0 = 0xA0  # [0]: a ContentInfo's content (EXPLICIT), a SignerInfo's signed attributes (IMPLICIT)
_SIGNED_ATTRIBUTES = _CONTEXT_0
_MESSAGE_DIGEST = bytes.fromhex("2a864886f70d010904")  # 1.2.840.113549.1.9.4
_SIGNING_TIME = bytes.fromhex("2a864886f70d010905")  # 1.2.840.113549.1.9.5


def _children(der: bytes, start: int, end: int):
    """The DER elements between ``start`` and ``end``: (tag, where it starts, where its value starts, its end)."""
    while start < end:
        tag, length, value = der[start], der[start + 1], start + 2
        if length & 0x80:
            count = length & 0x7F
            length, value = int.from_bytes(der[value : value + count], "big"), value + count
        yield tag, start, value, value + length
        start = value + length


def _only(elements, tag: int):
    found = [element for element in elements if element[0] == tag]
    if len(found) != 1:
        raise ValueError(f"expected one element of tag {tag:#x}, found {len(found)}")
    return found[0]


def signature_template(material: SigningMaterial) -> SignatureTemplate | None:
    """The template of the material's signatures, or None (a key that is not RSA: its signature's size varies)."""
    if not isinstance(material.private_key, rsa.RSAPrivateKey):
        return None
    der = builder_sign(b"{}", material)
    # ContentInfo { contentType, [0] SignedData { ..., signerInfos SET { SignerInfo } } }
    _, _, content_info, _ = next(_children(der, 0, len(der)))
    _, _, signed_data, end = _only(_children(der, content_info, len(der)), _CONTEXT_0)
    _, _, signed_data, end = next(_children(der, signed_data, end))
    *_, (tag, _, signer_infos, end) = _children(der, signed_data, end)
    if tag != _SET:
        raise ValueError("the builder's SignedData does not end with its signer infos")
    _, _, signer_info, end = _only(_children(der, signer_infos, end), _SEQUENCE)
    fields = list(_children(der, signer_info, end))
    _, attributes_at, attributes_value, attributes_end = _only(fields, _SIGNED_ATTRIBUTES)
    tag, _, signature_at, signature_end = fields[-1]
    size = (material.private_key.key_size + 7) // 8
    if (tag, signature_end, signature_end - signature_at) != (_OCTET_STRING, len(der), size):
        raise ValueError("the builder's signature does not end with the RSA signature")
    values = {}  # attribute type -> (tag, where its value starts within the attributes, its size)
    for _, _, attribute, attribute_end in _children(der, attributes_value, attributes_end):
        (_, _, oid, oid_end), (_, _, values_at, values_end) = _children(der, attribute, attribute_end)
        tag, _, value, value_end = next(_children(der, values_at, values_end))
        values[der[oid:oid_end]] = (tag, value - attributes_at, value_end - value)

    def value_at(oid: bytes, tag: int, size: int) -> int:
        found_tag, at, found_size = values.get(oid, (None, None, None))
        if (found_tag, found_size) != (tag, size):
            raise ValueError(f"the builder's signed attribute {oid.hex()} is not of tag {tag:#x} and size {size}")
        return at

    return SignatureTemplate(
        head=der[:attributes_at],
        attributes=der[attributes_at:attributes_end],
        digest_at=value_at(_MESSAGE_DIGEST, _OCTET_STRING, 32),
        time_at=value_at(_SIGNING_TIME, _UTC_TIME, 13),
        middle=der[attributes_end:signature_at],
    )
