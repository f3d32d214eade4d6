"""The API's JSON parser: DRF's, refusing input too deep to parse and objects that repeat a key.

- ``json`` raises ``RecursionError`` (not a ``ValueError``, which DRF turns
  into a 400) on deeply nested input such as 100,000 ``[``: that was a 500.
- An object naming the same key twice is refused: JSON leaves it undefined
  which value counts, and a proxy or log reader keeping the first while we
  keep the last would disagree with us about what the request asked.

Both are a 400 ``VALIDATION_ERROR`` (DRF's ``ParseError``). The body's size is
bounded before any parsing: DRF reads JSON bodies through ``request.body``,
where Django refuses more than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` with
``RequestDataTooBig`` (the exception handler's 413 ``REQUEST_TOO_LARGE``).
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json


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
            return json.loads(text, parse_constant=parse_constant, object_pairs_hook=_refuse_duplicate_keys)
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
