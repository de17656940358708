from __future__ import annotations

from django import forms


class RequestForm(forms.Form):
    version = forms.IntegerField(min_value=1, max_value=2_147_483_647, required=False,
                                 help_text="The version to cut over to (the approved one when empty).")
    note = forms.CharField(max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 2}),
                           help_text="What the support lead should know.")


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("decline", "Decline")])
    reason = forms.CharField(max_length=4000, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Required: it is kept with the decision and sent to the requester.")
    accept_loosened = forms.CharField(
        max_length=2000, required=False, label="Accept the loosened checks because",
        help_text="Needed to approve when the evidence shows checks loosened since the last approved release.")


class RampForm(forms.Form):
    percent = forms.DecimalField(min_value=0.01, max_value=100, decimal_places=2, max_digits=5)
    reason = forms.CharField(max_length=4000, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=4000, help_text="Required.")
