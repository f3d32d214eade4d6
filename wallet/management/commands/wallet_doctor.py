"""Explain the wallet configuration: each setting, what was checked, and what is wrong in plain words."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from wallet.doctor import Status, wallet_inspect

MARKS = {Status.OK: "ok", Status.WARNING: "WARNING", Status.ERROR: "ERROR", Status.SKIPPED: "-"}


class Command(BaseCommand):
    help = (
        "Check the wallet configuration (SITE_URL, Apple and Google Wallet settings, certificates and keys) and say "
        "what is wrong and how to fix it. Exit status 1 when something is wrong (an error or a warning). "
        "Never prints a key or a password."
    )
    # The system checks would stop at the first error; this command is where that error gets explained.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="One JSON document, for monitoring.")

    def handle(self, *args, **options):
        now = timezone.now()
        sections = wallet_inspect(now=now)
        problems = [finding for section in sections for finding in section.problems]
        errors = sum(1 for finding in problems if finding.status is Status.ERROR)
        warnings = len(problems) - errors
        if options["json"]:
            self.stdout.write(json.dumps(_as_json(sections, now, errors, warnings), indent=2))
        else:
            self._print(sections, errors, warnings)
        if problems:
            raise CommandError(f"wallet_doctor: {_count(errors, 'error')}, {_count(warnings, 'warning')}", returncode=1)

    def _print(self, sections, errors, warnings) -> None:
        for section in sections:
            self.stdout.write(self.style.MIGRATE_HEADING(f"{section.title}: {section.state}"))
            for name, value in section.settings:
                self.stdout.write(f"  {name:<36} {value}")
            for finding in section.findings:
                mark = MARKS[finding.status]
                style = {Status.ERROR: self.style.ERROR, Status.WARNING: self.style.WARNING}.get(finding.status, str)
                self.stdout.write(style(f"  [{mark:^7}] {finding.subject}: {finding.detail}"))
                if finding.is_problem:
                    self.stdout.write(f"            ({finding.check_id}) {finding.hint}")
            self.stdout.write("")
        if errors or warnings:
            self.stdout.write(self.style.ERROR(f"{_count(errors, 'error')}, {_count(warnings, 'warning')}: see above."))
        else:
            self.stdout.write(self.style.SUCCESS("No problems found."))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _as_json(sections, now, errors: int, warnings: int) -> dict:
    return {
        "ok": not (errors or warnings),
        "errors": errors,
        "warnings": warnings,
        "checked_at": now.isoformat(),
        "sections": [
            {
                "key": section.key,
                "title": section.title,
                "state": section.state,
                "settings": dict(section.settings),
                "checks": [
                    {
                        "id": finding.check_id,
                        "status": str(finding.status),
                        "subject": finding.subject,
                        "detail": finding.detail,
                        "hint": finding.hint,
                        "setting": finding.setting,
                    }
                    for finding in section.findings
                ],
                "credentials": [
                    {
                        "kind": str(credential.kind),
                        "setting": credential.setting,
                        "path": credential.path,
                        "fingerprint_sha256": credential.fingerprint_sha256,
                        "expires_at": credential.expires_at.isoformat(),
                        "days_left": credential.whole_days_left(now),
                    }
                    for credential in section.credentials
                ],
            }
            for section in sections
        ],
    }
