"""Build a card's signed ``.pkpass``: pass.json, images, localizations, manifest, signature.

The package follows Apple's "Building a Pass" rules: ``manifest.json`` maps
every other file of the zip (localized ones included) to its SHA-1 in hex,
and ``signature`` is the detached PKCS#7 over the manifest's exact bytes.

Most of a package is the same for every card of a program: the icon and logo
images, the texts of the ``.strings`` files (labels, how to earn, the reward
catalog, the stores, the description). They are built once per *program
version* into a :class:`PassDesign`, with each file's SHA-1, CRC-32 and zip
entry ready, and kept per process (:data:`DESIGN_CACHE_SIZE` designs). Only
``pass.json``, the stamp strip (cached by stamps/target/colours), the texts
that name the card's own figures or news, the manifest and the signature are
made per card.

The version (:func:`design_key`) is everything the shared files are made
from, read with the card in the same statement
(``wallet.apple.selectors.pass_source_get``):

- every program field a pass shows (name, type, stamp target and reward,
  points rate, minimum purchase, terms, privacy URL, colours, the logo's file
  name) and the program's ``updated_at`` (a new logo under the same name
  still saves the program);
- the merchant's name (organization name, the initial of the default logo)
  and ``updated_at``;
- the program's rewards and the merchant's stores as their number and
  latest ``updated_at`` (any row added, edited or deleted changes one);
- the pass type and team identifiers are not in the shared files; the texts
  of ``localization.py`` are code, so a new catalogue comes with a restart.

A stale image or text on a customer's phone would be a bug that no device
reports, so the key errs on the side of rebuilding: any save of the
program or merchant makes a new design.
"""

import functools
import hashlib
import struct
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field

import orjson

from loyalty.models import Program
from loyalty.selectors.customer_pages import program_rewards
from loyalty.selectors.wallet import card_news_pick, merchant_stores_for_pass, program_get_for_wallet
from wallet.apple import images, localization
from wallet.apple.config import AppleConfig
from wallet.apple.selectors import PassSource, pass_source_get
from wallet.apple.signing import manifest_sign
from wallet.logos import program_logo_bytes
from wallet.models import ApplePass

DESIGN_CACHE_SIZE = 256  # program versions kept per process (~50 KB of images each)
CARD_STRINGS_CACHE_SIZE = 64  # per design: .strings with a card's own texts (one news campaign: one entry)
# Every entry is dated 1980-01-01 00:00 (the zip epoch): the same card state gives the same files.
_DOS_DATE, _DOS_TIME = (1 << 5) | 1, 0


@functools.lru_cache(maxsize=256)
def rgb(colour: str) -> str:
    red, green, blue = images.hex_to_rgb(colour)
    return f"rgb({red}, {green}, {blue})"


def _field(key: str, label: str, value, **extra) -> dict:
    return {"key": key, "label": label, "value": value, **extra}


# --- Zip entries ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZipMember:
    """One file of the package, ready to be written: its SHA-1 for the manifest, its zip local entry."""

    name: str
    sha1: str
    crc: int
    size: int
    compressed_size: int
    method: int
    local: bytes  # local file header + name + (compressed) data

    def central(self, offset: int) -> bytes:
        name = self.name.encode("ascii")
        return struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, self.method, _DOS_TIME, _DOS_DATE, self.crc,
            self.compressed_size, self.size, len(name), 0, 0, 0, 0, 0, offset,
        ) + name  # fmt: skip


def zip_member(name: str, data: bytes, *, deflate: bool, listed: bool = True) -> ZipMember:
    """Deflated where it pays or matters: the shared ``.strings`` (UTF-16, deflated once per design) and
    pass.json. PNG is compressed already; the manifest and the signature are small and hold no secret.
    ``listed``: in the manifest (every file but the manifest and the signature), so its SHA-1 is needed."""
    crc = zlib.crc32(data)
    if deflate:
        # A 4 KB window and a small hash table: the files deflated here are a few KB, and zlib's default
        # state (256 KB, zeroed per object) cost 4 times the compression of a 1.4 KB pass.json.
        compressor = zlib.compressobj(6, zlib.DEFLATED, -12, 4)
        stored = compressor.compress(data) + compressor.flush()
        method = 8
    else:
        stored, method = data, 0
    encoded = name.encode("ascii")
    header = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, method, _DOS_TIME, _DOS_DATE, crc, len(stored), len(data), len(encoded), 0
    )
    return ZipMember(
        name=name, sha1=hashlib.sha1(data).hexdigest() if listed else "", crc=crc, size=len(data),
        compressed_size=len(stored), method=method, local=header + encoded + stored,
    )  # fmt: skip


