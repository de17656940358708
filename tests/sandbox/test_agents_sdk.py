"""The official Agents SDK (``openai-agents``) against the sandbox: an agent with a function tool, in the four
ways it keeps conversation state (input list, ``previous_response_id``, ``conversation_id``, ``SQLiteSession``),
each streamed (``Runner.run_streamed``) and not (``Runner.run``). Every run checks the final outputs: the tool
really ran and its output reached the reply, and the second turn remembers the first."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from agents import (
    Agent,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    SQLiteSession,
    function_tool,
    set_tracing_disabled,
)
from openai import AsyncOpenAI

STYLES = ("input_list", "previous_response_id", "conversation_id", "sqlite_session")
FIRST = "My name is Ada. Use get_weather city: Paris"
SECOND = "What is my name?"


@pytest.fixture(autouse=True)
def _no_tracing() -> None:
    set_tracing_disabled(True)  # the trace exporter would call api.openai.com


def _agent(sandbox: Any, calls: list[str]) -> tuple[Agent, AsyncOpenAI]:
    client = AsyncOpenAI(base_url=sandbox.base_url, api_key=sandbox.api_key, max_retries=0)

    @function_tool
    def get_weather(city: str) -> str:
        """The weather for a city."""
        calls.append(city)
        return f"21C and sunny in {city}"

    agent = Agent(name="Weather", instructions="Answer briefly; use tools for weather.", tools=[get_weather],
                  model=OpenAIResponsesModel(model="gpt-4o", openai_client=client))
    return agent, client


async def _run(agent: Agent, text: Any, *, streamed: bool, **state: Any) -> Any:
    config = RunConfig(tracing_disabled=True)
    if not streamed:
        return await Runner.run(agent, text, run_config=config, **state)
    result = Runner.run_streamed(agent, text, run_config=config, **state)
    kinds = set()
    async for event in result.stream_events():
        kinds.add(event.type)
    assert "raw_response_event" in kinds and "run_item_stream_event" in kinds
    return result


async def _two_turns(sandbox: Any, style: str, streamed: bool, tmp_path: Path) -> tuple[list[str], Any, Any]:
    calls: list[str] = []
    agent, client = _agent(sandbox, calls)
    state: dict[str, Any] = {}
    if style == "conversation_id":
        state["conversation_id"] = (await client.conversations.create()).id
    elif style == "sqlite_session":
        state["session"] = SQLiteSession("h23-agent", str(tmp_path / "session.sqlite3"))
    first = await _run(agent, FIRST, streamed=streamed, **state)
    if style == "input_list":
        second = await _run(agent, [*first.to_input_list(), {"role": "user", "content": SECOND}], streamed=streamed)
    elif style == "previous_response_id":
        second = await _run(agent, SECOND, streamed=streamed, previous_response_id=first.last_response_id)
    else:
        second = await _run(agent, SECOND, streamed=streamed, **state)
    await client.close()
    return calls, first, second


@pytest.mark.parametrize("streamed", [False, True], ids=["run", "run_streamed"])
@pytest.mark.parametrize("style", STYLES)
def test_agent_with_a_tool_keeps_state(sandbox, tmp_path, style: str, streamed: bool) -> None:
    # A thread of its own: in the full suite Playwright's sync API keeps an event loop running on this one, and
    # asyncio.run refuses to start inside it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        calls, first, second = pool.submit(asyncio.run, _two_turns(sandbox, style, streamed, tmp_path)).result()
    assert calls == ["Paris"]  # the SDK ran our tool once, with the argument the model gave
    assert first.final_output.startswith("Thanks, get_weather returned 21C and sunny in Paris.")
    assert second.final_output.startswith("Your name is Ada.")
    assert "tools=get_weather" in second.final_output
