"""Testing a connection tells a refused key and a server that 404s everything from a shut-down API (issue 21, #11)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from migrator.core.models import Connection
from migrator.core.services import ServiceError
from migrator.core.services.connections import save_connection
from migrator.inventory.services.connections import test_connection as probe_connection

pytestmark = pytest.mark.django_db


def _server(status: int, body: dict):
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def serve():
    servers = []

    def start(status: int, body: dict) -> str:
        servers.append(_server(status, body))
        return f"http://127.0.0.1:{servers[-1].server_address[1]}/v1"

    yield start
    for server in servers:
        server.shutdown()


def test_a_wrong_key_is_reported_as_a_refused_key_not_as_a_shut_down_api(engineer, serve):
    url = serve(401, {"error": {"message": "Incorrect API key provided: sk-wr****ong.", "type": "invalid_request_error",
                                "code": "invalid_api_key"}})
    connection = save_connection(actor=engineer, name="Wrong key", base_url=url, api_key="sk-wrong-key-123")
    with pytest.raises(ServiceError, match="refused the API key") as info:
        probe_connection(connection=connection, actor=engineer)
    assert "shut" not in str(info.value).lower()
    assert Connection.objects.get(pk=connection.pk).answers == {}  # nothing recorded about its APIs


def test_a_server_answering_404_to_everything_is_not_reported_as_having_every_api(engineer, serve):
    url = serve(404, {"detail": "Not Found"})
    connection = save_connection(actor=engineer, name="Black hole", base_url=url, api_key="sk-any-key-123")
    result = probe_connection(connection=connection, actor=engineer)
    assert result["answers"] == {"models": False, "assistants": False, "responses": False, "conversations": False}
    assert "404 to every path" in result["details"]["responses"]["detail"]
