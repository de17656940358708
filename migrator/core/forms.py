from __future__ import annotations

from django import forms

from migrator.core import safeinput
from migrator.core.models import JobStatus
from migrator.core.status import MigrationStatus, Priority

MAX_ID = 10**safeinput.MAX_INT_PARAM_DIGITS - 1


class IdField(forms.IntegerField):
    """A database id from a form or query string: a positive integer any id column can hold (a 25-digit
    number would overflow the database driver instead of failing validation)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class _SafePk:
    """Refuses a submitted value that cannot be an id before it reaches the database."""

    def _refuse_unless_id(self, value) -> None:
        if getattr(self, "to_field_name", None) is None and isinstance(value, str) and value.strip() \
                and safeinput.parse_int(value, low=1) is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                        params={"value": value[:40]})


class SafeModelChoiceField(_SafePk, forms.ModelChoiceField):
    def to_python(self, value):
        self._refuse_unless_id(value)
        return super().to_python(value)


class SafeModelMultipleChoiceField(_SafePk, forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        for item in value or ():
            try:
                self._refuse_unless_id(item)
            except forms.ValidationError:
                raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                            params={"value": str(item)[:40]}) from None
        return super()._check_values(value)

SORTS = {
    "name": ("name", "Name"),
    "-traffic": ("-traffic_share", "Traffic"),
    "priority": ("priority_rank", "Priority"),
    "status": ("status", "Status"),
    "model": ("model", "Model"),
    "-activity": ("-last_activity_at", "Last activity"),
    "-messages": ("-message_count", "Messages"),
}


class AssistantFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, id, model, instructions…"}))
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *MigrationStatus.choices])
    priority = forms.ChoiceField(required=False, choices=[("", "Any priority"), *Priority.choices])
    model = forms.CharField(required=False, label="Model", widget=forms.TextInput(attrs={"placeholder": "e.g. gpt-4o", "list": "model-options"}))
    model_state = forms.ChoiceField(
        required=False,
        label="Model state",
        choices=[("", "Any model"), ("retired", "Retired model"), ("retiring", "Retiring soon"), ("attention", "Retired or retiring")],
    )
    sort = forms.ChoiceField(required=False, choices=[(k, v[1]) for k, v in SORTS.items()])


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=MigrationStatus.choices)
    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    # Destructive or backwards moves must say why; the reason goes into the history row and the audit log.
    REASON_REQUIRED = {MigrationStatus.BLOCKED, MigrationStatus.RETIRED}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("to") in self.REASON_REQUIRED and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", "Say why: the reason is recorded in the status history and the audit log.")
        return cleaned


class JobFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *JobStatus.choices])
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind")])
    mine = forms.BooleanField(required=False, label="Only mine")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from migrator.core.jobs import registry

        self.fields["kind"].choices = [("", "Any kind"), *sorted((k, h.label) for k, h in registry.items())]


def _object_type_choices() -> list[tuple[str, str]]:
    """Every migrator model, by its name in words (the audit log stores ``app_label.model``)."""
    from django.apps import apps

    models = [m for m in apps.get_models() if m.__module__.startswith("migrator.")]
    named = sorted(((m._meta.label_lower, str(m._meta.verbose_name).capitalize()) for m in models),
                   key=lambda kv: kv[1])
    return [("", "Anything"), *named]


class AuditFilterForm(forms.Form):
    # Actions and object types in words; the values stay the recorded codes, so filtered URLs keep working.
    verb = forms.ChoiceField(required=False, label="Action", choices=())
    actor = forms.CharField(required=False, label="Actor")
    object_type = forms.ChoiceField(required=False, label="Object type", choices=())
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from migrator.core.activity import verb_choices

        self.fields["verb"].choices = verb_choices()
        self.fields["object_type"].choices = _object_type_choices()

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return cleaned
