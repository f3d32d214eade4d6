"""The stamp-day rules: a day is the store's calendar day; the cooldown runs from the last stamp."""

import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from loyalty.domain.actors import Actor
from loyalty.models import LoyaltyCard, Program, TransactionType


def local_day_start(*, actor: Actor, now: datetime) -> datetime:
    zone = actor.store.zone if actor.store is not None else zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def stamps_today_filter(*, actor: Actor, now: datetime) -> Q:
    """The ledger rows that count against the daily stamp limit: stamps since the store's local midnight."""
    return Q(type=TransactionType.STAMP_EARNED, created_at__gte=local_day_start(actor=actor, now=now))


def next_stamp_at(*, card: LoyaltyCard, program: Program) -> datetime | None:
    if card.last_stamp_at is None or program.cooldown_minutes == 0:
        return None
    return card.last_stamp_at + timedelta(minutes=program.cooldown_minutes)
