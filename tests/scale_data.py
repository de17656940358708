"""A realistic estate of N assistants with threads, messages, flows, versions, jobs and audit events, bulk-loaded.

Used by the query-count regression tests (10 and 1,000 rows) and by ``bench/pages.py``/``bench/load.py``
(10, 1,000, 10,000 rows). ``grow_to(n)`` only adds what is missing, so a benchmark can measure 10 → 1k → 10k
on one database. Everything goes through ``bulk_create`` in batches: 10,000 assistants load in seconds.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-3.5-turbo", "gpt-4-turbo", "gpt-5.5", "o3-mini", "gpt-4.1-mini")
WORDS = ("order", "invoice", "refund", "parcel", "delivery", "account", "password", "warranty", "return", "label",
         "shipping", "customer", "address", "payment", "card", "subscription", "plan", "upgrade", "discount",
         "coupon", "tracking", "warehouse", "stock", "helpful", "concise", "policy", "escalate", "agent")
STATUSES = ("inventoried", "inventoried", "inventoried", "prompt_drafted", "prompt_approved", "validated", "migrated",
            "blocked", "retired")
PRIORITIES = ("low", "normal", "normal", "high", "critical")
FLOW_STATUSES = ("planning", "planning", "validated", "awaiting_approval", "rolling_out", "migrated", "blocked")
MODES = ("stateless", "conversation", "previous_response", "")
THREADS_PER_ASSISTANT = 2
MESSAGES_FOR_FIRST = 50  # assistants whose threads carry messages (the drill-down pages read them)
BATCH = 2000


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def staff_user(username: str = "bench", password: str = "bench-password-123"):
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True, "is_superuser": True})
    if created:
        user.set_password(password)
        user.save()
    return user


def grow_to(n: int, *, seed: int = 7) -> dict:
    """Add assistants (and their threads, flows, versions…) until there are ``n``; returns what was added."""
    from migrator.core.models import Assistant, AuditEvent, Flow, Job
    from migrator.inventory.models import LegacyMessage, LegacyThread
    from migrator.prompts.models import PromptLabel, PromptVersion

    have = Assistant.objects.count()
    if have >= n:
        return {"assistants": 0}
    rng = random.Random(seed + have)
    now = timezone.now()
    user = staff_user()
    added = {"assistants": 0, "threads": 0, "messages": 0, "flows": 0, "versions": 0, "events": 0, "jobs": 0}
    for start in range(have, n, BATCH):
        stop = min(n, start + BATCH)
        rows = []
        for i in range(start, stop):
            messages = int(20000 / (i + 1) ** 0.9) + rng.randint(0, 5)
            model = MODELS[i % len(MODELS)]
            rows.append(Assistant(
                legacy_id=f"asst_scale{i:07d}", name=f"{rng.choice(WORDS).capitalize()} assistant {i}",
                description=_text(rng, 8), model=model, instructions=_text(rng, 60 + i % 200),
                tools=[{"type": "function", "function": {"name": f"tool_{i % 40}", "parameters": {"type": "object"}}}]
                + ([{"type": "file_search"}] if i % 3 == 0 else []),
                metadata={"team": f"team-{i % 20}"}, raw={"id": f"asst_scale{i:07d}", "model": model},
                thread_count=THREADS_PER_ASSISTANT, message_count=messages, run_count=messages // 2,
                last_activity_at=now - timedelta(hours=i % 5000), avg_turns_per_thread=1 + i % 7,
                single_turn_share=(i % 10) / 10, tool_call_counts={f"function:tool_{i % 40}": messages // 3},
                traffic_share=messages / 200000, priority=PRIORITIES[i % len(PRIORITIES)],
                suggested_priority=PRIORITIES[(i + 1) % len(PRIORITIES)], status=STATUSES[i % len(STATUSES)],
                tags=["revenue"] if i % 4 == 0 else [], imported_at=now, last_imported_at=now,
                owner=user if i % 9 == 0 else None,
            ))
        assistants = Assistant.objects.bulk_create(rows, batch_size=BATCH)
        if not all(a.pk for a in assistants):  # SQLite < 3.35 without RETURNING: read the ids back
            ids = dict(Assistant.objects.filter(legacy_id__in=[a.legacy_id for a in rows]).values_list("legacy_id", "pk"))
            for a in assistants:
                a.pk = a.id = ids[a.legacy_id]
        added["assistants"] += len(assistants)

        threads = []
        for offset, a in enumerate(assistants):
            i = start + offset
            for t in range(THREADS_PER_ASSISTANT):
                turns = 1 + (i + t) % 6
                threads.append(LegacyThread(
                    assistant=a, assistant_legacy_id=a.legacy_id, legacy_id=f"thread_scale{i:07d}_{t}",
                    flow_slug=f"flow-{i}" if i % 5 == 0 else "", end_user_id=f"cus_{i % 3000}",
                    created_at_legacy=now - timedelta(days=300), last_message_at=now - timedelta(days=i % 300),
                    message_count=2 * turns, user_turns=turns, assistant_turns=turns, run_count=turns,
                    approx_tokens=40 * turns,
                ))
        threads = LegacyThread.objects.bulk_create(threads, batch_size=BATCH)
        added["threads"] += len(threads)
        messages = []
        for thread in threads:
            if thread.assistant.pk and int(thread.legacy_id[12:19]) < MESSAGES_FOR_FIRST:
                for m in range(thread.message_count):
                    messages.append(LegacyMessage(
                        thread=thread, legacy_id=f"msg_{thread.legacy_id}_{m}", position=m,
                        role="user" if m % 2 == 0 else "assistant",
                        content=[{"type": "text", "text": {"value": _text(rng, 12), "annotations": []}}],
                        text=_text(rng, 12), created_at_legacy=now - timedelta(days=1, minutes=-m)))
        LegacyMessage.objects.bulk_create(messages, batch_size=BATCH)
        added["messages"] += len(messages)

        flows = [Flow(assistant=a, slug=f"flow-{start + k}", name=f"Flow {start + k}",
                      mode=MODES[(start + k) % len(MODES)], status=FLOW_STATUSES[(start + k) % len(FLOW_STATUSES)])
                 for k, a in enumerate(assistants) if (start + k) % 5 == 0]
        Flow.objects.bulk_create(flows, batch_size=BATCH)
        added["flows"] += len(flows)

        versioned = [a for k, a in enumerate(assistants) if (start + k) % 4 == 0]
        versions = PromptVersion.objects.bulk_create([
            PromptVersion(assistant=a, number=1, is_generated=True, approved_at=now, approved_by=user,
                          config={"model": a.model, "instructions": a.instructions, "tools": [],
                                  "truncation": "disabled", "store": True})
            for a in versioned], batch_size=BATCH)
        if not all(v.pk for v in versions):
            ids = dict(PromptVersion.objects.filter(assistant__in=versioned).values_list("assistant_id", "pk"))
            for v in versions:
                v.pk = v.id = ids[v.assistant_id]
        PromptLabel.objects.bulk_create(
            [PromptLabel(assistant_id=v.assistant_id, name=name, version_id=v.pk, moved_by=user)
             for v in versions for name in ("draft", "approved")], batch_size=BATCH)
        added["versions"] += len(versions)
        # Flows whose assistant has a version serve it in production (a finished cutover), so the config API
        # and the flow pages have something to serve at every size.
        from migrator.cutover.models import FlowRollout

        version_of = {v.assistant_id: v.pk for v in versions}
        flows = [f for f in flows if f.pk is not None] or list(Flow.objects.filter(slug__in=[f.slug for f in flows]))
        FlowRollout.objects.bulk_create([FlowRollout(flow_id=f.pk, production_id=version_of[f.assistant_id])
                                         for f in flows if f.assistant_id in version_of], batch_size=BATCH)

        AuditEvent.objects.bulk_create([
            AuditEvent(actor=user, actor_label=user.username, verb="migrator.assistant.imported",
                       object_type="core.assistant", object_id=str(a.pk), object_repr=a.name,
                       after={"model": a.model}, data={"source": "scale"})
            for a in assistants], batch_size=BATCH)
        added["events"] += len(assistants)
        jobs = [Job(kind="inventory.import_archive", status="succeeded", params={"batch": start},
                    progress_done=len(assistants), progress_total=len(assistants), created_by=user,
                    subject_label=f"batch {start}", started_at=now, finished_at=now)
                for _ in range(max(1, len(assistants) // 200))]
        Job.objects.bulk_create(jobs)
        added["jobs"] += len(jobs)
    return added


def sample_ids() -> dict:
    """Ids the page list needs: a busy assistant with flows, threads and a version, and one of its flows."""
    from migrator.core.models import Assistant, Flow

    assistant = Assistant.objects.filter(legacy_id="asst_scale0000000").first()
    flow = Flow.objects.filter(assistant=assistant).first() if assistant else None
    return {"assistant": assistant.pk if assistant else None, "flow": flow.slug if flow else None}


ADMIN_CHANGELISTS = {
    "assistants": "/admin/core/assistant/", "flows": "/admin/core/flow/", "jobs": "/admin/core/job/",
    "audit": "/admin/core/auditevent/", "tokens": "/admin/flows/apitoken/", "connections": "/admin/core/connection/",
}


def page_urls(ids: dict) -> list[tuple[str, str, str | None]]:
    """(label, url, admin changelist or None): every sidebar page, the hot filters, the assistant tabs, a flow."""
    from django.urls import reverse

    from migrator.core.navigation import assistant_tab_list, nav_tabs

    out: list[tuple[str, str, str | None]] = [
        (tab.key, reverse(tab.url_name), ADMIN_CHANGELISTS.get(tab.key)) for tab in nav_tabs()
    ]
    assistants, usage, flows = reverse("core:assistant_list"), reverse("inventory:usage"), reverse("flows:list")
    out += [
        ("assistants ?q=refund", f"{assistants}?q=refund", "/admin/core/assistant/?q=refund"),
        ("assistants page 50", f"{assistants}?page=50", "/admin/core/assistant/?p=49"),
        ("assistants ?model_state=retiring", f"{assistants}?model_state=retiring", None),
        ("assistants ?status=migrated", f"{assistants}?status=migrated", "/admin/core/assistant/?status__exact=migrated"),
        ("assistants sort=priority", f"{assistants}?sort=priority", None),
        ("usage page 20", f"{usage}?page=20", None),
        ("flows ?q=flow-0", f"{flows}?q=flow-0", "/admin/core/flow/?q=flow-0"),
        # The list's suggestions card, which htmx loads once the list is shown.
        ("flows found card", reverse("flows:found"), None),
        # Pages whose cost used to grow with the table: a deep page, a one-hit id search, the selection forms.
        ("assistants page 2000", f"{assistants}?page=2000", "/admin/core/assistant/?p=1999"),
        ("assistants ?q=asst_ id", f"{assistants}?q=asst_scale0000007", "/admin/core/assistant/?q=asst_scale0000007"),
        ("usage page 2000", f"{usage}?page=2000", None),
        ("backfill new", reverse("backfill:new"), None),
        ("backfill estimate", reverse("backfill:estimate") + "?scope=assistant&assistant=asst_scale0000000", None),
        ("validation new", reverse("validation:testset_new"), None),
        ("suggest assistants ?q=refund", reverse("core:suggest", args=["assistants"]) + "?q=refund", None),
        ("suggest flows ?q=flow-1", reverse("core:suggest", args=["flows"]) + "?q=flow-1", None),
    ]
    if ids.get("assistant"):
        for tab in assistant_tab_list():
            out.append((f"assistant tab: {tab.key}", reverse(tab.url_name, args=[ids["assistant"]]), None))
    if ids.get("flow"):
        out.append(("flow page", reverse("flows:detail", args=[ids["flow"]]), None))
    return out
