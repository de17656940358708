"""The production API's tokens.

Flows themselves are a core model (``migrator.core.models.Flow``); this app adds what only it needs. Tool
test results and resource checks belong to the tools app (``migrator.tools.models``).
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import models

TOKEN_PREFIX = "mgr"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A bearer token for the production config API, issued to one consumer.

    The token is ``mgr_<prefix>_<secret>``. Only the prefix (to find the row and to recognise the token in
    lists) and a SHA-256 of the whole token are stored: the secret is random with 256 bits of entropy, so a
    fast hash is as safe as a slow one here and keeps every API call cheap.
    """

    name = models.CharField(max_length=100, help_text="What this token is for, e.g. 'checkout web (prod)'.")
    consumer = models.CharField(max_length=100, help_text="The team or service that holds it.")
    prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64)
    # Empty = every flow; otherwise only these flows' configurations may be read with this token.
    flows = models.ManyToManyField("core.Flow", blank=True, related_name="api_tokens")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    use_count = models.PositiveBigIntegerField(default=0)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.display_prefix}…)"

    @property
    def display_prefix(self) -> str:
        return f"{TOKEN_PREFIX}_{self.prefix}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(self.token_hash, self.hash_token(token))


class FlowTrafficDay(models.Model):
    """Config API answers for one flow, one served prompt version and one UTC day.

    Written only by :func:`migrator.flows.services.traffic.flush`, which moves the counters the API keeps in
    Redis (or a spool file without Redis) into these rows: the API itself never writes to the database.
    ``calls`` counts every answer that served a configuration (200 and 304); ``not_modified`` the 304s among them.
    """

    flow = models.ForeignKey("core.Flow", on_delete=models.CASCADE, related_name="traffic_days")
    version = models.PositiveIntegerField(help_text="The prompt version number served.")
    day = models.DateField()
    calls = models.PositiveBigIntegerField(default=0)
    not_modified = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-day", "flow_id", "version"]
        constraints = [models.UniqueConstraint(fields=["flow", "version", "day"], name="flows_traffic_day_unique")]
        indexes = [models.Index(fields=["day"], name="flows_traffic_day_idx")]

    def __str__(self) -> str:
        return f"{self.flow_id} v{self.version} {self.day}: {self.calls}"


class ApiTokenDay(models.Model):
    """Authenticated config API calls made with one token on one UTC day (any answer, errors included)."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    calls = models.PositiveBigIntegerField(default=0)
    not_modified = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-day", "token_id"]
        constraints = [models.UniqueConstraint(fields=["token", "day"], name="flows_token_day_unique")]

    def __str__(self) -> str:
        return f"{self.token_id} {self.day}: {self.calls}"
