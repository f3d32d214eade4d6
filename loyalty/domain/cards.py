"""How a request names a card: exactly one of its id, QR data or card number."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from loyalty.domain.identifiers import is_valid_card_number
from loyalty.exceptions import ValidationFailed


@dataclass(frozen=True)
class CardRef:
    """A card named by exactly one of its id, QR data or card number."""

    card_id: int | None = None
    qr_code: str | None = None
    card_number: str | None = None

    def __post_init__(self):
        given = [name for name in ("card_id", "qr_code", "card_number") if getattr(self, name) not in (None, "")]
        if len(given) != 1:
            raise ValidationFailed(
                _("Name the card by exactly one of card_id, qr_code or card_number."),
                details={"card": [str(_("Give exactly one of card_id, qr_code, card_number."))]},
            )
        if self.card_number not in (None, "") and not is_valid_card_number(self.card_number):
            raise ValidationFailed(
                _("This is not a valid card number (check the digits)."),
                details={"card_number": [str(_("Not a valid card number."))]},
            )

    def lookup(self) -> dict:
        if self.card_id is not None:
            return {"pk": self.card_id}
        if self.qr_code:
            return {"qr_code_data": self.qr_code}
        return {"card_number": self.card_number}
