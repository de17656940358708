from __future__ import annotations

from django import forms

from migrator.core.forms import SafeModelChoiceField
from migrator.core.models import Connection


class ConnectionChoiceForm(forms.Form):
    connection = SafeModelChoiceField(queryset=Connection.objects.all(), required=False, empty_label="Sandbox")


class ToolTestForm(ConnectionChoiceForm):
    tool_key = forms.CharField(max_length=100)


class AttachVectorStoreForm(forms.Form):
    """A file_search tool's vector store: one the inventory knows (imported with the assistants), or an id."""

    tool_key = forms.CharField(max_length=100)
    vector_store = forms.CharField(max_length=128, required=False, label="Vector store")
    vector_store_id = forms.CharField(max_length=128, required=False, label="…or its id",
                                      widget=forms.TextInput(attrs={"placeholder": "vs_…"}))

    def clean(self) -> dict:
        data = super().clean()
        chosen, typed = (data.get("vector_store") or "").strip(), (data.get("vector_store_id") or "").strip()
        if chosen and typed and chosen != typed:
            raise forms.ValidationError("Choose a vector store or type an id, not both.")
        data["ids"] = [chosen or typed] if chosen or typed else []
        return data
