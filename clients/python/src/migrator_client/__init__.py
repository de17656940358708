"""migrator-client: serve each flow's cut-over configuration, keep state the flow's way, report outcomes."""

from .client import Flow, Migrator, Reply, StreamedReply
from .config import MigratorError, bucket, release_of
from .schema import check_output

__all__ = ["Flow", "Migrator", "MigratorError", "Reply", "StreamedReply", "bucket", "check_output", "release_of"]
__version__ = "0.1.0"
