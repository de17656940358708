from __future__ import annotations

from django import forms

from migrator.backfill.mapping import HOSTED_NOTE, HOSTED_TEXT, MARKERS_KEEP, MARKERS_STRIP
from migrator.backfill.models import ConnectionRateLimit, ThreadStatus
from migrator.backfill.services.selection import MAX_THREAD_IDS, Selection, parse_thread_ids
from migrator.core.models import Connection
from migrator.core.suggest import SuggestInput, suggest_for

SCOPES = [("flow", "The threads of a flow"), ("assistant", "The threads of an assistant"),
          ("threads", "A list of thread ids"), ("all", "Every imported thread")]


class SelectionForm(forms.Form):
    """What to backfill (read from the query string, so a plan can be linked and re-opened)."""

    connection = forms.ModelChoiceField(Connection.objects.all(), empty_label=None,
                                        help_text="Where the conversations are created.")
    scope = forms.ChoiceField(choices=SCOPES, initial="flow")
    # Search boxes, never a list of every flow or assistant (see migrator.core.suggest); an unknown value is
    # refused by the selection's own check, with the name in the message.
    flow = forms.CharField(required=False, max_length=100, widget=SuggestInput("flow-slugs", "Flow slug…"))
    assistant = forms.CharField(required=False, max_length=128,
                                widget=SuggestInput("assistant-ids", "Assistant name or asst_… id"))
    thread_ids = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                 help_text="One thread id a line (or comma separated).")
    since = forms.DateField(required=False, label="Active since", widget=forms.DateInput(attrs={"type": "date"}))
    tags = forms.CharField(required=False, help_text="Comma-separated; a thread needs every tag.")
    end_user = forms.CharField(required=False, max_length=200)
    min_messages = forms.IntegerField(required=False, min_value=0, max_value=1_000_000, label="Minimum messages")
    include_done = forms.BooleanField(required=False, label="List threads already backfilled",
                                      help_text="The plan lists them with their conversation; they are never written again.")
    markers = forms.ChoiceField(choices=[(MARKERS_STRIP, "Strip 【4:0†source】 markers (indexes shifted)"),
                                         (MARKERS_KEEP, "Keep the markers in the text")], initial=MARKERS_STRIP,
                                label="Citation markers")
    hosted_tools = forms.ChoiceField(choices=[(HOSTED_NOTE, "Note them in the ledger (not carried)"),
                                              (HOSTED_TEXT, "Render them as assistant text")], initial=HOSTED_NOTE,
                                     label="code_interpreter / file_search steps")

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        suggest_for(self, user)

    def clean_thread_ids(self) -> list[str]:
        ids = parse_thread_ids(self.cleaned_data.get("thread_ids") or "")
        if len(ids) > MAX_THREAD_IDS:
            raise forms.ValidationError(f"At most {MAX_THREAD_IDS:,} thread ids.")
        return ids

    def clean(self) -> dict:
        data = super().clean()
        scope = data.get("scope")
        needs = {"flow": "flow", "assistant": "assistant", "threads": "thread_ids"}.get(scope or "")
        if needs and not data.get(needs):
            self.add_error(needs, "Choose one for this scope." if needs != "thread_ids" else "Enter thread ids.")
        return data

    def selection(self) -> Selection:
        d = self.cleaned_data
        scope = d["scope"]
        return Selection(all=scope == "all", flow=d["flow"] if scope == "flow" else "",
                         assistant=d["assistant"] if scope == "assistant" else "",
                         thread_ids=d["thread_ids"] if scope == "threads" else [], since=d.get("since"),
                         tags=[t.strip() for t in (d.get("tags") or "").split(",") if t.strip()],
                         end_user=(d.get("end_user") or "").strip(), min_messages=d.get("min_messages") or 0,
                         include_done=bool(d.get("include_done")))

    def options(self) -> dict[str, str]:
        return {"markers": self.cleaned_data["markers"], "hosted_tools": self.cleaned_data["hosted_tools"]}


class ThreadFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *ThreadStatus.choices])
    q = forms.CharField(required=False, label="Thread id", max_length=128)


class RateLimitForm(forms.ModelForm):
    class Meta:
        model = ConnectionRateLimit
        fields = ["rpm", "tpm"]
        labels = {"rpm": "Requests per minute", "tpm": "Tokens per minute"}
