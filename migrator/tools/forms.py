from __future__ import annotations

from django import forms

from migrator.core.models import Connection


class ConnectionChoiceForm(forms.Form):
    connection = forms.ModelChoiceField(queryset=Connection.objects.all(), required=False, empty_label="Sandbox")


class ToolTestForm(ConnectionChoiceForm):
    tool_key = forms.CharField(max_length=100)
