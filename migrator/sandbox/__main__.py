"""``python -m migrator.sandbox``: the same options as ``manage.py sandbox``, without Django."""

from __future__ import annotations

import argparse

from .config import add_arguments, from_namespace
from .server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m migrator.sandbox", description="Offline OpenAI-compatible API")
    add_arguments(parser)
    serve(from_namespace(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