@functools.lru_cache(maxsize=1024)
def _image_member(name: str, data: bytes) -> ZipMember:
    """Images come from the per-process image caches as the same bytes objects: one entry each, made once."""
    return zip_member(name, data, deflate=False)


@dataclass(frozen=True)
class ZipPrefix:
    """The first entries of a zip, written once: their local entries and central directory records
    (whose offsets are fixed, being first), so a package of a design's shared files writes only its own."""

    members: tuple[ZipMember, ...]
    local: bytes
    central: bytes

    @classmethod
    def of(cls, members) -> "ZipPrefix":
        members, offset, central = tuple(members), 0, []
        for member in members:
            central.append(member.central(offset))
            offset += len(member.local)
        return cls(members, b"".join(member.local for member in members), b"".join(central))


_NO_PREFIX = ZipPrefix.of(())


def zip_write(members: list[ZipMember], *, prefix: ZipPrefix = _NO_PREFIX) -> bytes:
    """The zip of ``prefix``'s entries, then ``members``."""
    parts, central, offset = [prefix.local], [prefix.central], len(prefix.local)
    for member in members:
        parts.append(member.local)
        central.append(member.central(offset))
        offset += len(member.local)
    size = sum(len(entry) for entry in central)
    count = len(prefix.members) + len(members)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, size, offset, 0)
    return b"".join([*parts, *central, end])  # one copy of the ~100 KB, not three


# --- What every card of a program version shares ----------------------------------------------------------


@dataclass(frozen=True)
class PassDesign:
    key: tuple
    program: Program  # with its merchant: the fields pass.json shows, as they were when the design was made
    texts: dict[str, dict[str, str]]  # language -> labels and program texts, in .strings order
    strings: dict[str, ZipMember]  # language -> the .strings file when the card adds no text of its own
    images: tuple[ZipMember, ...]  # icon and logo, every scale
    rewards: tuple  # the active catalog (points programs), cheapest first: (name, points_required)
    stores_text: str
    card_strings: OrderedDict = field(default_factory=OrderedDict, compare=False, repr=False)
    # The zip's first entries: the images, and the images with the .strings for a card adding no text.
    images_zip: ZipPrefix = field(default=_NO_PREFIX, compare=False, repr=False)
    images_and_strings_zip: ZipPrefix = field(default=_NO_PREFIX, compare=False, repr=False)


_designs: OrderedDict = OrderedDict()
_designs_lock = threading.Lock()


def pass_design_get(source: PassSource) -> PassDesign:
    """The design of the pass's program version, built on first use and kept (LRU) per process.

    Built from the program read again (after the version was read): a program changed meanwhile gives
    a design newer than its key, never older, and the next read of the new version builds its own.
    """
    key = source.design_key
    with _designs_lock:
        design = _designs.get(key)
        if design is not None:
            _designs.move_to_end(key)
            return design
    design = _design_build(key, program_get_for_wallet(program_id=source.program_id))
    with _designs_lock:
        _designs[key] = design
        while len(_designs) > DESIGN_CACHE_SIZE:
            _designs.popitem(last=False)
    return design


def pass_designs_clear() -> None:
    with _designs_lock:
        _designs.clear()


def _program_texts(program: Program) -> dict[str, dict[str, str]]:
    """Per language: every label, then the program's own texts (how to earn, catalog, description)."""
    texts = {}
    reward_text = program.stamps_reward_description
    for language in localization.LANGUAGES:
        templates = localization.TEMPLATES[language]
        entries = dict(localization.LABELS[language])
        default_reward = templates["default_reward"]
        if program.has_stamps and not reward_text:
            entries["TEXT_DEFAULT_REWARD"] = default_reward[:1].upper() + default_reward[1:]
        rules = []
        if program.has_stamps:
            rules.append(
                templates["stamps_rule"].format(target=program.stamps_target, reward=reward_text or default_reward)
            )
        if program.has_points:
            rules.append(templates["points_rule"].format(rate=program.points_per_euro))
            if program.minimum_purchase_cents:
                amount = localization.format_euros(program.minimum_purchase_cents, language)
                rules.append(templates["minimum"].format(amount=amount))
        entries["TEXT_HOW_TO_EARN"] = " ".join(rules)
        entries["TEXT_DESCRIPTION"] = templates["description"].format(program=program.name)
        texts[language] = entries
    return texts


