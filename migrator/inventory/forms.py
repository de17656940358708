"""Forms of the inventory pages. They check input; services do the work."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from migrator.core.forms import SafeModelChoiceField
from migrator.core.models import Connection
from migrator.core.status import Priority
from migrator.inventory.archive.reader import current_limits
from migrator.inventory.services.business import STANDARD_TAGS
from migrator.inventory.thread_ids import ThreadList, parse_thread_list

MAX_THREAD_LIST_BYTES = 20 * 1024 * 1024
ARCHIVE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz", ".txt")


class ConnectionForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="A short name, e.g. “Production” or “Sandbox”.")
    base_url = forms.URLField(max_length=500, label="Base URL", assume_scheme="https",
                              help_text="For example https://api.openai.com/v1")
    api_key = forms.CharField(
        label="API key", required=False, strip=True, max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown again.",
    )
    organization = forms.CharField(max_length=100, required=False)
    project = forms.CharField(max_length=100, required=False)
    confirm_host = forms.CharField(
        label="Send the stored key to a new host", required=False, max_length=300,
        help_text="Only when the base URL moves to another host and you keep the stored key: type the new host "
                  "(for example https://api.openai.com) to confirm the key may be sent there.",
    )

    def __init__(self, *args, instance: Connection | None = None, **kwargs) -> None:
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": instance.name, "base_url": instance.base_url,
                                 "organization": instance.organization, "project": instance.project}
        super().__init__(*args, **kwargs)
        if instance is not None and instance.has_api_key:
            self.fields["api_key"].help_text = ("A key is stored. Leave this empty to keep it (on another host, "
                                                "only with the confirmation below).")
        else:
            del self.fields["confirm_host"]  # no stored key to move

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = Connection.objects.filter(name__iexact=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("Another connection already has this name.")
        return name

    def clean(self) -> dict:
        data = super().clean()
        if self.instance is None and not data.get("api_key"):
            self.add_error("api_key", "An API key is required for a new connection.")
        return data


class ArchiveImportForm(forms.Form):
    archive = forms.FileField(
        help_text="JSON or JSON Lines export of the raw Assistants API objects, optionally gzipped "
                  "(see the archive format documentation).",
    )

    def clean_archive(self):
        upload = self.cleaned_data["archive"]
        name = (upload.name or "").lower()
        if not name.endswith(ARCHIVE_SUFFIXES):
            raise forms.ValidationError(
                f"“{upload.name}” does not look like an archive: use a .json, .jsonl, .ndjson or .gz file."
            )
        if upload.size == 0:
            raise forms.ValidationError("The file is empty.")
        limit = current_limits().max_file_bytes
        if upload.size > limit:
            raise forms.ValidationError(f"The file is {upload.size:,} bytes; archives of at most {limit:,} bytes "
                                        "are accepted: split it.")
        return upload


class LiveImportForm(forms.Form):
    connection = SafeModelChoiceField(queryset=Connection.objects.order_by("name"), empty_label=None)
    thread_file = forms.FileField(
        required=False, label="Thread list file",
        help_text="CSV (thread_id, flow, end_user_id, tags) or JSON. The Assistants API cannot list threads.",
    )
    thread_text = forms.CharField(
        required=False, label="…or paste the thread list",
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "thread_id,flow,end_user_id,tags\n"
                                                                "thread_abc123,billing-web,cus_42,vip;eu"}),
    )

    def clean_connection(self) -> Connection:
        connection = self.cleaned_data["connection"]
        if connection.assistants_api_gone:
            raise forms.ValidationError(
                "The last test found no Assistants API at this connection (it was shut down on 2026-08-26). "
                "Import an export archive instead, or test the connection again if that has changed."
            )
        return connection

    def clean(self) -> dict:
        data = super().clean()
        upload = data.get("thread_file")
        text = (data.get("thread_text") or "").strip()
        if upload and text:
            self.add_error("thread_text", "Upload a file or paste a list, not both.")
            return data
        threads = ThreadList()
        if upload:
            if upload.size > MAX_THREAD_LIST_BYTES:
                self.add_error("thread_file", "The thread list is larger than 20 MB: split it.")
                return data
            threads = parse_thread_list(upload.read())
            field = "thread_file"
        elif text:
            threads = parse_thread_list(text)
            field = "thread_text"
        else:
            field = ""
        if threads.errors:
            shown = threads.errors[:10]
            more = len(threads.errors) - len(shown)
            for problem in shown:
                self.add_error(field, problem)
            if more:
                self.add_error(field, f"…and {more} more problems.")
        data["threads"] = threads.refs
        return data


class BusinessForm(forms.Form):
    priority = forms.ChoiceField(required=False, help_text="Leave on “suggested” to follow traffic.")
    tags = forms.MultipleChoiceField(choices=STANDARD_TAGS, required=False, widget=forms.CheckboxSelectMultiple)
    other_tags = forms.CharField(required=False, max_length=400, label="Other tags",
                                 help_text="Comma-separated, e.g. “eu, partner-api”.")
    owner = SafeModelChoiceField(queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
                                   required=False)

    def __init__(self, *args, suggested: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        label = Priority(suggested).label.lower() if suggested in Priority.values else "not computed yet"
        self.fields["priority"].choices = [("", f"Suggested from traffic ({label})"), *Priority.choices]

    def clean_other_tags(self) -> list[str]:
        raw = self.cleaned_data.get("other_tags") or ""
        tags = [t.strip().lower() for t in raw.split(",") if t.strip()]
        for tag in tags:
            if len(tag) > 40:
                raise forms.ValidationError(f"“{tag[:40]}…” is longer than 40 characters.")
        return tags

    def all_tags(self) -> list[str]:
        return [*self.cleaned_data.get("tags", []), *self.cleaned_data.get("other_tags", [])]


class ExportForm(LiveImportForm):
    """The export page: a connection the person may export from, and the threads to include."""

    def __init__(self, *args, user, **kwargs) -> None:
        from migrator.core.services.connection_access import usable

        super().__init__(*args, **kwargs)
        self.fields["connection"].queryset = usable(user, "export")
        self.fields["thread_text"].label = "…or paste the thread list"
