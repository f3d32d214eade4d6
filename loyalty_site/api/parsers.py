"""The API's JSON parser: DRF's, refusing input too deep to parse, repeated keys and lone surrogates.

- ``json`` raises ``RecursionError`` (not a ``ValueError``, which DRF turns
  into a 400) on deeply nested input such as 100,000 ``[``: that was a 500.
- An object naming the same key twice is refused: JSON leaves it undefined
  which value counts, and a proxy or log reader keeping the first while we
  keep the last would disagree with us about what the request asked.

Both are a 400 ``VALIDATION_ERROR`` (DRF's ``ParseError``).

- A lone surrogate (``"\\ud800"``: half of a UTF-16 pair, escaped in the JSON
  text) is no character: it cannot be stored or encoded as UTF-8, so any
  answer or log line repeating it failed (a choice error was a 500). It is a
  400 ``VALIDATION_ERROR`` wherever it is, keys included, naming the top-level
  field it is under. A correct pair (``"\\ud83d\\ude00"``) is one character
  and welcome.

The body's size is bounded before any parsing: DRF reads JSON bodies through
``request.body``, where Django refuses more than ``DATA_UPLOAD_MAX_MEMORY_SIZE``
with ``RequestDataTooBig`` (the exception handler's 413 ``REQUEST_TOO_LARGE``).
"""

import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.settings import api_settings
from rest_framework.utils import json
from rest_framework.validators import ProhibitSurrogateCharactersValidator

_SURROGATE = re.compile(r"[\ud800-\udfff]")
# The parsed data is walked only when the text can hold one: a \uD800–\uDFFF escape, or a surrogate the
# declared charset decoded into the text itself (UTF-8 refuses them, but utf-7 or unicode_escape do not).
_MAYBE_SURROGATE = re.compile(r"[\ud800-\udfff]|\\u[dD][89a-fA-F]")
# A top-level key is named in the error only if it looks like a field name (it is the client's input).
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _refuse_duplicate_keys(pairs: list) -> dict:
    seen = set()
    for name, _value in pairs:
        if name in seen:
            raise ValueError(f"duplicate key {name[:50]!r}")
        seen.add(name)
    return dict(pairs)


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = stream.read().decode(encoding)
            parse_constant = json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant, object_pairs_hook=_refuse_duplicate_keys)
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
        if _MAYBE_SURROGATE.search(text):
            _refuse_lone_surrogates(data)
        return data


def _lone_surrogate(value) -> str | None:
    """The first lone surrogate in a parsed JSON value (keys included), walked without recursion."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found:
                return found.group()
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def _refuse_lone_surrogates(data) -> None:
    parts = data.items() if isinstance(data, dict) else [(api_settings.NON_FIELD_ERRORS_KEY, data)]
    for name, value in parts:
        surrogate = _lone_surrogate(name) or _lone_surrogate(value)
        if surrogate is None:
            continue
        if not _FIELD_NAME.fullmatch(name):
            name = api_settings.NON_FIELD_ERRORS_KEY
        # DRF's own wording (CharField says the same), naming the code point, never the text.
        message = ProhibitSurrogateCharactersValidator.message.format(code_point=ord(surrogate))
        raise ValidationError({name: [message]}, code=ProhibitSurrogateCharactersValidator.code)
