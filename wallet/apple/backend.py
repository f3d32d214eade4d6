"""The Apple Wallet back end of :mod:`wallet.backends`."""


def is_configured() -> bool:
    return False


def card_changed(card_id: int) -> None:
    pass


def program_changed(program_id: int) -> None:
    pass


def links(card) -> dict:
    return {}
