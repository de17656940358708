from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from migrator.core.models import Assistant, Connection, Flow, Job

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    name = factory.Sequence(lambda n: f"Connection {n}")
    base_url = "http://127.0.0.1:9/v1"

    api_key_encrypted = factory.LazyFunction(lambda: __import__("migrator.core.crypto", fromlist=["encrypt"]).encrypt("sk-test-key"))


class AssistantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assistant

    legacy_id = factory.Sequence(lambda n: f"asst_test{n:05d}")
    name = factory.Sequence(lambda n: f"Assistant {n}")
    model = "gpt-4o"
    instructions = "You are a helpful assistant."
    tools = factory.LazyFunction(list)
    raw = factory.LazyAttribute(lambda a: {"id": a.legacy_id, "object": "assistant", "model": a.model})


class FlowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Flow

    assistant = factory.SubFactory(AssistantFactory)
    slug = factory.Sequence(lambda n: f"flow-{n}")
    name = factory.Sequence(lambda n: f"Flow {n}")


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    kind = "core.selftest"
