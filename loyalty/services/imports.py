"""Import existing cards from CSV: a merchant moving from paper cards or another system.

Three steps. :func:`card_import_preview` parses and checks every row without
writing anything and reports per-row errors; :func:`card_import_stage` keeps
the checked rows under an import id for the owner to look at;
:func:`card_import_start` runs :func:`card_import_run` on the valid rows — as
a Celery task when a broker is configured, inline otherwise. Each row is one transaction: enroll
the customer (``customer_enroll``), lock the new card, write the balances and
one ``BALANCE_IMPORTED`` ledger row with the same deltas, so for every card
the balances still equal the sums of its ledger deltas. A row that fails
(e-mail enrolled meanwhile, card number taken) is reported and the others go
on; running the same import twice imports nothing twice (the second run finds
every customer already enrolled).

Card numbers are unique across the platform, so a number can be taken by
another merchant's card. The import must not become a way to learn which
numbers other merchants use: the preview checks a number only against the
merchant's own cards (which it knows anyway), so another merchant's number
looks exactly like a free one; if that number then fails at import, the row
is reported with the same words as a number taken by the merchant's own card
(:data:`CARD_NUMBER_UNAVAILABLE`), and nothing is written for it. Leaving the
number empty gives the card a new one.

The rows and the progress live in the cache (``CACHE_URL``) under a random
import id for a day; with a Celery worker the cache must be shared (Redis).
"""

import csv
import io
import logging
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from loyalty.domain.actors import Actor, Channel
from loyalty.domain.cards import CardRef
from loyalty.domain.identifiers import is_valid_card_number
from loyalty.exceptions import AlreadyEnrolled, LoyaltyError, NotFound, PermissionDenied
from loyalty.models import LoyaltyCard, Merchant, Program, TransactionType
from loyalty.services.cards import card_get_locked
from loyalty.services.enrollment import customer_enroll
from loyalty.services.ledger import ledger_record

logger = logging.getLogger(__name__)

MAX_IMPORT_ROWS = 100_000
MAX_STAMPS = 1_000
MAX_POINTS = 10_000_000
STATE_TIMEOUT_SECONDS = 24 * 3600
# One message for every taken number, whoever's card has it (see the module docstring).
CARD_NUMBER_UNAVAILABLE = gettext_noop("This card number cannot be used; leave it empty to get a new one.")
COLUMN_ALIASES = {
    "email": "email",
    "e-mail": "email",
    "mail": "email",
    "name": "full_name",
    "full_name": "full_name",
    "full name": "full_name",
    "stamps": "stamps",
    "points": "points",
    "card_number": "card_number",
    "card number": "card_number",
    "card": "card_number",
}


@dataclass
class ImportRow:
    line: int
    email: str
    full_name: str = ""
    stamps: int = 0
    points: int = 0
    card_number: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors


@dataclass
class ImportPreview:
    rows: list[ImportRow]
    file_errors: list[str]

    @property
    def valid_rows(self) -> list[ImportRow]:
        return [row for row in self.rows if row.is_valid] if not self.file_errors else []

    @property
    def invalid_rows(self) -> list[ImportRow]:
        return [row for row in self.rows if not row.is_valid]


def _state_key(import_id: str) -> str:
    return f"card-import:{import_id}"


def _rows_key(import_id: str) -> str:
    return f"card-import:{import_id}:rows"


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    for encoding in ("utf-8-sig", "cp1252"):  # spreadsheets export one or the other
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _whole_number(value: str, *, label: str, maximum: int, errors: list[str]) -> int:
    value = (value or "").strip()
    if not value:
        return 0
    if not (value.isascii() and value.isdigit()):
        errors.append(
            _("%(label)s must be a whole number of 0 or more, not “%(value)s”.") % {"label": label, "value": value}
        )
        return 0
    number = int(value)
    if number > maximum:
        errors.append(_("%(label)s must be at most %(maximum)d.") % {"label": label, "maximum": maximum})
    return number


