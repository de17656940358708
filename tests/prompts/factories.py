from __future__ import annotations

import factory

from migrator.prompts.models import PromptVersion
from tests.factories import AssistantFactory


class PromptVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PromptVersion

    assistant = factory.SubFactory(AssistantFactory)
    number = factory.Sequence(lambda n: n + 1)
    config = factory.LazyAttribute(lambda v: {"model": "gpt-5.5", "instructions": "Be brief.", "store": True})
    is_generated = True