def _design_build(key: tuple, program: Program) -> PassDesign:
    merchant = program.merchant
    texts = _program_texts(program)
    rewards = tuple(
        (reward.name, reward.points_required)
        for reward in sorted(
            program_rewards(program=program), key=lambda reward: (reward.points_required, reward.position, reward.id)
        )
    )
    if rewards:
        for language in localization.LANGUAGES:
            line = localization.TEMPLATES[language]["catalog_line"]
            texts[language]["TEXT_REWARDS"] = "\n".join(
                line.format(name=name, points=points) for name, points in rewards
            )
    stores = merchant_stores_for_pass(merchant_id=merchant.pk)
    stores_text = "\n".join(
        f"{store.name}, {' '.join(store.address.split())}" if store.address else store.name for store in stores
    )
    logo = program_logo_bytes(program)
    initial = (merchant.name.strip()[:1] or "?").upper()
    drawn = {
        **images.icon_images(logo, initial, program.background_color, program.text_color),
        **images.logo_images(logo, initial, program.background_color, program.text_color),
    }
    strings = {language: _strings_member(language, entries) for language, entries in texts.items()}
    image_members = tuple(zip_member(name, data, deflate=False) for name, data in drawn.items())
    return PassDesign(
        key=key,
        program=program,
        texts=texts,
        strings=strings,
        images=image_members,
        rewards=rewards,
        stores_text=stores_text,
        images_zip=ZipPrefix.of(image_members),
        images_and_strings_zip=ZipPrefix.of((*image_members, *strings.values())),
    )


def _strings_member(language: str, entries: dict[str, str]) -> ZipMember:
    return zip_member(f"{language}.lproj/pass.strings", localization.strings_file(entries), deflate=True)


def _card_strings(design: PassDesign, extra: dict[str, dict[str, str]]) -> list[ZipMember]:
    """The .strings files: the design's, or with the card's own texts added (kept per design: a campaign
    gives every card the same news text, and many cards share a next-reward text)."""
    if not extra:
        return list(design.strings.values())
    cache_key = tuple((language, tuple(entries.items())) for language, entries in extra.items())
    with _designs_lock:
        members = design.card_strings.get(cache_key)
    if members is None:
        members = [
            _strings_member(language, {**entries, **extra[language]}) for language, entries in design.texts.items()
        ]
        with _designs_lock:
            design.card_strings[cache_key] = members
            while len(design.card_strings) > CARD_STRINGS_CACHE_SIZE:
                design.card_strings.popitem(last=False)
    return members


# --- Per card -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PassContent:
    pass_json: dict
    extra_strings: dict[str, dict[str, str]]  # language -> the card's own texts (next reward, news)


def _next_reward(rewards: tuple, points: int):
    for name, points_required in rewards:
        if points_required > points:
            return name, points_required
    return rewards[-1] if rewards else None


