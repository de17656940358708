from __future__ import annotations

from django import forms

from migrator.webhooks.events import EVENTS, choices


class EndpointForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Who receives it, e.g. 'support Slack relay'.")
    url = forms.CharField(
        label="URL", max_length=500,
        help_text="An http:// or https:// address that accepts POST requests. Redirects are not followed.",
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/migrator"}),
    )
    events = forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple,
                                       help_text="The events this endpoint receives.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    is_active = forms.BooleanField(label="Active", required=False, initial=True)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = [(name, f"{name}: {text}") for name, text in EVENTS.items()]
