"""Build a card's signed ``.pkpass``: pass.json, images, localizations, manifest, signature.

The package follows Apple's "Building a Pass" rules: ``manifest.json`` maps
every other file of the zip (localized ones included) to its SHA-1 in hex,
and ``signature`` is the detached PKCS#7 over the manifest's exact bytes.
"""

import functools
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass

from loyalty.models import LoyaltyCard, Program
from loyalty.selectors.customer_pages import program_rewards
from loyalty.selectors.wallet import card_news_get, merchant_stores_for_pass
from wallet.apple import images, localization
from wallet.apple.config import AppleConfig
from wallet.apple.signing import manifest_sign
from wallet.logos import program_logo_bytes
from wallet.models import ApplePass


def rgb(colour: str) -> str:
    red, green, blue = images.hex_to_rgb(colour)
    return f"rgb({red}, {green}, {blue})"


@dataclass(frozen=True)
class PassContent:
    pass_json: dict
    strings: dict[str, dict[str, str]]  # language -> key -> text


def _field(key: str, label: str, value, **extra) -> dict:
    return {"key": key, "label": label, "value": value, **extra}


def _stores_text(card: LoyaltyCard) -> str:
    stores = merchant_stores_for_pass(merchant_id=card.merchant_id)
    return "\n".join(
        f"{store.name}, {' '.join(store.address.split())}" if store.address else store.name for store in stores
    )


def _next_reward(program: Program, points: int):
    rewards = sorted(program_rewards(program=program), key=lambda reward: (reward.points_required, reward.position, reward.id))
    for reward in rewards:
        if reward.points_required > points:
            return reward, rewards
    return (rewards[-1] if rewards else None), rewards


