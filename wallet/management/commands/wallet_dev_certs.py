"""Generate the development certificate chain for Apple Wallet passes (idempotent)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from wallet.apple.dev_certs import DEV_PASS_TYPE_IDENTIFIER, DEV_TEAM_IDENTIFIER, dev_certs_generate


class Command(BaseCommand):
    help = (
        "Write a local root CA, a WWDR-like intermediate and a pass-signing certificate into var/wallet-dev/ "
        "(kept when already there). With DEBUG on and no LOYALTY_APPLE_SIGNER_CERT_PATH, the site signs passes "
        "with them. A real iPhone only accepts passes signed with Apple-issued certificates."
    )

    def add_arguments(self, parser):
        parser.add_argument("--directory", default=str(settings.LOYALTY_APPLE_DEV_CERTS_DIR))
        parser.add_argument("--force", action="store_true", help="Replace an existing chain.")

    def handle(self, *args, **options):
        certificates = dev_certs_generate(
            directory=Path(options["directory"]),
            pass_type_identifier=DEV_PASS_TYPE_IDENTIFIER,
            team_identifier=DEV_TEAM_IDENTIFIER,
            force=options["force"],
        )
        verb = "Created" if certificates.created else "Kept"
        self.stdout.write(
            f"{verb} the Apple Wallet development certificates in {certificates.directory} "
            f"(pass type {DEV_PASS_TYPE_IDENTIFIER}, team {DEV_TEAM_IDENTIFIER}; CA: {certificates.ca_cert})."
        )
