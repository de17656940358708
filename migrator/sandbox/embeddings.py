"""``POST /v1/embeddings``: deterministic vectors, so texts that share words are close and others are not.

Each word (lower-cased) is hashed to a few signed positions of the vector (feature hashing), so the cosine
similarity of two texts follows their shared vocabulary. Same input, same vector, on every machine.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from typing import Any

from .common import Ctx
from .errors import bad_request
from .model import TOKEN_RE, count_tokens

MODELS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
MAX_INPUTS = 2048


def vector(text: str, dimensions: int) -> list[float]:
    values = [0.0] * dimensions
    for word in TOKEN_RE.findall((text or "").lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=16).digest()
        for i in range(0, 12, 4):
            index = int.from_bytes(digest[i:i + 3], "big") % dimensions
            values[index] += 1.0 if digest[i + 3] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in values))
    return [round(v / norm, 6) for v in values] if norm else values


def create_embeddings(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json()
    model = body.get("model")
    if model not in MODELS:
        raise bad_request(f"The model '{model}' does not exist or you do not have access to it.", param="model",
                          code="model_not_found")
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise bad_request("'input' must be a non-empty string or array of strings.", param="input")
    if len(texts) > MAX_INPUTS or any(not t for t in texts):
        raise bad_request(f"'input' takes 1 to {MAX_INPUTS} non-empty strings.", param="input")
    dimensions = body.get("dimensions", MODELS[model])
    if not isinstance(dimensions, int) or not 1 <= dimensions <= MODELS[model] or (
            model == "text-embedding-ada-002" and dimensions != MODELS[model]):
        raise bad_request(f"'dimensions' must be between 1 and {MODELS[model]} for {model}.", param="dimensions")
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise bad_request("'encoding_format' is 'float' or 'base64'.", param="encoding_format")
    data = []
    for index, text in enumerate(texts):
        values = vector(text, dimensions)
        embedding: Any = values
        if encoding == "base64":
            embedding = base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(count_tokens(t) for t in texts)
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


ROUTES = [("POST", "/embeddings", create_embeddings)]
