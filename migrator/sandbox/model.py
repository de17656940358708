"""The deterministic model: a reply is a pure function of the request and the history it carries.

Documented behaviour (see docs/sandbox.md):
- A function tool is called when the latest user text names it (``get_weather`` or ``get weather``), or
  ``tool_choice`` forces it (``required`` or a named function).  Arguments validate against the tool's
  schema; ``key=value`` / ``key: value`` pairs in the user text fill properties of that name.
- After ``function_call_output`` items, the reply quotes the outputs.
- ``file_search`` runs when the text asks to search/find/look up/check the docs (or ``tool_choice`` forces
  it); results come from a keyword match over the vector stores' files, with a ``file_citation``.
- ``code_interpreter`` runs when the text asks to calculate/compute/plot/analyse/run code; arithmetic in
  the text is evaluated for real.
- Facts stated earlier ("my name is Ada", "remember that the code is 42") are recalled in later replies, and
  "what is my name?" is answered from history, so lost conversation state is visible.
- Every text reply ends with a ``[sandbox: ...]`` trailer that says what the model saw.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import operator
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .schemagen import generate

TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)
FACT_RE = re.compile(r"\bmy ([a-z][a-z' ]{0,40}?) (?:is|are) ([^.,;!?\n]+)", re.IGNORECASE)
REMEMBER_RE = re.compile(r"\bremember(?: that)? ([^.!?\n]+)", re.IGNORECASE)
QUESTION_RE = re.compile(r"\bwhat(?: is|'s| are) my ([a-z][a-z' ]{0,40}?)\s*\??$", re.IGNORECASE)
PAIR_RE = re.compile(r"\b([A-Za-z_][\w-]{0,63})\s*[=:]\s*(\"[^\"]*\"|'[^']*'|[^\s,;]+)")
SEARCH_WORDS = ("search", "find", "look up", "lookup", "docs", "documentation", "according to", "policy", "manual")
CODE_WORDS = ("calculate", "compute", "plot", "chart", "analy", "python", "run code", "csv", "average", "sum of")
NUMBER = r"[-+]?\d+(?:\.\d+)?"
AGGREGATE_RE = re.compile(
    rf"\b(sum|total|average|mean|product|max(?:imum)?|min(?:imum)?|median)\s+of\s+(?:the\s+numbers\s+)?"
    rf"({NUMBER}(?:\s*(?:,\s*and|,|and)\s*{NUMBER})*)", re.IGNORECASE)
REFUSAL = ("The sandbox runs no Python: it evaluates arithmetic (+ - * / % and parentheses) and "
           "'sum / average / mean / product / min / max / median of <numbers>' only.")
EXPR_RE = re.compile(r"[(\-+]*\s*\d[\d.\s()+\-*/%]*")
BINARY_RE = re.compile(r"\d\)*[-+*/%]\(*[-+]?\d")


def count_tokens(text: str) -> int:
    """A stable stand-in for a tokenizer: words and punctuation marks, at least 1 for non-empty text."""
    return len(TOKEN_RE.findall(text)) if text else 0


@dataclass
class Turn:
    """One normalized history entry."""

    type: str  # message | function_call | function_call_output | other
    role: str = ""
    text: str = ""
    name: str = ""
    call_id: str = ""
    arguments: str = ""


@dataclass
class Tool:
    type: str  # function | file_search | code_interpreter | other
    name: str = ""
    parameters: dict[str, Any] | None = None
    vector_store_ids: list[str] = field(default_factory=list)
    max_num_results: int = 20


@dataclass
class Request:
    model: str
    instructions: str | None
    history: list[Turn]
    tools: list[Tool] = field(default_factory=list)
    tool_choice: Any = "auto"
    text_format: dict[str, Any] | None = None
    max_output_tokens: int | None = None
    parallel_tool_calls: bool = True
    reasoning_effort: str | None = None


@dataclass
class Output:
    """One produced item: message, function_call, file_search or code."""

    kind: str
    text: str = ""
    name: str = ""
    arguments: str = ""
    queries: list[str] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    code: str = ""
    logs: str = ""
    computed: bool = True


@dataclass
class Result:
    outputs: list[Output]
    input_tokens: int
    output_tokens: int
    reasoning_tokens: int = 0
    incomplete: bool = False


Search = Callable[[list[str], str, int], list[dict[str, Any]]]


def _latest_user(history: list[Turn]) -> tuple[int, str]:
    for i in range(len(history) - 1, -1, -1):
        if history[i].type == "message" and history[i].role == "user":
            return i, history[i].text
    return -1, ""


def _facts(history: list[Turn], upto: int) -> tuple[dict[str, str], list[str]]:
    facts: dict[str, str] = {}
    notes: list[str] = []
    for turn in history[:upto]:
        if turn.type == "message" and turn.role == "user":
            for key, value in FACT_RE.findall(turn.text):
                facts[key.strip().lower()] = value.strip()
            notes.extend(n.strip() for n in REMEMBER_RE.findall(turn.text))
    return facts, notes


def _mentions(text: str, name: str) -> bool:
    low = text.lower()
    return name.lower() in low or name.lower().replace("_", " ").replace("-", " ") in low


def _hints(text: str, facts: dict[str, str]) -> dict[str, str]:
    hints = {k.replace(" ", "_"): v for k, v in facts.items()}
    for key, value in PAIR_RE.findall(text):
        hints[key] = value.strip("\"'")
    return hints


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(round(value, 6))


def _aggregate(text: str) -> tuple[str, str] | None:
    """"average of 2 and 4", "sum of 1, 2 and 3": the Python that computes it and what it prints."""
    match = AGGREGATE_RE.search(text)
    if not match:
        return None
    word = match.group(1).lower()[:3]
    numbers = [float(n) if "." in n else int(n) for n in re.findall(NUMBER, match.group(2))]
    listed = ", ".join(str(n) for n in numbers)
    calls: dict[str, tuple[str, Callable[[list[Any]], float]]] = {
        "sum": (f"sum([{listed}])", sum), "tot": (f"sum([{listed}])", sum),
        "ave": (f"statistics.mean([{listed}])", statistics.mean), "mea": (f"statistics.mean([{listed}])", statistics.mean),
        "pro": (f"math.prod([{listed}])", math.prod), "max": (f"max([{listed}])", max), "min": (f"min([{listed}])", min),
        "med": (f"statistics.median([{listed}])", statistics.median),
    }
    source, fn = calls[word]
    return f"import math\nimport statistics\nprint({source})", _show(fn(numbers))


def _expression(text: str) -> str | None:
    """The first arithmetic expression in ``text`` (digits, + - * / %, parentheses), balanced."""
    for match in EXPR_RE.finditer(text):
        expr = re.sub(r"\s+", "", match.group(0)).rstrip("+-*/%(")
        while expr.count(")") > expr.count("(") and expr.endswith(")"):
            expr = expr[:-1]
        expr = expr.lstrip(")")
        if BINARY_RE.search(expr) and expr.count("(") == expr.count(")"):
            return expr
    return None


def _arith(text: str) -> tuple[str, str] | None:
    expr = _expression(text)
    if expr is None:
        return None
    ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Mod: operator.mod, ast.USub: operator.neg, ast.UAdd: operator.pos}

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in ops:
            return ops[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in ops:
            return ops[type(node.op)](ev(node.operand))
        raise ValueError(expr)

    try:
        value = ev(ast.parse(expr, mode="eval").body)
    except (ValueError, SyntaxError, ZeroDivisionError):
        return None
    return f"result = {expr}\nprint(result)", _show(value)


def compute(text: str) -> tuple[str, str, bool]:
    """(code, printed output, computed?) for a code-interpreter request; a refusal when nothing is computable."""
    found = _aggregate(text) or _arith(text)
    if found:
        return found[0], found[1], True
    return "# nothing computable was found in the request", REFUSAL, False


class Model:
    def __init__(self, search: Search | None = None) -> None:
        self.search = search or (lambda ids, q, n: [])

    def run(self, req: Request) -> Result:
        idx, user_text = _latest_user(req.history)
        facts, notes = _facts(req.history, idx if idx >= 0 else len(req.history))
        outputs: list[Output] = []
        pending = [t for t in req.history[idx + 1 :] if t.type == "function_call_output"] if idx >= 0 else [
            t for t in req.history if t.type == "function_call_output"
        ]
        choice = req.tool_choice
        tools = [] if choice == "none" else req.tools
        last = req.history[-1] if req.history else None
        if last is not None and last.type == "function_call_output":
            calls = {t.call_id: t.name for t in req.history if t.type == "function_call"}
            said = "; ".join(f"{calls.get(t.call_id, 'the tool')} returned {t.text[:400]}" for t in pending)
            lead = f"Thanks, {said}."
        else:
            outputs.extend(self._tool_calls(req, tools, choice, user_text, facts))
            if outputs and outputs[-1].kind == "function_call":
                return self._finish(req, outputs)
            lead = self._lead(user_text, facts, notes, outputs)
        outputs.append(self._message(req, lead, user_text, facts, notes, outputs))
        return self._finish(req, outputs)

    # --- tools ------------------------------------------------------------------------------
    def _tool_calls(
        self, req: Request, tools: list[Tool], choice: Any, text: str, facts: dict[str, str]
    ) -> list[Output]:
        forced = choice.get("type") if isinstance(choice, dict) else None
        forced_name = choice.get("name") if isinstance(choice, dict) else None
        if forced == "allowed_tools":
            allowed = {t.get("name") or t.get("type") for t in choice.get("tools", [])}
            tools = [t for t in tools if (t.name or t.type) in allowed]
            forced, choice = None, choice.get("mode", "auto")
        functions = [t for t in tools if t.type == "function"]
        low = text.lower()
        out: list[Output] = []
        search = next((t for t in tools if t.type == "file_search"), None)
        if search and (forced == "file_search" or any(w in low for w in SEARCH_WORDS)):
            query = text.strip()[:200] or "search"
            hits = self.search(search.vector_store_ids, query, search.max_num_results)
            out.append(Output("file_search", queries=[query], results=hits))
        code = next((t for t in tools if t.type == "code_interpreter"), None)
        if code and (forced == "code_interpreter" or any(w in low for w in CODE_WORDS) or _arith_request(low)):
            source, logs, computed = compute(text)
            out.append(Output("code", code=source, logs=logs, computed=computed))
        picked = [f for f in functions if f.name == forced_name] if forced == "function" else [
            f for f in functions if _mentions(text, f.name)
        ]
        if not picked and functions and (choice == "required" or forced == "function") and not out:
            picked = functions[:1]
        if not req.parallel_tool_calls:
            picked = picked[:1]
        for fn in picked:
            args = generate(fn.parameters or {"type": "object", "properties": {}}, f"{fn.name}|{text}", _hints(text, facts))
            if not isinstance(args, dict):
                args = {}
            out.append(Output("function_call", name=fn.name, arguments=json.dumps(args, ensure_ascii=False)))
        return out

    # --- text -------------------------------------------------------------------------------
    def _lead(self, text: str, facts: dict[str, str], notes: list[str], outputs: list[Output]) -> str:
        question = QUESTION_RE.search(text.strip())
        parts = []
        if question:
            key = question.group(1).strip().lower()
            parts.append(f"Your {key} is {facts[key]}." if key in facts else f"I don't know your {key}.")
        else:
            snippet = " ".join(text.split())[:200]
            parts.append(f'You said: "{snippet}".' if snippet else "Hello.")
        for out in outputs:
            if out.kind == "file_search":
                if out.results:
                    top = out.results[0]
                    parts.append(f"According to {top['filename']}: {top['text'][:160].strip()}")
                else:
                    parts.append("I searched the files but found nothing relevant.")
            elif out.kind == "code":
                parts.append(f"I ran Python and got {out.logs}." if out.computed else
                             f"I could not compute that. {out.logs}")
        return " ".join(parts)

    def _message(
        self, req: Request, lead: str, text: str, facts: dict[str, str], notes: list[str], outputs: list[Output]
    ) -> Output:
        citations: list[dict[str, Any]] = []
        recall = ""
        if facts or notes:
            bits = [f"your {k} is {v}" for k, v in facts.items()] + notes
            recall = " I remember: " + "; ".join(bits) + "."
        users = sum(1 for t in req.history if t.type == "message" and t.role == "user")
        messages = sum(1 for t in req.history if t.type == "message")
        names = ",".join(t.name or t.type for t in req.tools) or "none"
        instr = req.instructions or ""
        digest = hashlib.sha256(instr.encode()).hexdigest()[:8] if instr else "none"
        trailer = (
            f" [sandbox: model={req.model}; messages={messages}; user_turns={users}; "
            f"instructions={len(instr)} chars sha={digest}; tools={names}]"
        )
        fmt = (req.text_format or {}).get("type", "text")
        if fmt == "json_schema":
            schema = req.text_format.get("schema") or {"type": "object"}  # type: ignore[union-attr]
            hints = _hints(text, facts)
            for key in ("answer", "reply", "summary", "text", "message", "response"):
                hints.setdefault(key, (lead + recall).strip())
            body = json.dumps(generate(schema, f"{req.model}|{text}|{users}", hints), ensure_ascii=False)
        elif fmt == "json_object":
            body = json.dumps(
                {"answer": lead, "remembered": facts, "notes": notes, "messages_seen": messages, "user_turns": users},
                ensure_ascii=False,
            )
        else:
            body = lead + recall + trailer
            search = next((o for o in outputs if o.kind == "file_search" and o.results), None)
            if search:
                top = search.results[0]
                citations.append({"file_id": top["file_id"], "filename": top["filename"], "index": len(lead)})
        return Output("message", text=body, citations=citations)

    def _finish(self, req: Request, outputs: list[Output]) -> Result:
        input_tokens = count_tokens(req.instructions or "") + sum(
            count_tokens(t.text or t.arguments) + 4 for t in req.history
        )
        input_tokens += sum(count_tokens(json.dumps(t.parameters)) for t in req.tools if t.parameters)
        input_tokens += sum(count_tokens(json.dumps(r)) for o in outputs for r in o.results)
        output_tokens = sum(count_tokens(o.text or o.arguments or o.code) for o in outputs)
        reasoning = 0
        if req.reasoning_effort and req.reasoning_effort not in ("none", "minimal"):
            reasoning = {"low": 16, "medium": 64, "high": 256, "xhigh": 512, "max": 1024}.get(req.reasoning_effort, 64)
        incomplete = False
        limit = req.max_output_tokens
        if limit is not None and output_tokens + reasoning > limit:
            incomplete = True
            budget = max(limit - reasoning, 0)
            for out in outputs:
                if out.kind == "message":
                    out.text = _truncate_tokens(out.text, budget)
                    out.citations = [c for c in out.citations if c["index"] <= len(out.text)]
            output_tokens = min(output_tokens, budget)
        return Result(outputs, max(input_tokens, 1), output_tokens + reasoning, reasoning, incomplete)


def _arith_request(low: str) -> bool:
    return ("what is" in low or "how much" in low) and _expression(low) is not None


def _truncate_tokens(text: str, budget: int) -> str:
    if budget <= 0:
        return ""
    matches = list(TOKEN_RE.finditer(text))
    if len(matches) <= budget:
        return text
    return text[: matches[budget - 1].end()]