def card_import_preview(*, merchant: Merchant, data: bytes | str) -> ImportPreview:
    """Parse and check a CSV file (comma or semicolon separated, with a header row); writes nothing."""
    text = _decode(data)
    program = Program.objects.filter(merchant=merchant).first()
    if program is None or not program.is_active:
        return ImportPreview(
            rows=[], file_errors=[_("Create and activate your loyalty program before importing cards.")]
        )
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        return ImportPreview(rows=[], file_errors=[_("The file is empty.")])
    columns = [COLUMN_ALIASES.get(name.strip().lower()) for name in header]
    if "email" not in columns:
        return ImportPreview(
            rows=[],
            file_errors=[
                _("The first row must name the columns: email, name, stamps, points and optionally card_number.")
            ],
        )
    rows: list[ImportRow] = []
    for line, values in enumerate(reader, start=2):
        if not any(value.strip() for value in values):
            continue
        if len(rows) >= MAX_IMPORT_ROWS:
            return ImportPreview(rows=[], file_errors=[_("At most %(n)d rows per file.") % {"n": MAX_IMPORT_ROWS}])
        cells = {column: value.strip() for column, value in zip(columns, values, strict=False) if column}
        row = ImportRow(
            line=line,
            email=cells.get("email", ""),
            full_name=cells.get("full_name", ""),
            card_number=cells.get("card_number", ""),
        )
        try:
            validate_email(row.email)
        except ValidationError:
            row.errors.append(_("“%(email)s” is not an e-mail address.") % {"email": row.email})
        if len(row.full_name) > 200:
            row.errors.append(_("The name is longer than 200 characters."))
        row.stamps = _whole_number(cells.get("stamps", ""), label=_("Stamps"), maximum=MAX_STAMPS, errors=row.errors)
        row.points = _whole_number(cells.get("points", ""), label=_("Points"), maximum=MAX_POINTS, errors=row.errors)
        if row.stamps and not program.has_stamps:
            row.errors.append(_("Your program has no stamps; leave the stamps column empty or 0."))
        if row.points and not program.has_points:
            row.errors.append(_("Your program has no points; leave the points column empty or 0."))
        if row.card_number and not is_valid_card_number(row.card_number):
            row.errors.append(
                _("“%(number)s” is not a valid 12-digit card number (check the digits).") % {"number": row.card_number}
            )
        rows.append(row)
    _check_against_existing(rows, program=program)
    return ImportPreview(rows=rows, file_errors=[] if rows else [_("The file has no rows below its header.")])


def _check_against_existing(rows: list[ImportRow], *, program: Program) -> None:
    """Duplicates within the file and with the merchant's own cards, in two queries.

    Card numbers are compared with this merchant's cards only: another
    merchant's number must look free here (see the module docstring).
    """
    emails = {row.email.lower() for row in rows if row.email}
    numbers = {row.card_number for row in rows if row.card_number}
    enrolled = set(
        LoyaltyCard.objects.filter(program=program)
        .annotate(email_lower=Lower("customer__email"))
        .filter(email_lower__in=emails)
        .values_list("email_lower", flat=True)
    )
    taken_numbers = set(
        LoyaltyCard.objects.filter(merchant_id=program.merchant_id, card_number__in=numbers).values_list(
            "card_number", flat=True
        )
    )
    seen_emails, seen_numbers = set(), set()
    for row in rows:
        email = row.email.lower()
        if email in enrolled:
            row.errors.append(_("This customer already has a card."))
        elif email and email in seen_emails:
            row.errors.append(_("This e-mail address appears earlier in the file."))
        seen_emails.add(email)
        if row.card_number:
            if row.card_number in taken_numbers:
                row.errors.append(_(CARD_NUMBER_UNAVAILABLE))
            elif row.card_number in seen_numbers:
                row.errors.append(_("This card number appears earlier in the file."))
            seen_numbers.add(row.card_number)


def card_import_stage(*, actor: Actor, preview: ImportPreview) -> str:
    """Keep a checked file under a new import id, for the owner to look at before importing."""
    if not actor.is_owner:
        raise PermissionDenied(_("Only the owner can import cards."))
    import_id = uuid.uuid4().hex
    cache.set(_rows_key(import_id), [asdict(row) for row in preview.rows], STATE_TIMEOUT_SECONDS)
    cache.set(
        _state_key(import_id),
        {
            "merchant_id": actor.merchant.pk,
            "user_id": actor.user.pk if actor.user is not None else None,
            "role": actor.role,
            "status": "preview",
            "file_errors": preview.file_errors,
            "total": len(preview.valid_rows),
            "processed": 0,
            "imported": 0,
            "failed": [],
            "staged_at": timezone.now().isoformat(),
        },
        STATE_TIMEOUT_SECONDS,
    )
    return import_id


