from __future__ import annotations

from django import forms

from migrator.core.forms import SafeModelChoiceField
from migrator.core.models import Connection


class ConnectionChoiceForm(forms.Form):
    connection = SafeModelChoiceField(queryset=Connection.objects.all(), required=False, empty_label="Sandbox")


class ToolTestForm(ConnectionChoiceForm):
    tool_key = forms.CharField(max_length=100)
