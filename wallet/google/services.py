"""Google Wallet writes: keep classes and objects in step with programs and cards.

``google_sync_program`` and ``google_sync_card`` do the work now and raise
:class:`~wallet.google.client.GoogleWalletError` on failure; the Celery tasks
(live updates) and the hourly catch-up call them. ``google_save_url`` builds
the save link when a customer clicks the button.

A sync is serialised per class or object: on databases with row locks the
Google row is locked (not the card, so the till never waits on Google) and
the card is read after the lock is taken, so two quick stamps cannot reach
Google in the wrong order. SQLite has no row locks, and a transaction there
would take the database's write lock for the length of an HTTP call, so no
lock is taken.
"""

import logging
from contextlib import contextmanager

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from loyalty.models import LoyaltyCard, Program
from loyalty.selectors.wallet import card_get_for_wallet, program_get_for_wallet
from wallet.models import GoogleWalletClass, GoogleWalletObject
from wallet.services import wallet_sync_mark

from . import payloads
from .client import CLASS_RESOURCE, OBJECT_RESOURCE, GoogleWalletUnavailable, WalletClient, client_for
from .config import GoogleWalletConfig, config_get
from .save_links import full_object_save_url, skinny_save_url

logger = logging.getLogger(__name__)


class GoogleWalletNotConfigured(Exception):
    pass


@contextmanager
def _locked(queryset):
    """The one row of ``queryset``, locked for the block where the database can lock rows."""
    if connection.features.has_select_for_update:
        with transaction.atomic():
            yield queryset.select_for_update().get()
    else:
        yield queryset.get()


def _record_get_or_create(model, **fields):
    lookup = {key: value for key, value in fields.items() if key != "defaults"}
    try:
        with transaction.atomic():
            return model.objects.get_or_create(**fields)[0]
    except IntegrityError:  # created concurrently: read the winner's row
        return model.objects.get(**lookup)


def _sync_class(*, config: GoogleWalletConfig, client: WalletClient, program: Program) -> GoogleWalletClass:
    """Make Google's class match the program; no request when it already does."""
    record = _record_get_or_create(
        GoogleWalletClass, program=program, defaults={"class_id": payloads.class_id_for(program, config)}
    )
    with _locked(GoogleWalletClass.objects.filter(pk=record.pk)) as record:
        program = program_get_for_wallet(program_id=program.pk)
        payload = payloads.class_payload(program, config)
        payload["id"] = record.class_id
        if payload == record.last_payload and record.synced_at is not None:
            return record
        outcome = client.upsert(
            CLASS_RESOURCE, payload, last_payload=record.last_payload, also_send=("reviewStatus",)
        )
        record.last_payload = payload
        record.synced_at = timezone.now()
        record.save(update_fields=["last_payload", "synced_at"])
    logger.info("google_wallet.class_synced", extra={"program_id": program.pk, "outcome": outcome})
    return record


def _sync_object(
    *, config: GoogleWalletConfig, client: WalletClient, record: GoogleWalletObject, class_record: GoogleWalletClass
) -> bool:
    """Make Google's object match the card; False when there was nothing to send."""
    with _locked(GoogleWalletObject.objects.filter(pk=record.pk)) as record:
        card = card_get_for_wallet(card_id=record.card_id)
        payload = payloads.object_payload(card, config, object_id=record.object_id)
        payload["classId"] = class_record.class_id
        if payload == record.last_payload and record.synced_at is not None:
            return False
        outcome = client.upsert(OBJECT_RESOURCE, payload, last_payload=record.last_payload)
        record.last_payload = payload
        record.synced_at = timezone.now()
        record.save(update_fields=["last_payload", "synced_at"])
    logger.info("google_wallet.object_synced", extra={"card_id": record.card_id, "outcome": outcome})
    return True


def google_sync_program(program_id: int) -> bool:
    """PATCH the program's class if Google has one; False when there was none or nothing to do."""
    config = config_get()
    if config is None:
        return False
    record = GoogleWalletClass.objects.filter(program_id=program_id).select_related("program").first()
    if record is None:
        return False
    before = record.last_payload
    record = _sync_class(config=config, client=client_for(config), program=record.program)
    return record.last_payload != before


def google_sync_card(card_id: int) -> bool:
    """PATCH the card's object (and its class if that is behind) if the card was saved to Google Wallet.

    Returns False when the card has no object or Google already holds its
    current state; raises ``GoogleWalletError`` when Google could not be updated.
    """
    config = config_get()
    if config is None:
        return False
    record = GoogleWalletObject.objects.filter(card_id=card_id).select_related("card__program").first()
    if record is None:
        return False
    client = client_for(config)
    class_record = _sync_class(config=config, client=client, program=record.card.program)
    return _sync_object(config=config, client=client, record=record, class_record=class_record)


def google_save_url(*, card: LoyaltyCard) -> str:
    """The "Save to Google Wallet" link of a card, built when the customer asks for it.

    The class and object are created or brought up to date through the API
    and the link names only their ids. If Google cannot be reached the link
    carries the whole object instead (Google creates it when the customer
    saves), and the card is marked so the hourly sync makes sure of it.
    """
    config = config_get()
    if config is None:
        raise GoogleWalletNotConfigured()
    record = _record_get_or_create(
        GoogleWalletObject, card=card, defaults={"object_id": payloads.object_id_for(card, config)}
    )
    client = client_for(config)
    try:
        class_record = _sync_class(config=config, client=client, program=card.program)
        _sync_object(config=config, client=client, record=record, class_record=class_record)
    except GoogleWalletUnavailable as error:
        logger.warning("google_wallet.save_link_offline", extra={"card_id": card.pk, "error": str(error)})
        wallet_sync_mark(card_ids=[card.pk])
        card = card_get_for_wallet(card_id=card.pk)
        class_record = GoogleWalletClass.objects.filter(program_id=card.program_id).first()
        full_object = payloads.object_payload(card, config, object_id=record.object_id)
        if class_record is not None:
            full_object["classId"] = class_record.class_id
        return full_object_save_url(config, full_object)
    return skinny_save_url(config, object_id=record.object_id, class_id=class_record.class_id)


def google_program_cards_mark_out_of_date(*, program_id: int) -> int:
    """A class that could not be updated: each card saved to Google brings it up to date on its next sync."""
    return wallet_sync_mark(card_ids=GoogleWalletObject.objects.filter(card__program_id=program_id).values("card_id"))
