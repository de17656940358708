from __future__ import annotations

from django.conf import settings
from django.db import models

from migrator.core import crypto

API_NAMES = ("models", "assistants", "responses", "conversations")


class Connection(models.Model):
    """A target OpenAI-compatible API. The API key is stored encrypted and never rendered back."""

    name = models.CharField(max_length=100, unique=True)
    base_url = models.URLField(max_length=500, help_text="For example https://api.openai.com/v1")
    api_key_encrypted = models.TextField(blank=True, editable=False)
    organization = models.CharField(max_length=100, blank=True)
    project = models.CharField(max_length=100, blank=True)
    is_sandbox = models.BooleanField(default=False, help_text="The project's own offline sandbox server.")
    # Which APIs answered at the last test: {"models": true, "assistants": false, ...}
    answers = models.JSONField(default=dict, blank=True)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def set_api_key(self, plaintext: str) -> None:
        self.api_key_encrypted = crypto.encrypt(plaintext) if plaintext else ""

    def get_api_key(self) -> str:
        return crypto.decrypt(self.api_key_encrypted)

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_encrypted)

    def answers_api(self, api: str) -> bool | None:
        """True/False from the last test, None when never tested."""
        if api not in self.answers:
            return None
        return bool(self.answers[api])

    @property
    def assistants_api_gone(self) -> bool:
        return self.answers.get("assistants") is False
