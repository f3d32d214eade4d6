"""Enrollment: find or create the customer, give them the program's card."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty.domain.actors import Actor, Channel
from loyalty.domain.identifiers import new_card_number, new_secret_token
from loyalty.exceptions import AlreadyEnrolled, EnrollmentClosed, ValidationFailed
from loyalty.models.tenancy import birthday_validate
from loyalty.models import Customer, LoyaltyCard, LoyaltyTransaction, Program, Store, TransactionType
from loyalty.selectors.settings import merchant_settings_get
from loyalty.services.automatic_messages import welcome_note
from loyalty.services.ledger import ledger_record
from loyalty.services.notifications import CardLinkReason, card_link_send
from loyalty.services.operations import program_for_operation

_IDENTIFIER_ATTEMPTS = 5


@dataclass(frozen=True)
class Enrollment:
    card: LoyaltyCard
    customer: Customer
    transaction: LoyaltyTransaction
    customer_created: bool


def _normalise_email(email: str) -> str:
    email = (email or "").strip()
    if "@" not in email:
        raise ValidationFailed(details={"email": ["Enter a valid e-mail address."]})
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def _customer_get_or_create(*, merchant, email, full_name, phone, language, marketing_consent, birthday, now):
    customer = Customer.objects.filter(merchant=merchant, email__iexact=email).first()
    if customer is not None:
        return customer, False
    try:
        with transaction.atomic():
            customer = Customer.objects.create(
                merchant=merchant,
                email=email,
                full_name=full_name,
                phone=phone,
                preferred_language=language,
                marketing_consent=marketing_consent,
                marketing_consent_at=now if marketing_consent else None,
                terms_accepted_at=now,
                birthday_month=birthday[0],
                birthday_day=birthday[1],
            )
            return customer, True
    except IntegrityError:  # the same e-mail enrolled concurrently
        return Customer.objects.get(merchant=merchant, email__iexact=email), False


def _card_create(*, program: Program, customer: Customer, store: Store | None) -> LoyaltyCard:
    for attempt in range(_IDENTIFIER_ATTEMPTS):
        try:
            with transaction.atomic():
                return LoyaltyCard.objects.create(
                    merchant_id=program.merchant_id,
                    program=program,
                    customer=customer,
                    enrolled_store=store,
                    card_number=new_card_number(),
                    qr_code_data=new_secret_token(),
                    public_token=new_secret_token(),
                )
        except IntegrityError:
            existing = LoyaltyCard.objects.filter(customer=customer, program=program).first()
            if existing is not None:
                raise AlreadyEnrolled(details={"card_id": existing.pk}) from None
            if attempt == _IDENTIFIER_ATTEMPTS - 1:
                raise  # identifiers collided five times: something else is wrong
    raise AssertionError("unreachable")


@transaction.atomic
def customer_enroll(
    *,
    actor: Actor,
    email: str,
    full_name: str = "",
    phone: str = "",
    language: str = "",
    marketing_consent: bool = False,
    birthday_month: int | None = None,
    birthday_day: int | None = None,
    send_welcome: bool = True,
    now: datetime | None = None,
) -> Enrollment:
    """Give the customer with this e-mail (case-insensitive, per merchant) a card.

    A customer who already has the program's card gets ``AlreadyEnrolled``
    with the card id in ``details`` — interfaces facing the public must not
    pass that id on (the customer pages e-mail the link instead).

    The birthday (day and month, optional) is stored on a new customer; a
    customer the shop already knew keeps theirs. When the merchant has the
    welcome message on, the new card's link is e-mailed at once with it
    (``send_welcome=False``: an import, whose customers already know the shop).
    """
    now = now or timezone.now()
    merchant = actor.merchant
    if actor.channel == Channel.PUBLIC and not merchant_settings_get(merchant=merchant).self_enrollment_open:
        raise EnrollmentClosed()
    program = program_for_operation(actor=actor)
    email = _normalise_email(email)
    try:
        birthday_validate(month=birthday_month, day=birthday_day)
    except DjangoValidationError as error:
        raise ValidationFailed(details=error.message_dict) from None
    languages = {code for code, _name in settings.LANGUAGES}
    language = language if language in languages else settings.LANGUAGE_CODE
    customer, created = _customer_get_or_create(
        merchant=merchant,
        email=email,
        full_name=(full_name or "").strip()[:200],
        phone=(phone or "").strip()[:32],
        language=language,
        marketing_consent=bool(marketing_consent),
        birthday=(birthday_month, birthday_day),
        now=now,
    )
    if not created:
        existing = LoyaltyCard.objects.filter(customer=customer, program=program).first()
        if existing is not None:
            raise AlreadyEnrolled(details={"card_id": existing.pk})
    card = _card_create(program=program, customer=customer, store=actor.store)
    tx = ledger_record(card=card, actor=actor, type=TransactionType.CARD_ENROLLED, now=now)
    if send_welcome and welcome_note(card=card, now=now):
        card_link_send(card=card, reason=CardLinkReason.WELCOME, now=now)
    return Enrollment(card=card, customer=customer, transaction=tx, customer_created=created)
