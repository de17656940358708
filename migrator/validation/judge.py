"""Optional scorers that call the connection: embeddings (``/embeddings``) and an LLM judge. Never required:
when enabled and the call fails, the check says "error" and the case is incomplete, not passed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai

from migrator.core.openai_client import describe_error
from migrator.validation.checks import CaseFacts
from migrator.validation.replay import TurnOutcome

DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
JUDGE_SCHEMA = {
    "type": "object",
    "properties": {"score": {"type": "number", "minimum": 0, "maximum": 1}, "reason": {"type": "string"}},
    "required": ["score", "reason"],
    "additionalProperties": False,
}
DEFAULT_RUBRIC = ("The new answer does the same job as the recorded answer for this user: same facts, same "
                  "actions, same commitments. Wording may differ.")


def make_embedder(client: openai.OpenAI, settings: dict[str, Any]) -> Callable[[list[str]], list[list[float]]]:
    model = str(settings["embedding_similarity"].get("model") or DEFAULT_EMBEDDING_MODEL)

    def embed(texts: list[str]) -> list[list[float]]:
        try:
            response = client.embeddings.create(model=model, input=texts, encoding_format="float")
        except openai.OpenAIError as exc:
            raise RuntimeError(describe_error(exc, where="embeddings")) from exc
        return [list(d.embedding) for d in sorted(response.data, key=lambda d: d.index)]

    return embed


def make_judge(client: openai.OpenAI, settings: dict[str, Any], config: dict[str, Any]
               ) -> Callable[[CaseFacts, TurnOutcome, str], dict[str, Any]]:
    model = str(settings["llm_judge"].get("model") or config.get("model") or "gpt-4o-mini")

    def judge(facts: CaseFacts, outcome: TurnOutcome, rubric: str) -> dict[str, Any]:
        prompt = (f"Rubric: {rubric or DEFAULT_RUBRIC}\n\nRecorded answer:\n{facts.expected_text}\n\n"
                  f"New answer:\n{outcome.text}\n\nScore the new answer from 0 to 1 against the rubric.")
        try:
            response = client.responses.create(
                model=model, input=prompt, store=False,
                instructions="You grade answers. Reply with JSON only.",
                text={"format": {"type": "json_schema", "name": "grade", "schema": JUDGE_SCHEMA, "strict": True}},
            )
        except openai.OpenAIError as exc:
            raise RuntimeError(describe_error(exc, where="LLM judge")) from exc
        value = json.loads(response.output_text or "{}")
        return {"score": value.get("score", 0), "reason": value.get("reason", "")}

    return judge
