from django.db import models


class CredentialExpiryWarning(models.Model):
    """A warning sent because a wallet credential is about to expire: one per credential and threshold.

    The credential is known by its fingerprint, so a renewed certificate (a new
    fingerprint) starts again at the 30-day warning.
    """

    fingerprint_sha256 = models.CharField(max_length=64)
    credential_kind = models.CharField(max_length=40)
    threshold_days = models.PositiveSmallIntegerField()  # 30, 14, 7 or 1; 0 once it has expired
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint_sha256", "threshold_days"], name="wallet_credential_expiry_warning_once"
            )
        ]

    def __str__(self):
        return f"{self.credential_kind} {self.fingerprint_sha256[:16]} ({self.threshold_days} days)"
