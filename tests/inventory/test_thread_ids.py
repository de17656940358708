"""The thread-id list parser (CSV or JSON, optional flow / end_user_id / tags / assistant_id)."""

from __future__ import annotations

from migrator.inventory.thread_ids import ThreadRef, parse_thread_list


def test_csv_with_header_and_all_columns():
    result = parse_thread_list(
        "\ufeffthread_id,flow,end_user_id,tags,assistant_id\n"
        "thread_a,billing-web,cus_1,vip;eu,asst_1\n"
        "# a comment line\n"
        "\n"
        'thread_b,,,"x|y",\n'
    )
    assert result.ok, result.errors
    assert result.refs == [
        ThreadRef("thread_a", "billing-web", "cus_1", ("vip", "eu"), "asst_1", line=2),
        ThreadRef("thread_b", "", "", ("x", "y"), "", line=5),
    ]


def test_plain_id_per_line_and_headerless_columns():
    result = parse_thread_list(b"thread_1\nthread_2,support\nthread_3,support,u9\n")
    assert [(r.thread_id, r.flow, r.end_user_id) for r in result.refs] == [
        ("thread_1", "", ""), ("thread_2", "support", ""), ("thread_3", "support", "u9")]


def test_tab_separated_and_aliases():
    result = parse_thread_list("id\tflow_slug\tuser_id\nthread_t\tweb\tu1\n")
    assert result.refs[0].thread_id == "thread_t" and result.refs[0].end_user_id == "u1"


def test_json_shapes():
    assert [r.thread_id for r in parse_thread_list('["thread_1", "thread_2"]').refs] == ["thread_1", "thread_2"]
    objs = parse_thread_list('{"thread_ids": [{"thread_id": "thread_1", "tags": ["a", "b"], "end_user_id": 42}]}')
    assert objs.refs[0].tags == ("a", "b") and objs.refs[0].end_user_id == "42"
    page = parse_thread_list('{"object": "list", "data": [{"id": "thread_9", "object": "thread", "created_at": 1}]}')
    assert page.ok and page.refs[0].thread_id == "thread_9"


def test_errors_name_the_line_and_field():
    result = parse_thread_list(
        "thread_id,flow,tags\n"
        "thread ok,web,\n"  # a space in the id
        "thread_2,not a slug!,\n"
        "thread_3,web,a\n"
        "thread_3,web,b\n"
        "thread_4,web,x,extra\n"
    )
    assert result.errors == [
        "line 2: thread_id: 'thread ok' is not an API id (letters, digits, '_', '-', '.', ':' only)",
        "line 3: flow: 'not a slug!' is not a slug (letters, digits, '-' and '_', at most 100)",
        "line 5: thread thread_3 is listed twice (first at line 4).",
        "line 6: 4 columns, but the list has 3 (thread_id, flow, tags).",
    ]
    assert [r.thread_id for r in result.refs] == ["thread_3"]


def test_unknown_columns_and_bad_input():
    assert parse_thread_list("thread_id,flwo\nthread_1,x\n").errors == [
        "line 1: unknown column 'flwo' (known: thread_id, flow, end_user_id, tags, assistant_id)."]
    assert parse_thread_list("").errors == ["the thread list is empty."]
    assert parse_thread_list(b"\xff\xfe\x00bad").errors[0].startswith("the thread list is not UTF-8 text")
    assert "not valid JSON" in parse_thread_list("[1, 2").errors[0]
    assert parse_thread_list("[5]").errors == ["item 0: expected a thread id or an object, got int."]
    assert parse_thread_list('{"x": 1}').errors[0].startswith("a JSON thread list is an array")
    assert parse_thread_list('[{"thread_id": "t_1", "colour": "red"}]').errors == [
        "item 0: unknown key 'colour' (known: thread_id, flow, end_user_id, tags, assistant_id)."]
    assert parse_thread_list("# only comments\n").errors == ["the thread list names no threads."]
