from __future__ import annotations

from django import forms

from migrator.rollouts.models import GuardAction


class GuardForm(forms.Form):
    min_sample = forms.IntegerField(min_value=10, max_value=10_000_000, initial=500,
                                    help_text="Candidate outcomes in a step before the guard decides anything.")
    max_error_rate_increase = forms.FloatField(min_value=0, max_value=1, initial=0.02,
                                               help_text="Largest error-rate worsening against production "
                                                         "(0.02 = 2 percentage points).")
    max_schema_invalid_increase = forms.FloatField(min_value=0, max_value=1, required=False,
                                                   help_text="Largest worsening of the share of replies that break "
                                                             "the JSON schema (empty: not guarded).")
    max_tool_parity_drop = forms.FloatField(min_value=0, max_value=1, required=False,
                                            help_text="Largest drop of the share of calls that use tools.")
    max_p95_latency_ratio = forms.FloatField(min_value=1, max_value=100, required=False,
                                             help_text="Largest candidate/production p95 latency ratio (1.5).")
    soak_minutes = forms.IntegerField(min_value=0, max_value=10_080, initial=30,
                                      help_text="How long a step runs before it can count as healthy.")
    action = forms.ChoiceField(choices=GuardAction.choices, initial=GuardAction.ROLLBACK,
                               help_text="What a breach does.")
    auto_advance = forms.BooleanField(required=False, help_text="Ramp a healthy step to the next one by itself "
                                                                 "(1 → 10 → 25 → 50 → 100%).")
