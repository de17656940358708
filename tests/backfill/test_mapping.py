"""The pure mapping: legacy thread → conversation items and the fidelity ledger (no database, no network)."""

from __future__ import annotations

import pytest

from migrator.backfill.mapping import (
    KEY_END_USER,
    KEY_FLOW,
    KEY_MARKER,
    KEY_THREAD,
    MalformedThread,
    MessageData,
    Options,
    RunData,
    ThreadData,
    batches,
    check_item,
    fingerprint,
    plan_thread,
)


def text(value: str, annotations=None) -> dict:
    return {"type": "text", "text": {"value": value, "annotations": annotations or []}}


def msg(n: int, role: str, *parts, run: str = "", **kw) -> MessageData:
    return MessageData(legacy_id=f"msg_{n}", position=n, role=role, content=list(parts) or [text(f"{role} {n}")],
                       run_legacy_id=run, created_at=100 + n * 10, **kw)


def fn_step(*calls) -> dict:
    return {"id": "step_1", "type": "tool_calls", "step_details": {"type": "tool_calls", "tool_calls": list(calls)}}


def fn_call(call_id: str, name: str, output) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": '{"a": 1}', "output": output}}


def test_text_roles_and_metadata():
    thread = ThreadData("thread_1", [msg(0, "user"), msg(1, "assistant", run="run_1")], flow_slug="billing-web",
                        runs=[RunData("run_1", "completed")],
                        end_user_id="cus_9", metadata={"channel": "web"})
    plan = plan_thread(thread, options=Options(marker="run:1"))
    assert plan.items == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "user 0"}]},
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "assistant 1", "annotations": []}]},
    ]
    assert plan.metadata == {KEY_THREAD: "thread_1", KEY_MARKER: "run:1", KEY_FLOW: "billing-web",
                             KEY_END_USER: "cus_9", "channel": "web"}
    assert plan.ledger == [] and plan.carried == {"messages": 2}


def test_function_pairs_go_before_the_runs_message_and_unpaired_calls_are_dropped():
    run = RunData("run_1", "completed", [fn_step(fn_call("call_ok", "get_invoice", '{"total": 3}'),
                                                 fn_call("call_lost", "refund", None))])
    thread = ThreadData("thread_1", [msg(0, "user"), msg(1, "assistant", run="run_1")], runs=[run])
    plan = plan_thread(thread)
    assert [i["type"] for i in plan.items] == ["message", "function_call", "function_call_output", "message"]
    assert plan.items[1] == {"type": "function_call", "call_id": "call_ok", "name": "get_invoice",
                             "arguments": '{"a": 1}'}
    assert plan.items[2] == {"type": "function_call_output", "call_id": "call_ok", "output": '{"total": 3}'}
    assert plan.dropped == [{"what": "call of refund without a recorded output",
                             "why": "a function_call without its output breaks the next request",
                             "where": "run_1/call_lost"}]


def test_annotations_strip_markers_and_shift_indexes_with_file_names():
    value = "See 【4:0†source】 and 【4:1†source】."
    anns = [
        {"type": "file_citation", "text": "【4:0†source】", "start_index": 4, "end_index": 16,
         "file_citation": {"file_id": "file-a"}},
        {"type": "file_citation", "text": "【4:1†source】", "start_index": 21, "end_index": 33,
         "file_citation": {"file_id": "file-b"}},
    ]
    thread = ThreadData("t", [msg(0, "assistant", text(value, anns))])
    plan = plan_thread(thread, filenames={"file-a": "manual.pdf"})
    part = plan.items[0]["content"][0]
    assert part["text"] == "See  and ."
    assert part["annotations"] == [
        {"type": "file_citation", "file_id": "file-a", "filename": "manual.pdf", "index": 4},
        {"type": "file_citation", "file_id": "file-b", "filename": "file-b", "index": 9},
    ]
    whats = [e.what for e in plan.ledger]
    assert "citation of file-b: file name unknown, the id is used" in whats
    assert any("stripped" in w for w in whats)

    kept = plan_thread(thread, options=Options(markers="keep"), filenames={"file-a": "manual.pdf"})
    assert kept.items[0]["content"][0]["text"] == value
    assert [a["index"] for a in kept.items[0]["content"][0]["annotations"]] == [4, 21]


