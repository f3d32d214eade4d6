"""Load the demo data set (idempotent): two merchants, stores, users, programs, PINs, customers.

It also stages one abuse for the fraud alerts: Sam's PIN gives most of its
points to one card, so the café owner finds a "staff favourite" alert on
the dashboard at once (the detector runs at the end, as the embedded run
has no scheduler).

Passwords and PINs here are fixed demo values; no other code creates
passwords. ``--json`` prints every login and PIN so scripts can drive the demo.
"""

import json
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from loyalty.domain.actors import Actor, Channel
from loyalty.domain.cards import CardRef
from loyalty.domain.opening_hours import OpeningRange
from loyalty.exceptions import LoyaltyError
from loyalty.models import Customer, LoyaltyCard, LoyaltyTransaction, Merchant, Program, Reward, Store
from loyalty.services.alerts import alerts_detect
from loyalty.services.enrollment import customer_enroll
from loyalty.services.points import points_earn, points_redeem
from loyalty.services.stamps import stamp_add, stamps_redeem
from loyalty.services.tenancy import store_opening_hours_replace
from staff.models import Membership, Role, StaffPin
from staff.services.memberships import membership_groups_sync
from staff.services.pins import pin_create

ADMIN = {"username": "admin", "password": "admin-demo-2026", "role": "platform_admin", "stores": []}
CAFE = {
    "name": "Demo Café",
    "slug": "demo-cafe",
    "stores": [
        ("demo-center", "Demo Café — Centre", "12 Grand-Rue, Luxembourg"),
        ("demo-station", "Demo Café — Gare", "3 Place de la Gare, Luxembourg"),
    ],
    "users": [
        {"username": "cafe-owner", "password": "owner-demo-2026", "role": "owner", "stores": ["demo-center", "demo-station"]},
        {"username": "cafe-manager", "password": "manager-demo-2026", "role": "manager", "stores": ["demo-center"]},
        {"username": "cafe-staff", "password": "staff-demo-2026", "role": "staff", "stores": ["demo-station"]},
    ],
    "pins": [("demo-center", "Alex (till 1)", "1234"), ("demo-station", "Sam (till 2)", "5678")],
}
BAKERY = {
    "name": "Other Bakery",
    "slug": "other-bakery",
    "stores": [("other-bakery", "Other Bakery", "7 Rue du Marché, Esch-sur-Alzette")],
    "users": [
        {"username": "bakery-owner", "password": "bakery-demo-2026", "role": "owner", "stores": ["other-bakery"]},
    ],
    "pins": [("other-bakery", "Chris", "2468")],
}
CUSTOMERS = [
    ("lea.muller@example.com", "Léa Muller", "fr"),
    ("tom.schmit@example.com", "Tom Schmit", "lb"),
    ("anna.weber@example.com", "Anna Weber", "de"),
    ("john.smith@example.com", "John Smith", "en"),
    ("marie.dupont@example.com", "Marie Dupont", "fr"),
    ("luc.hoffmann@example.com", "Luc Hoffmann", "lb"),
    ("sophie.klein@example.com", "Sophie Klein", "de"),
    ("paul.martin@example.com", "Paul Martin", "fr"),
    ("emma.wagner@example.com", "Emma Wagner", "de"),
    ("noah.becker@example.com", "Noah Becker", "en"),
    ("chloe.bernard@example.com", "Chloé Bernard", "fr"),
    ("max.reuter@example.com", "Max Reuter", "lb"),
]
# Opening hours (weekday 0 = Monday): the centre closes on Sundays, the station's nights end after midnight.
OPENING_HOURS = {
    "demo-center": [(day, time(7, 30), time(19)) for day in range(5)] + [(5, time(8), time(18))],
    "demo-station": [(day, time(6), time(1)) for day in range(7)],
    "other-bakery": [(day, time(6, 30), time(13)) for day in range(6)],
}
# The staged abuse: Sam (till 2) gives 8 of his 12 earnings of the week to Luc's card.
FAVOURITE_PIN = ("demo-station", "Sam (till 2)", "5678")
FAVOURITE_EMAIL = "luc.hoffmann@example.com"
FAVOURITE_OTHERS = (
    "tom.schmit@example.com",
    "anna.weber@example.com",
    "john.smith@example.com",
    "lea.muller@example.com",
)