def pass_content_build(*, source: PassSource, design: PassDesign, config: AppleConfig) -> PassContent:
    card, program = source, design.program
    extra: dict[str, dict[str, str]] = {}

    def card_text(key: str, by_language) -> str:
        for language in localization.LANGUAGES:
            extra.setdefault(language, {})[key] = by_language(language)
        return key

    header, primary, secondary, auxiliary, back = [], [], [], [], []
    if program.has_points:
        header.append(
            _field(
                "points",
                "LABEL_POINTS",
                card.points_balance,
                changeMessage="CHANGE_POINTS",
                textAlignment="PKTextAlignmentRight",
            )
        )
    if program.has_stamps:
        stamps_value = f"{card.stamp_count} / {program.stamps_target}"
        primary.append(_field("stamps", "LABEL_STAMPS", stamps_value, changeMessage="CHANGE_STAMPS"))
        if not program.has_points:
            to_go = max(program.stamps_target - card.stamp_count, 0)
            header.append(
                _field(
                    "stamps_to_go",
                    "LABEL_STAMPS_TO_GO",
                    to_go if to_go else "VALUE_REWARD_READY",
                    textAlignment="PKTextAlignmentRight",
                )
            )
        secondary.append(_field("reward", "LABEL_REWARD", program.stamps_reward_description or "TEXT_DEFAULT_REWARD"))
    else:
        reward = _next_reward(design.rewards, card.points_balance)
        if reward is not None:
            name, points_required = reward
            missing = points_required - card.points_balance
            template = "next_reward" if missing > 0 else "next_reward_ready"
            key = card_text(
                "TEXT_NEXT_REWARD",
                lambda language: localization.TEMPLATES[language][template].format(name=name, missing=missing),
            )
            primary.append(_field("next_reward", "LABEL_NEXT_REWARD", key))

    if source.member_name:
        secondary.append(_field("member", "LABEL_MEMBER", source.member_name))
    auxiliary.append(_field("card_number", "LABEL_CARD_NUMBER", card.card_number))
    if not card.card_is_active:
        auxiliary.append(_field("status", "LABEL_STATUS", "VALUE_DEACTIVATED"))

    news = card_news_pick(campaign_id=source.news_id, automatic_id=source.news_automatic_id)
    if news is not None:
        # A key of its own per message: the field's value changes with each message, so the
        # device shows the changeMessage ("%@": the text itself) on the lock screen once.
        key = card_text(
            f"TEXT_NEWS_{news.key}", lambda language: "\n".join(filter(None, (news.text_for(language), news.link_url)))
        )
        back.append(_field("news", "LABEL_NEWS", key, changeMessage="%@"))
    # One back field reads better than three; its text is assembled per language.
    back.append(_field("how_to_earn", "LABEL_HOW_TO_EARN", "TEXT_HOW_TO_EARN"))
    if program.has_points and design.rewards:
        back.append(_field("rewards", "LABEL_REWARDS", "TEXT_REWARDS"))
    if program.terms_text:
        back.append(_field("terms", "LABEL_TERMS", program.terms_text))
    if design.stores_text:
        back.append(_field("stores", "LABEL_STORES", design.stores_text))
    if program.privacy_url:
        back.append(_field("privacy", "LABEL_PRIVACY", program.privacy_url))
    back.append(_field("card_number_back", "LABEL_CARD_NUMBER", card.card_number))

    pass_json = {
        "formatVersion": 1,
        "passTypeIdentifier": config.pass_type_identifier,
        "serialNumber": source.serial_number,
        "teamIdentifier": config.team_identifier,
        "organizationName": program.merchant.name,
        "description": "TEXT_DESCRIPTION",
        "logoText": program.name,
        "authenticationToken": source.authentication_token,
        "webServiceURL": config.web_service_url,
        "backgroundColor": rgb(program.background_color),
        "foregroundColor": rgb(program.text_color),
        "labelColor": rgb(program.text_color),
        # The QR is a bearer credential: the pass is not for forwarding.
        "sharingProhibited": True,
        "barcodes": [
            {
                "format": "PKBarcodeFormatQR",
                "message": card.qr_code_data,
                "messageEncoding": "iso-8859-1",
                "altText": card.card_number,
            }
        ],
        "storeCard": {
            "headerFields": header,
            "primaryFields": primary,
            "secondaryFields": secondary,
            "auxiliaryFields": auxiliary,
            "backFields": back,
        },
    }
    if not card.card_is_active:
        pass_json["voided"] = True
    return PassContent(pass_json=pass_json, extra_strings=extra)


def _json(value, *, sort_keys: bool = False) -> bytes:
    """Compact UTF-8 JSON, the bytes of ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``,
    by orjson: 1 µs for a pass.json where the standard library's C encoder takes 12."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0)


def _card_members(*, source: PassSource, config: AppleConfig) -> tuple[ZipPrefix, list[ZipMember]]:
    """The package's files: its design's shared first entries (a prefix), then the card's own."""
    design = pass_design_get(source)
    program = design.program
    content = pass_content_build(source=source, design=design, config=config)
    pass_json = _json(content.pass_json)
    # Deflated: pass.json holds the device's authentication token, which must not sit in the response as
    # plain text for whatever scans or logs bodies (tests/reliability/test_security_secrets.py).
    members = [zip_member("pass.json", pass_json, deflate=True)]
    if program.has_stamps:
        strip = images.strip_images(
            source.stamp_count, program.stamps_target, program.background_color, program.text_color
        )
        members.extend(_image_member(name, data) for name, data in strip.items())
    if content.extra_strings:
        members.extend(_card_strings(design, content.extra_strings))
        return design.images_zip, members
    return design.images_and_strings_zip, members


def pass_package_build(
    *, config: AppleConfig, source: PassSource | None = None, apple_pass: ApplePass | None = None
) -> bytes:
    """The signed ``.pkpass`` (a zip) of the pass, built from the card's current state: ``source`` as the
    views read it (``pass_source_get``), else the ``apple_pass``'s, read now."""
    if source is None:
        source = pass_source_get(apple_pass_id=apple_pass.pk)
    prefix, members = _card_members(source=source, config=config)
    manifest = _json({member.name: member.sha1 for member in (*prefix.members, *members)}, sort_keys=True)
    signature = manifest_sign(manifest=manifest, config=config)
    return zip_write(
        [
            *members,
            zip_member("manifest.json", manifest, deflate=False, listed=False),
            zip_member("signature", signature, deflate=False, listed=False),
        ],
        prefix=prefix,
    )
