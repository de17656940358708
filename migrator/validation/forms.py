from __future__ import annotations

from django import forms

from migrator.core.forms import SafeModelChoiceField
from migrator.core.models import Assistant, Connection, Flow
from migrator.core.status import FlowMode
from migrator.core.suggest import SuggestInput, suggest_for
from migrator.validation.models import SamplingStrategy


class TestSetForm(forms.Form):
    __test__ = False

    # Search boxes with server-side suggestions submitting the id (never a list of every assistant or flow).
    assistant = SafeModelChoiceField(queryset=Assistant.objects.all(), help_text="Whose recorded threads to draw.",
                                     widget=SuggestInput("assistants", "Assistant name or asst_… id"))
    flow = SafeModelChoiceField(queryset=Flow.objects.all(), required=False,
                                help_text="Optional: runs then use the flow's state mode and move its status.",
                                widget=SuggestInput("flows", "Flow name or slug"))
    name = forms.CharField(max_length=200)
    strategy = forms.ChoiceField(choices=SamplingStrategy.choices, initial=SamplingStrategy.STRATIFIED)
    sample_size = forms.IntegerField(min_value=1, max_value=1000, initial=20, help_text="Threads to draw.")
    thread_ids = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                 help_text="Hand-picked: one thread id a line (or separated by commas).")
    sample_thread_id = forms.CharField(max_length=128, required=False,
                                       help_text="The thread that stands for a production workflow (default: the "
                                                 "longest drawn thread that calls tools).")

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        suggest_for(self, user)

    def clean(self):
        data = super().clean()
        flow, assistant = data.get("flow"), data.get("assistant")
        if flow and assistant and flow.assistant_id != assistant.pk:
            self.add_error("flow", f"{flow.name} is a flow of another assistant.")
        raw = data.get("thread_ids") or ""
        data["thread_ids"] = [t.strip() for t in raw.replace(",", "\n").splitlines() if t.strip()]
        if data.get("strategy") == SamplingStrategy.HAND_PICKED and not data["thread_ids"]:
            self.add_error("thread_ids", "List the threads to pick.")
        return data


class RunForm(forms.Form):
    connection = forms.ModelChoiceField(queryset=Connection.objects.all())
    version = forms.IntegerField(required=False, min_value=1,
                                 help_text="Prompt version number (default: the one a cutover would serve).")
    mode = forms.ChoiceField(choices=[("", "the flow's mode"), *FlowMode.choices], required=False)
    repeats = forms.IntegerField(min_value=1, max_value=10, initial=1)
    concurrency = forms.IntegerField(min_value=1, max_value=16, initial=4)
    path = forms.ChoiceField(choices=[("direct", "Direct: one request per case"),
                                      ("batch", "Batch API: half price, answers within the batch window")],
                             initial="direct", required=False, label="Send cases",
                             help_text="The Batch API takes independent turns (stateless or chained responses "
                                       "mode); the free runs are always sent direct.")
    budget_usd = forms.DecimalField(required=False, min_value=0.0001, max_digits=10, decimal_places=4,
                                    label="Budget (USD)", help_text="Optional: the run stops cleanly, results kept, "
                                    "once its replies have cost this much.")


class ManualCaseForm(forms.Form):
    input_text = forms.CharField(label="User message", widget=forms.Textarea(attrs={"rows": 3}))
    expected_text = forms.CharField(label="Expected answer", widget=forms.Textarea(attrs={"rows": 3}), required=False)
    expectations = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                   help_text="One a line: contains: refund · regex: ^Thanks · exact: … · not_contains: …")
    note = forms.CharField(required=False, max_length=500)
