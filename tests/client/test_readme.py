"""The README's production examples, run as written against a live migrator and the sandbox."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"
ORDER_TOOL = {"type": "function", "name": "get_order_status", "description": "An order's status.",
              "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}},
                             "required": ["order_id"], "additionalProperties": False}, "strict": True}


def production_examples() -> list[str]:
    text = README.read_text()
    section = text[text.index("## Reading approved configurations from production"):text.index("## Architecture")]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_readme_production_examples_run(served_flow, live_server, sandbox_empty, tmp_path, monkeypatch):
    setup = served_flow(slug="support-web", mode="conversation", config={"tools": [ORDER_TOOL]})
    monkeypatch.setenv("MIGRATOR_CLIENT_CACHE", str(tmp_path))
    monkeypatch.setenv("OPENAI_API_KEY", sandbox_empty.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", sandbox_empty.base_url)
    examples = production_examples()
    assert len(examples) == 2 and "Migrator(" in examples[0]
    code = examples[0].replace("https://migrator.example.com", live_server.url).replace("mgr_…", setup["token"])
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    saved: dict = {}
    first = namespace["answer"]("chat-9", "My name is Lin. get_order_status order_id=A-17", saved)
    assert "shipped" in first and saved["chat-9"]
    assert "Lin" in namespace["answer"]("chat-9", "What is my name?", saved)
    m = namespace["m"]
    assert m.flush(timeout=10)
    assert m.reporter.stats["queued"] == 2
    exec(compile(examples[1], "README.md", "exec"), namespace)  # defines the streaming variant
    assert callable(namespace["answer_streaming"])
    m.close()
