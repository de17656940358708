from migrator.core.models.assistant import Assistant, AssistantQuerySet, AssistantStatusChange
from migrator.core.models.audit import AuditEvent
from migrator.core.models.connection import Connection
from migrator.core.models.flow import Flow, FlowStatusChange
from migrator.core.models.job import Job, JobStatus, WorkerHeartbeat
from migrator.core.models.tally import AssistantTally

__all__ = [
    "Assistant",
    "AssistantQuerySet",
    "AssistantStatusChange",
    "AssistantTally",
    "AuditEvent",
    "Connection",
    "Flow",
    "FlowStatusChange",
    "Job",
    "JobStatus",
    "WorkerHeartbeat",
]
