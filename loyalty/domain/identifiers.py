"""Card identifiers: a 12-digit Luhn card number and two unguessable tokens."""

import secrets

CARD_NUMBER_LENGTH = 12


def luhn_check_digit(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:  # these positions are doubled once the check digit is appended
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def is_valid_card_number(value: str) -> bool:
    return (
        len(value) == CARD_NUMBER_LENGTH
        and value.isascii()
        and value.isdigit()
        and luhn_check_digit(value[:-1]) == value[-1]
    )


def new_card_number() -> str:
    body = str(secrets.randbelow(9 * 10 ** (CARD_NUMBER_LENGTH - 2)) + 10 ** (CARD_NUMBER_LENGTH - 2))
    return body + luhn_check_digit(body)


def new_secret_token() -> str:
    """URL-safe, 192 random bits (the QR data and the card-page token are bearer credentials)."""
    return secrets.token_urlsafe(24)
