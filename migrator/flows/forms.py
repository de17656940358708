from __future__ import annotations

from django import forms
from django.utils.text import slugify

from migrator.core.models import Flow
from migrator.core.status import FlowMode, FlowStatus
from migrator.flows.services.flows import SLUG_RE


class FlowCreateForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="The product entry point, e.g. 'Checkout help widget'.")
    slug = forms.CharField(
        max_length=100, required=False,
        help_text="Used in the API URL (/api/v1/flows/<slug>/config). Lowercase letters, digits and hyphens; "
                  "left empty, it is made from the name.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def clean_slug(self) -> str:
        slug = (self.cleaned_data.get("slug") or "").strip().lower()
        if not slug:
            slug = slugify(self.data.get("name") or "")[:100].strip("-")
        if not slug or not SLUG_RE.match(slug):
            raise forms.ValidationError("Use lowercase letters, digits and single hyphens, e.g. 'checkout-help'.")
        if Flow.objects.filter(slug=slug).exists():
            raise forms.ValidationError(f"The slug '{slug}' is taken; slugs are unique across all assistants.")
        return slug


class FlowEditForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ModeForm(forms.Form):
    mode = forms.ChoiceField(choices=FlowMode.choices, widget=forms.RadioSelect)
    truncation = forms.ChoiceField(
        choices=[("disabled", "disabled (a 400 when the input exceeds the context window)"),
                 ("auto", "auto (drop the oldest items to fit)")],
    )
    store = forms.BooleanField(required=False, help_text="Store responses (kept 30 days). previous_response_id needs it.")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000,
        help_text="Required when you choose a different mode than recommended.",
    )


class FlowTransitionForm(forms.Form):
    to = forms.ChoiceField(choices=FlowStatus.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000,
                             help_text="Kept in the flow's history and the audit log.")


class FlowFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    status = forms.ChoiceField(choices=[("", "Any status"), *FlowStatus.choices], required=False)
    mode = forms.ChoiceField(choices=[("", "Any mode"), ("none", "Not chosen"), *FlowMode.choices], required=False)
    assistant = forms.IntegerField(required=False, widget=forms.HiddenInput)


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. 'checkout web (production)'.")
    consumer = forms.CharField(max_length=100, help_text="The team or service that will hold it.")
    flows = forms.ModelMultipleChoiceField(
        queryset=Flow.objects.select_related("assistant").order_by("slug"), required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Limit the token to these flows; leave empty for every flow.",
    )


class TokenRevokeForm(forms.Form):
    reason = forms.CharField(required=False, max_length=2000)
