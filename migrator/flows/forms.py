from __future__ import annotations

import re

from django import forms
from django.utils.text import slugify

from migrator.core.forms import IdField
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
    streams = forms.BooleanField(
        required=False, label="Production streams answers",
        help_text="The app calls responses.create with stream=true. Validation then replays this flow streamed, "
                  "checks the events assemble into the final response and reports time to first token.")


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
    assistant = IdField(required=False, widget=forms.HiddenInput)
    sort = forms.ChoiceField(choices=[("", "Name"), ("days", "Days left, soonest first")], required=False,
                             label="Sort by")


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. 'checkout web (production)'.")
    consumer = forms.CharField(max_length=100, help_text="The team or service that will hold it.")
    # Slugs typed in, not a list of every flow: an estate has thousands, and the page must stay small.
    flows = forms.CharField(
        required=False, max_length=5000, label="Flows",
        widget=forms.TextInput(attrs={"placeholder": "checkout-help, returns-web"}),
        help_text="Limit the token to these flow slugs (comma or space separated); leave empty for every flow.",
    )

    def clean_flows(self) -> list[Flow]:
        slugs = [s for s in re.split(r"[\s,]+", self.cleaned_data.get("flows") or "") if s]
        if len(slugs) > 200:
            raise forms.ValidationError("Name at most 200 flows; leave the field empty for every flow.")
        found = {f.slug: f for f in Flow.objects.filter(slug__in=slugs).order_by()}
        unknown = [s for s in slugs if s not in found]
        if unknown:
            raise forms.ValidationError(f"No flow has the slug {', '.join(repr(s[:100]) for s in unknown[:5])}.")
        return list(dict.fromkeys(found[s] for s in slugs))


class TokenRevokeForm(forms.Form):
    reason = forms.CharField(required=False, max_length=2000)