class Command(BaseCommand):
    help = "Create the demo merchants, users, programs, PINs and customers (safe to run twice)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the logins and PINs as one JSON object.")
        parser.add_argument("--force", action="store_true", help="Run even when DEBUG is false.")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError("Refusing to load demo data with DEBUG=false (use --force if you mean it).")
        with transaction.atomic():
            self._admin()
            cafe = self._merchant(CAFE)
            bakery = self._merchant(BAKERY)
            self._program(
                cafe,
                name="Demo Café Card",
                loyalty_type="hybrid",
                stamps_target=10,
                stamps_reward_description="Free coffee",
                points_per_euro=10,
                require_staff_pin=True,
                background_color="#5B3A29",
                text_color="#FFFFFF",
                terms_text="One stamp per hot drink. Points never exchanged for cash.",
                privacy_url="https://example.com/privacy",
                rewards=[("Croissant", 100), ("Cappuccino", 250), ("Breakfast for two", 900)],
            )
            self._program(
                bakery,
                name="Bakery Stamps",
                loyalty_type="stamps",
                stamps_target=8,
                stamps_reward_description="Free loaf of bread",
                require_staff_pin=True,
                background_color="#C8A165",
                text_color="#1B1B1B",
                rewards=[],
            )
        self._pins(CAFE, cafe)
        self._pins(BAKERY, bakery)
        self._opening_hours(cafe)
        self._opening_hours(bakery)
        self._customers(cafe, bakery)
        self._staff_favourite(cafe)
        alerts_detect(merchant=cafe)
        logins = [ADMIN, *CAFE["users"], *BAKERY["users"]]
        pins = [{"store": code, "name": name, "pin": pin} for spec in (CAFE, BAKERY) for code, name, pin in spec["pins"]]
        if options["json"]:
            self.stdout.write(json.dumps({"logins": logins, "pins": pins, "site_url": settings.SITE_URL}))
            return
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        for login in logins:
            self.stdout.write(f"  {login['role']:15} {login['username']:14} / {login['password']}  {', '.join(login['stores'])}")
        for pin in pins:
            self.stdout.write(f"  PIN {pin['pin']} at {pin['store']} ({pin['name']})")
        self.stdout.write(f"  Back office: {settings.SITE_URL}/admin/   Join page: {settings.SITE_URL}/join/demo-center/")
        self.stdout.write(f"  Till: {settings.SITE_URL}/till/  (cafe-staff, store code demo-station, PIN 5678)")

    def _admin(self):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=ADMIN["username"], defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"}
        )
        if created:
            user.set_password(ADMIN["password"])
            user.save()

    def _merchant(self, spec):
        merchant, _ = Merchant.objects.get_or_create(
            slug=spec["slug"], defaults={"name": spec["name"], "contact_email": f"hello@{spec['slug']}.example.com"}
        )
        for code, name, address in spec["stores"]:
            Store.objects.get_or_create(code=code, defaults={"merchant": merchant, "name": name, "address": address})
        User = get_user_model()
        for login in spec["users"]:
            user, created = User.objects.get_or_create(
                username=login["username"],
                defaults={"is_staff": login["role"] != Role.STAFF, "email": f"{login['username']}@example.com"},
            )
            if created:
                user.set_password(login["password"])
                user.save()
            membership, _ = Membership.objects.get_or_create(
                user=user, defaults={"merchant": merchant, "role": login["role"]}
            )
            membership.stores.set(Store.objects.filter(code__in=login["stores"]))
            membership_groups_sync(membership=membership)  # admin permissions follow the role
        return merchant

    def _program(self, merchant, *, rewards, **fields):
        program, created = Program.objects.get_or_create(merchant=merchant, defaults=fields)
        if created:
            for position, (name, points) in enumerate(rewards):
                Reward.objects.create(program=program, name=name, points_required=points, position=position)
        return program

    def _opening_hours(self, merchant):
        owner = Actor(merchant=merchant, role="owner", channel=Channel.ADMIN)
        for store in Store.objects.filter(merchant=merchant, code__in=OPENING_HOURS, opening_hours__isnull=True):
            ranges = [OpeningRange(*opening) for opening in OPENING_HOURS[store.code]]
            store_opening_hours_replace(actor=owner, store_id=store.pk, ranges=ranges)

    def _pins(self, spec, merchant):
        for code, name, pin in spec["pins"]:
            store = Store.objects.get(code=code)
            if not StaffPin.objects.filter(store=store, name=name).exists():
                pin_create(actor=Actor(merchant=merchant, role="owner", channel=Channel.ADMIN), store=store, name=name, pin=pin)

    def _customers(self, cafe, bakery):
        """A dozen café customers with some history, and a few at the bakery."""
        now = timezone.now()
        stores = {store.code: store for store in Store.objects.filter(merchant__in=[cafe, bakery])}
        for index, (email, full_name, language) in enumerate(CUSTOMERS):
            merchant, store = (bakery, stores["other-bakery"]) if index >= 9 else (cafe, stores["demo-center" if index % 2 == 0 else "demo-station"])
            if Customer.objects.filter(merchant=merchant, email__iexact=email).exists():
                continue
            actor = Actor(merchant=merchant, store=store, channel=Channel.SYSTEM)
            enrolled_at = now - timedelta(days=28 - index * 2)
            card = customer_enroll(actor=actor, email=email, full_name=full_name, language=language, now=enrolled_at).card
            # Backdate the rows' own timestamps too, so "new this month" reads like a real month.
            LoyaltyCard.objects.filter(pk=card.pk).update(created_at=enrolled_at)
            Customer.objects.filter(pk=card.customer_id).update(created_at=enrolled_at)
            card.refresh_from_db()
            self._history(actor, card, start=enrolled_at, visits=3 + index % 7, now=now)

    def _history(self, actor, card: LoyaltyCard, *, start, visits, now):
        program = card.program
        ref = CardRef(card_id=card.pk)
        step = (now - start) / (visits + 1)
        for visit in range(visits):
            at = start + step * (visit + 1)
            try:
                if program.has_stamps:
                    stamp_add(actor=actor, card_ref=ref, now=at)
                if program.has_points:
                    points_earn(actor=actor, card_ref=ref, purchase_amount_cents=350 + 125 * visit, now=at)
            except LoyaltyError:
                continue
        card.refresh_from_db()
        later = now - timedelta(minutes=5)
        if program.has_stamps and card.stamp_count >= program.stamps_target:
            stamps_redeem(actor=actor, card_ref=ref, now=later)
        reward = program.rewards.filter(is_active=True, points_required__lte=card.points_balance).first()
        if reward is not None:
            points_redeem(actor=actor, card_ref=ref, reward_id=reward.pk, now=later)

    def _staff_favourite(self, cafe):
        code, name, pin = FAVOURITE_PIN
        store = Store.objects.get(code=code)
        staff_pin = StaffPin.objects.get(store=store, name=name)
        if LoyaltyTransaction.objects.filter(staff_pin=staff_pin).exists():
            return
        till = Actor(
            merchant=cafe,
            store=store,
            user=get_user_model().objects.get(username="cafe-staff"),
            role=Role.STAFF,
            channel=Channel.TILL,
        )
        cafe_cards = LoyaltyCard.objects.filter(merchant=cafe).select_related("customer")
        cards = {card.customer.email: card for card in cafe_cards}
        recipients = [FAVOURITE_EMAIL] * 8 + list(FAVOURITE_OTHERS)
        today = timezone.now().astimezone(store.zone).date()
        for index, email in enumerate(recipients):
            # Three a day at 09:00, 12:00 and 15:00 from five days ago: within the station's opening hours.
            day = today - timedelta(days=5 - index // 3)
            at = datetime.combine(day, time(9 + 3 * (index % 3)), tzinfo=store.zone)
            points_earn(
                actor=till,
                card_ref=CardRef(card_id=cards[email].pk),
                purchase_amount_cents=450 + 50 * index,
                staff_pin=pin,
                staff_pin_id=staff_pin.pk,
                now=at,
            )