def test_images_refusals_attachments_and_incomplete_messages():
    user = msg(0, "user", text("look"), {"type": "image_file", "image_file": {"file_id": "file-img"}},
               {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
               attachments=[{"file_id": "file-doc", "tools": [{"type": "file_search"}]}])
    bot = msg(1, "assistant", {"type": "refusal", "refusal": "I can't."},
              {"type": "image_file", "image_file": {"file_id": "file-chart"}},
              extra={"status": "incomplete", "incomplete_details": {"reason": "max_tokens"}})
    plan = plan_thread(ThreadData("t", [user, bot]), filenames={"file-doc": "terms.pdf"})
    assert plan.items[0]["content"][1:] == [
        {"type": "input_image", "file_id": "file-img", "detail": "auto"},
        {"type": "input_image", "image_url": "https://x/y.png", "detail": "low"},
    ]
    assert plan.items[1]["content"] == [{"type": "refusal", "refusal": "I can't."}]
    whats = {e.what: e.kind for e in plan.ledger}
    assert whats["attachment file-doc (terms.pdf) for file_search"] == "dropped"
    assert whats["assistant image file-chart"] == "dropped"
    assert whats["incomplete message kept (max_tokens)"] == "changed"


def test_nul_and_unpaired_surrogates_are_replaced_not_dropped():
    plan = plan_thread(ThreadData("t", [msg(0, "user", text("a\x00b\ud800c"))]))
    assert plan.items[0]["content"][0]["text"] == "a\ufffdb\ufffdc"
    assert plan.ledger[0].kind == "changed" and "2 character(s)" in plan.ledger[0].what


def test_hosted_tool_steps_are_noted_or_rendered():
    step = fn_step({"id": "call_ci", "type": "code_interpreter",
                    "code_interpreter": {"input": "print(1)", "outputs": [{"type": "logs", "logs": "1"}]}})
    thread = ThreadData("t", [msg(0, "user"), msg(1, "assistant", run="run_1")], runs=[RunData("run_1", "completed", [step])])
    noted = plan_thread(thread)
    assert len(noted.items) == 2 and noted.dropped[0]["what"] == "code_interpreter step"
    rendered = plan_thread(thread, options=Options(hosted_tools="text"))
    assert len(rendered.items) == 3
    assert rendered.items[1]["content"][0]["text"].startswith("[code_interpreter]\n```python\nprint(1)")


def test_metadata_limits():
    meta = {f"k{i}": "v" for i in range(20)} | {"x" * 65: "v", "long": "v" * 513, KEY_THREAD: "spoof"}
    plan = plan_thread(ThreadData("t", [msg(0, "user")], end_user_id="u" * 600, metadata=meta))
    assert len(plan.metadata) == 16 and plan.metadata[KEY_THREAD] == "t" and KEY_END_USER not in plan.metadata
    assert all(len(k) <= 64 and len(v) <= 512 for k, v in plan.metadata.items())
    reasons = {e.what: e.why for e in plan.ledger}
    assert reasons["end user in conversation metadata"].startswith("longer than 512")
    assert reasons[f"thread metadata {KEY_THREAD!r}"] == "the key is reserved for migrator's own metadata"


@pytest.mark.parametrize(("messages", "message"), [
    ([msg(0, "tool")], "role 'tool'"),
    ([MessageData("msg_0", 0, "user", content={"oops": 1})], "content is dict"),
    ([msg(0, "user"), MessageData("msg_1", 0, "user", content=[])], "share a position"),
    ([msg(0, "user", {"type": "text", "text": {"value": 5}})], "not a string"),
])
def test_malformed_threads_raise_with_a_clear_reason(messages, message):
    with pytest.raises(MalformedThread, match=message):
        plan_thread(ThreadData("t", messages))


def test_check_item_uses_the_sdk_types():
    assert check_item({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}) == ""
    assert "detail" in check_item({"type": "message", "role": "user",
                                   "content": [{"type": "input_image", "image_url": "https://x"}]})
    assert "not allowed" in check_item({"type": "message", "role": "assistant",
                                        "content": [{"type": "input_text", "text": "x"}]})
    assert "filename" in check_item({"type": "message", "role": "assistant", "content": [
        {"type": "output_text", "text": "x", "annotations": [{"type": "file_citation", "file_id": "f", "index": 0}]}]})
    assert "unknown key" in check_item({"type": "function_call", "call_id": "c", "name": "n", "arguments": "{}",
                                        "bogus": 1})
    assert "no client-creatable" in check_item({"type": "file_search_call"})


def test_fingerprint_matches_the_apis_copy_and_batches_are_20():
    planned = {"type": "message", "role": "assistant",
               "content": [{"type": "output_text", "text": "hi", "annotations": []}]}
    stored = {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
              "content": [{"type": "output_text", "text": "hi", "annotations": [], "logprobs": []}]}
    assert fingerprint(planned) == fingerprint(stored)
    assert fingerprint(planned) != fingerprint({**planned, "role": "user"})
    assert [(o, len(b)) for o, b in batches([{}] * 45)] == [(0, 20), (20, 20), (40, 5)]
    assert [(o, len(b)) for o, b in batches([{}] * 45, start=40)] == [(40, 5)]
