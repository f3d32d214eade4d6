"""The texts of a pass in English, French, German and Luxembourgish.

``pass.json`` names a label by a key ("LABEL_STAMPS"); each ``<lang>.lproj/
pass.strings`` maps every key to that language's text and the device picks
its language. Texts that embed numbers (how to earn, next reward) are
rendered per language at build time and shipped under their own keys.
"""

import re

LANGUAGES = ("en", "fr", "de", "lb")

LABELS = {
    "en": {
        "LABEL_STAMPS": "Stamps",
        "LABEL_POINTS": "Points",
        "LABEL_STAMPS_TO_GO": "Until your reward",
        "LABEL_REWARD": "Reward",
        "LABEL_NEXT_REWARD": "Next reward",
        "LABEL_MEMBER": "Member",
        "LABEL_CARD_NUMBER": "Card number",
        "LABEL_STATUS": "Status",
        "LABEL_HOW_TO_EARN": "How to earn",
        "LABEL_REWARDS": "Rewards",
        "LABEL_TERMS": "Terms",
        "LABEL_STORES": "Our stores",
        "LABEL_PRIVACY": "Privacy policy",
        "LABEL_NEWS": "News",
        "CHANGE_STAMPS": "You now have %@ stamps",
        "CHANGE_POINTS": "You now have %@ points",
        "VALUE_DEACTIVATED": "Deactivated",
        "VALUE_REWARD_READY": "Reward ready!",
    },
    "fr": {
        "LABEL_STAMPS": "Tampons",
        "LABEL_POINTS": "Points",
        "LABEL_STAMPS_TO_GO": "Avant votre récompense",
        "LABEL_REWARD": "Récompense",
        "LABEL_NEXT_REWARD": "Prochaine récompense",
        "LABEL_MEMBER": "Membre",
        "LABEL_CARD_NUMBER": "Numéro de carte",
        "LABEL_STATUS": "Statut",
        "LABEL_HOW_TO_EARN": "Comment cumuler",
        "LABEL_REWARDS": "Récompenses",
        "LABEL_TERMS": "Conditions",
        "LABEL_STORES": "Nos magasins",
        "LABEL_PRIVACY": "Politique de confidentialité",
        "LABEL_NEWS": "Actualités",
        "CHANGE_STAMPS": "Vous avez maintenant %@ tampons",
        "CHANGE_POINTS": "Vous avez maintenant %@ points",
        "VALUE_DEACTIVATED": "Désactivée",
        "VALUE_REWARD_READY": "Récompense disponible !",
    },
    "de": {
        "LABEL_STAMPS": "Stempel",
        "LABEL_POINTS": "Punkte",
        "LABEL_STAMPS_TO_GO": "Bis zur Prämie",
        "LABEL_REWARD": "Prämie",
        "LABEL_NEXT_REWARD": "Nächste Prämie",
        "LABEL_MEMBER": "Mitglied",
        "LABEL_CARD_NUMBER": "Kartennummer",
        "LABEL_STATUS": "Status",
        "LABEL_HOW_TO_EARN": "So sammeln Sie",
        "LABEL_REWARDS": "Prämien",
        "LABEL_TERMS": "Bedingungen",
        "LABEL_STORES": "Unsere Geschäfte",
        "LABEL_PRIVACY": "Datenschutz",
        "LABEL_NEWS": "Neuigkeiten",
        "CHANGE_STAMPS": "Sie haben jetzt %@ Stempel",
        "CHANGE_POINTS": "Sie haben jetzt %@ Punkte",
        "VALUE_DEACTIVATED": "Deaktiviert",
        "VALUE_REWARD_READY": "Prämie bereit!",
    },
    "lb": {
        "LABEL_STAMPS": "Stempelen",
        "LABEL_POINTS": "Punkten",
        "LABEL_STAMPS_TO_GO": "Bis zu Ärer Belounung",
        "LABEL_REWARD": "Belounung",
        "LABEL_NEXT_REWARD": "Nächst Belounung",
        "LABEL_MEMBER": "Member",
        "LABEL_CARD_NUMBER": "Kaartennummer",
        "LABEL_STATUS": "Status",
        "LABEL_HOW_TO_EARN": "Sou sammelt Dir",
        "LABEL_REWARDS": "Belounungen",
        "LABEL_TERMS": "Konditiounen",
        "LABEL_STORES": "Eis Geschäfter",
        "LABEL_PRIVACY": "Dateschutz",
        "LABEL_NEWS": "Neiegkeeten",
        "CHANGE_STAMPS": "Dir hutt elo %@ Stempelen",
        "CHANGE_POINTS": "Dir hutt elo %@ Punkten",
        "VALUE_DEACTIVATED": "Desaktivéiert",
        "VALUE_REWARD_READY": "Belounung prett!",
    },
}