def pass_content_build(*, apple_pass: ApplePass, config: AppleConfig) -> PassContent:
    card = apple_pass.card
    program = card.program
    merchant = card.merchant
    dynamic: dict[str, dict[str, str]] = {language: {} for language in localization.LANGUAGES}

    def localized(key: str, template: str, **values) -> str:
        """Ship one text per language under ``key``; pass.json refers to the key."""
        for language in localization.LANGUAGES:
            texts = localization.TEMPLATES[language]
            rendered = {name: (value(language) if callable(value) else value) for name, value in values.items()}
            dynamic[language][key] = texts[template].format(**rendered)
        return key

    header, primary, secondary, auxiliary, back = [], [], [], [], []
    stamps_value = f"{card.stamp_count} / {program.stamps_target}"
    reward_text = program.stamps_reward_description

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
        primary.append(_field("stamps", "LABEL_STAMPS", stamps_value, changeMessage="CHANGE_STAMPS"))
        if not program.has_points:
            to_go = card.stamps_until_reward
            header.append(
                _field(
                    "stamps_to_go",
                    "LABEL_STAMPS_TO_GO",
                    to_go if to_go else "VALUE_REWARD_READY",
                    textAlignment="PKTextAlignmentRight",
                )
            )
        if not reward_text:
            localized("TEXT_DEFAULT_REWARD", "default_reward")
            for language in localization.LANGUAGES:
                text = dynamic[language]["TEXT_DEFAULT_REWARD"]
                dynamic[language]["TEXT_DEFAULT_REWARD"] = text[:1].upper() + text[1:]
        secondary.append(_field("reward", "LABEL_REWARD", reward_text or "TEXT_DEFAULT_REWARD"))
    else:
        reward, _ = _next_reward(program, card.points_balance)
        if reward is not None:
            missing = reward.points_required - card.points_balance
            template = "next_reward" if missing > 0 else "next_reward_ready"
            primary.append(
                _field(
                    "next_reward",
                    "LABEL_NEXT_REWARD",
                    localized("TEXT_NEXT_REWARD", template, name=reward.name, missing=missing),
                )
            )

    customer = card.customer
    if customer.full_name and customer.erased_at is None:
        secondary.append(_field("member", "LABEL_MEMBER", customer.full_name))
    auxiliary.append(_field("card_number", "LABEL_CARD_NUMBER", card.card_number))
    if not card.is_active:
        auxiliary.append(_field("status", "LABEL_STATUS", "VALUE_DEACTIVATED"))

    if program.has_stamps:
        localized(
            "TEXT_STAMPS_RULE",
            "stamps_rule",
            target=program.stamps_target,
            reward=reward_text or (lambda language: localization.TEMPLATES[language]["default_reward"]),
        )
    if program.has_points:
        localized("TEXT_POINTS_RULE", "points_rule", rate=program.points_per_euro)
        if program.minimum_purchase_cents:
            localized(
                "TEXT_MINIMUM",
                "minimum",
                amount=lambda language: localization.format_euros(program.minimum_purchase_cents, language),
            )
    news = card_news_get(card_id=card.pk)
    if news is not None:
        # A key of its own per message: the field's value changes with each message, so the
        # device shows the changeMessage ("%@": the text itself) on the lock screen once.
        news_key = f"TEXT_NEWS_{news.key}"
        for language in localization.LANGUAGES:
            dynamic[language][news_key] = "\n".join(filter(None, (news.text_for(language), news.link_url)))
        back.append(_field("news", "LABEL_NEWS", news_key, changeMessage="%@"))
    # One back field reads better than three; its text is assembled per language.
    for language in localization.LANGUAGES:
        parts = [
            dynamic[language][key]
            for key in ("TEXT_STAMPS_RULE", "TEXT_POINTS_RULE", "TEXT_MINIMUM")
            if key in dynamic[language]
        ]
        dynamic[language]["TEXT_HOW_TO_EARN"] = " ".join(parts)
    back.append(_field("how_to_earn", "LABEL_HOW_TO_EARN", "TEXT_HOW_TO_EARN"))

    if program.has_points:
        _, rewards = _next_reward(program, card.points_balance)
        if rewards:
            for language in localization.LANGUAGES:
                line = localization.TEMPLATES[language]["catalog_line"]
                dynamic[language]["TEXT_REWARDS"] = "\n".join(
                    line.format(name=reward.name, points=reward.points_required) for reward in rewards
                )
            back.append(_field("rewards", "LABEL_REWARDS", "TEXT_REWARDS"))
    if program.terms_text:
        back.append(_field("terms", "LABEL_TERMS", program.terms_text))
    stores = _stores_text(card)
    if stores:
        back.append(_field("stores", "LABEL_STORES", stores))
    if program.privacy_url:
        back.append(_field("privacy", "LABEL_PRIVACY", program.privacy_url))
    back.append(_field("card_number_back", "LABEL_CARD_NUMBER", card.card_number))

    pass_json = {
        "formatVersion": 1,
        "passTypeIdentifier": config.pass_type_identifier,
        "serialNumber": apple_pass.serial_number,
        "teamIdentifier": config.team_identifier,
        "organizationName": merchant.name,
        "description": localized("TEXT_DESCRIPTION", "description", program=program.name),
        "logoText": program.name,
        "authenticationToken": apple_pass.authentication_token,
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
    if not card.is_active:
        pass_json["voided"] = True

    strings = {language: {**localization.LABELS[language], **dynamic[language]} for language in localization.LANGUAGES}
    return PassContent(pass_json=pass_json, strings=strings)


def pass_files_build(*, apple_pass: ApplePass, config: AppleConfig) -> dict[str, bytes]:
    """Every file of the package except ``manifest.json`` and ``signature``."""
    content = pass_content_build(apple_pass=apple_pass, config=config)
    card = apple_pass.card
    program = card.program
    logo = program_logo_bytes(program)
    initial = (card.merchant.name.strip()[:1] or "?").upper()
    files = {"pass.json": json.dumps(content.pass_json, ensure_ascii=False, indent=2).encode("utf-8")}
    files.update(images.icon_images(logo, initial, program.background_color, program.text_color))
    files.update(images.logo_images(logo, initial, program.background_color, program.text_color))
    if program.has_stamps:
        files.update(
            images.strip_images(card.stamp_count, program.stamps_target, program.background_color, program.text_color)
        )
    for language, entries in content.strings.items():
        files[f"{language}.lproj/pass.strings"] = localization.strings_file(entries)
    return files


@functools.lru_cache(maxsize=1024)
def _sha1(data: bytes) -> str:
    """SHA-1 in hex. Images come from the per-process image cache as the same bytes objects,
    so their digests are computed once, not once per pass."""
    return hashlib.sha1(data).hexdigest()


def _compression(name: str) -> int:
    """PNG is compressed already: deflating it again costs more time than the few bytes it saves."""
    return zipfile.ZIP_STORED if name.endswith(".png") else zipfile.ZIP_DEFLATED


def pass_package_build(*, apple_pass: ApplePass, config: AppleConfig) -> bytes:
    """The signed ``.pkpass`` (a zip) of the pass, built from the card's current state."""
    files = pass_files_build(apple_pass=apple_pass, config=config)
    manifest = json.dumps({name: _sha1(data) for name, data in files.items()}, indent=2, sort_keys=True).encode(
        "utf-8"
    )
    signature = manifest_sign(manifest=manifest, config=config)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data, compress_type=_compression(name))
        archive.writestr("manifest.json", manifest)
        archive.writestr("signature", signature)
    return buffer.getvalue()
