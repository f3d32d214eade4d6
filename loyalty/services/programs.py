"""The program and its rewards catalog: create, update, deactivate."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from loyalty.domain.actors import Actor
from loyalty.exceptions import PermissionDenied, ProgramExists, ProgramNotFound, RewardNotFound, ValidationFailed
from loyalty.models import Program, Reward
from loyalty.services.wallet import program_change_announce

PROGRAM_FIELDS = {
    "name",
    "loyalty_type",
    "stamps_target",
    "stamps_reward_description",
    "points_per_euro",
    "minimum_purchase_cents",
    "points_expiration_days",
    "cooldown_minutes",
    "max_daily_stamps",
    "require_staff_pin",
    "background_color",
    "text_color",
    "logo",
    "terms_text",
    "privacy_url",
    "is_active",
}
REWARD_FIELDS = {"name", "description", "points_required", "is_active", "position"}


def _ensure_owner(actor: Actor) -> None:
    if not actor.is_owner:
        raise PermissionDenied(_("Only the owner can change the program."))


def _validated(instance, *, exclude=None):
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except DjangoValidationError as error:
        raise ValidationFailed(details=error.message_dict) from None
    return instance


@transaction.atomic
def program_create(*, actor: Actor, **fields) -> Program:
    _ensure_owner(actor)
    unknown = set(fields) - PROGRAM_FIELDS
    if unknown:
        raise ValidationFailed(details={name: ["Unknown field."] for name in sorted(unknown)})
    if Program.objects.filter(merchant=actor.merchant).exists():
        raise ProgramExists()
    program = _validated(Program(merchant=actor.merchant, **fields), exclude=["merchant"])
    try:
        with transaction.atomic():
            program.save()
    except IntegrityError:  # created concurrently
        raise ProgramExists() from None
    program_change_announce(program_id=program.pk)
    return program


@transaction.atomic
def program_update(*, actor: Actor, **fields) -> Program:
    _ensure_owner(actor)
    unknown = set(fields) - PROGRAM_FIELDS
    if unknown:
        raise ValidationFailed(details={name: ["Unknown field."] for name in sorted(unknown)})
    program = Program.objects.select_for_update().filter(merchant=actor.merchant).first()
    if program is None:
        raise ProgramNotFound()
    for name, value in fields.items():
        setattr(program, name, value)
    _validated(program, exclude=["merchant"])
    program.save()
    program_change_announce(program_id=program.pk)
    return program


@transaction.atomic
def program_deactivate(*, actor: Actor) -> Program:
    """"Deleting" a program: it stops operating; cards and history are kept."""
    return program_update(actor=actor, is_active=False)


@transaction.atomic
def reward_create(*, actor: Actor, **fields) -> Reward:
    _ensure_owner(actor)
    program = Program.objects.filter(merchant=actor.merchant).first()
    if program is None:
        raise ProgramNotFound()
    reward = _validated(Reward(program=program, **{k: v for k, v in fields.items() if k in REWARD_FIELDS}))
    reward.save()
    program_change_announce(program_id=program.pk)
    return reward


@transaction.atomic
def reward_update(*, actor: Actor, reward_id: int, **fields) -> Reward:
    _ensure_owner(actor)
    reward = Reward.objects.for_merchant(actor.merchant).select_related("program").filter(pk=reward_id).first()
    if reward is None:
        raise RewardNotFound()
    for name, value in fields.items():
        if name in REWARD_FIELDS:
            setattr(reward, name, value)
    _validated(reward)
    reward.save()
    program_change_announce(program_id=reward.program_id)
    return reward