TEMPLATES = {
    "en": {
        "description": "{program} loyalty card",
        "stamps_rule": "One stamp per visit. {target} stamps earn: {reward}.",
        "points_rule": "{rate} points for every euro spent.",
        "minimum": "Minimum purchase: {amount}.",
        "default_reward": "a free reward",
        "next_reward": "{name}: {missing} points to go",
        "next_reward_ready": "{name}: ready!",
        "catalog_line": "{name} – {points} points",
    },
    "fr": {
        "description": "Carte de fidélité {program}",
        "stamps_rule": "Un tampon par visite. {target} tampons vous offrent : {reward}.",
        "points_rule": "{rate} points par euro dépensé.",
        "minimum": "Achat minimum : {amount}.",
        "default_reward": "une récompense offerte",
        "next_reward": "{name} : encore {missing} points",
        "next_reward_ready": "{name} : disponible !",
        "catalog_line": "{name} – {points} points",
    },
    "de": {
        "description": "Treuekarte {program}",
        "stamps_rule": "Ein Stempel pro Besuch. {target} Stempel ergeben: {reward}.",
        "points_rule": "{rate} Punkte pro ausgegebenem Euro.",
        "minimum": "Mindesteinkauf: {amount}.",
        "default_reward": "eine Gratis-Prämie",
        "next_reward": "{name}: noch {missing} Punkte",
        "next_reward_ready": "{name}: bereit!",
        "catalog_line": "{name} – {points} Punkte",
    },
    "lb": {
        "description": "Treiekaart {program}",
        "stamps_rule": "E Stempel pro Besuch. {target} Stempele ginn: {reward}.",
        "points_rule": "{rate} Punkte fir all ausginnen Euro.",
        "minimum": "Mindestakaf: {amount}.",
        "default_reward": "eng gratis Belounung",
        "next_reward": "{name}: nach {missing} Punkten",
        "next_reward_ready": "{name}: prett!",
        "catalog_line": "{name} – {points} Punkten",
    },
}


def format_euros(cents: int, language: str) -> str:
    whole, rest = divmod(cents, 100)
    if language == "en":
        return f"€{whole:,}.{rest:02d}"
    grouped = f"{whole:,}".replace(",", "\u202f")
    return f"{grouped},{rest:02d} €"


def strings_file(entries: dict[str, str]) -> bytes:
    """A ``.strings`` file: ``"KEY" = "text";`` lines, UTF-16 with a byte-order mark as Apple documents."""
    lines = []
    for key, text in entries.items():
        lines.append(f'"{_escape(key)}" = "{_escape(text)}";')
    return ("\n".join(lines) + "\n").encode("utf-16")


def strings_file_parse(data: bytes) -> dict[str, str]:
    """The inverse of :func:`strings_file` (for tests and debugging)."""
    text = data.decode("utf-16")
    pattern = re.compile(r'^"((?:[^"\\]|\\.)*)" = "((?:[^"\\]|\\.)*)";$', re.MULTILINE)
    return {_unescape(key): _unescape(value) for key, value in pattern.findall(text)}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "")


def _unescape(text: str) -> str:
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            out.append("\n" if following == "n" else following)
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)