def card_import_rows(*, import_id: str) -> list[ImportRow]:
    """The staged rows with their errors (for the preview page)."""
    return [ImportRow(**row) for row in cache.get(_rows_key(import_id)) or []]


def card_import_start(*, actor: Actor, import_id: str) -> dict:
    """Run a staged import once: in a Celery worker when a broker is configured, inline otherwise."""
    if not actor.is_owner:
        raise PermissionDenied(_("Only the owner can import cards."))
    state = card_import_progress(import_id=import_id, merchant=actor.merchant)
    if state is None:
        raise NotFound(_("This import has expired; upload the file again."))
    if state["status"] != "preview" or state["file_errors"] or not state["total"]:
        return state  # already started (a double click), or nothing to import
    state["status"] = "queued"
    cache.set(_state_key(import_id), state, STATE_TIMEOUT_SECONDS)
    if settings.CELERY_BROKER_URL:
        from loyalty.tasks import card_import_task  # tasks import services, not the other way round at load time

        transaction.on_commit(lambda: card_import_task.delay(import_id))
        return state
    return card_import_run(import_id=import_id)


def card_import_progress(*, import_id: str, merchant: Merchant | None) -> dict | None:
    """The import's state, or None when unknown, expired or another merchant's (``merchant=None``: any)."""
    state = cache.get(_state_key(import_id))
    if state is None or (merchant is not None and state["merchant_id"] != merchant.pk):
        return None
    return state


def _actor_for(state: dict) -> Actor:
    from django.contrib.auth import get_user_model

    merchant = Merchant.objects.get(pk=state["merchant_id"])
    user = get_user_model().objects.filter(pk=state["user_id"]).first() if state["user_id"] else None
    return Actor(merchant=merchant, user=user, role=state["role"], channel=Channel.ADMIN)


@transaction.atomic
def _import_row(*, actor: Actor, row: dict, now: datetime) -> LoyaltyCard:
    enrollment = customer_enroll(
        actor=actor, email=row["email"], full_name=row["full_name"], send_welcome=False, now=now
    )
    card = card_get_locked(merchant=actor.merchant, card_ref=CardRef(card_id=enrollment.card.pk))
    fields = ["updated_at"]
    if row["card_number"]:
        card.card_number = row["card_number"]
        fields.append("card_number")
    if row["stamps"] or row["points"]:
        card.stamp_count += row["stamps"]
        card.points_balance += row["points"]
        fields += ["stamp_count", "points_balance"]
    card.save(update_fields=fields)
    if row["stamps"] or row["points"]:
        ledger_record(
            card=card,
            actor=actor,
            type=TransactionType.BALANCE_IMPORTED,
            stamps_delta=row["stamps"],
            points_delta=row["points"],
            notes="Imported from CSV.",
            now=now,
        )
    return card


def card_import_run(*, import_id: str) -> dict | None:
    """Import the rows of ``import_id``, reporting progress about every 1 % of the rows."""
    state = cache.get(_state_key(import_id))
    rows = [row for row in cache.get(_rows_key(import_id)) or [] if not row["errors"]]
    if state is None or state["status"] not in ("queued", "running"):
        return state
    actor = _actor_for(state)
    state.update(status="running", processed=0, imported=0, failed=[])
    cache.set(_state_key(import_id), state, STATE_TIMEOUT_SECONDS)
    step = max(len(rows) // 100, 1)
    for index, row in enumerate(rows, start=1):
        try:
            _import_row(actor=actor, row=row, now=timezone.now())
            state["imported"] += 1
        except AlreadyEnrolled:
            state["failed"].append(
                {"line": row["line"], "email": row["email"], "error": _("This customer already has a card.")}
            )
        except IntegrityError:  # the unique card number: taken since the preview, or by another merchant
            state["failed"].append({"line": row["line"], "email": row["email"], "error": _(CARD_NUMBER_UNAVAILABLE)})
        except LoyaltyError as error:
            state["failed"].append({"line": row["line"], "email": row["email"], "error": str(error.message)})
        state["processed"] = index
        if index % step == 0:
            cache.set(_state_key(import_id), state, STATE_TIMEOUT_SECONDS)
    state["status"] = "done"
    state["finished_at"] = timezone.now().isoformat()
    cache.set(_state_key(import_id), state, STATE_TIMEOUT_SECONDS)
    logger.info(
        "card_import.done",
        extra={"merchant_id": state["merchant_id"], "imported": state["imported"], "failed": len(state["failed"])},
    )
    return state
