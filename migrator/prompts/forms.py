from __future__ import annotations

import json
from typing import Any

from django import forms

from migrator.core import safeinput
from migrator.core.forms import IdField, SafeModelChoiceField
from migrator.core.models import Connection
from migrator.core.services.connection_access import usable
from migrator.core.status import FlowMode
from migrator.prompts.models import LabelName


class InstructionsForm(forms.Form):
    instructions = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 22, "class": "mono", "spellcheck": "true"}),
        help_text="Sent as instructions on every call. Leave empty for none.", max_length=256_000,
    )
    message = forms.CharField(required=False, max_length=500, label="What changed (optional)")


class ConfigForm(forms.Form):
    config = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 28, "class": "mono", "spellcheck": "false"}),
        label="Configuration (JSON)", help_text="The keyword arguments of client.responses.create(...) without input.",
    )
    message = forms.CharField(required=False, max_length=500, label="What changed (optional)")

    def clean_config(self) -> dict[str, Any]:
        text = self.cleaned_data["config"]
        try:
            value = safeinput.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"This is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            ) from None
        except ValueError as exc:  # over a limit (depth, number or string size): say where
            raise forms.ValidationError(f"This configuration cannot be accepted: {safeinput.describe(exc)}.") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("The configuration must be a JSON object ({…}).")
        return value


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000, label="Comment")


class LabelForm(forms.Form):
    label = forms.ChoiceField(choices=LabelName.choices)
    version = IdField(label="Version number")
    reason = forms.CharField(required=False, max_length=500)


class StrictChoiceForm(forms.Form):
    pointer = forms.CharField(max_length=300)
    choice = forms.ChoiceField(choices=[("fixed", "Fixed schema, strict: true"),
                                        ("original", "Original schema, strict: false")])


class TryForm(forms.Form):
    input = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=20_000, label="Sample input",
                            help_text="Sent as input together with this version's configuration.")
    connection = SafeModelChoiceField(queryset=Connection.objects.none(), required=False,
                                        empty_label="Sandbox (default)",
                                        help_text="Real connections are billed; the sandbox is free.")

    mode = forms.ChoiceField(choices=FlowMode.choices, label="State mode", required=False,
                             help_text="How the conversation keeps its state if you continue it (the assistant's "
                                       "flow mode by default).")

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the connections this user may try with: choosing another one's id is "not a valid choice".
        self.fields["connection"].queryset = usable(user, "try")


class ConvertForm(forms.Form):
    """The Convert page: one legacy assistant definition, pasted or uploaded."""

    legacy = forms.CharField(required=False, label="Assistant definition (JSON)", strip=False,
                             widget=forms.Textarea(attrs={"rows": 10, "class": "mono",
                                                          "placeholder": '{"id": "asst_…", "model": "gpt-4o", '
                                                                         '"instructions": "…", "tools": […]}'}),
                             help_text="An Assistants API assistant object, a create/update request body, or "
                                       '{"source": …, "assistant": {…}}.')
    legacy_file = forms.FileField(required=False, label="…or upload it")
    today = forms.DateField(required=False, label="Judge model retirement on",
                            widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="Leave empty for today.")

    def clean(self) -> dict:
        from migrator.prompts.converting import MAX_TEXT

        data = super().clean()
        upload, text = data.get("legacy_file"), data.get("legacy") or ""
        if upload and text.strip():
            raise forms.ValidationError("Paste the definition or upload it, not both.")
        if upload:
            if upload.size > MAX_TEXT:
                raise forms.ValidationError(f"The file is larger than {MAX_TEXT // 1024 // 1024} MB; one assistant "
                                            "definition is expected.")
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not UTF-8 text; save the assistant as JSON.") from None
            data["source"] = upload.name[:120] or "the file"
        elif not text.strip():
            raise forms.ValidationError("Paste or upload one assistant definition as JSON.")
        else:
            data["source"] = "the pasted definition"
        data["text"] = text
        return data
