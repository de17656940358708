"""Core's sidebar entries and assistant tab (see migrator.core.tabs for how apps declare theirs)."""

from migrator.core.navigation import Tab

NAV = (
    Tab("dashboard", "Dashboard", "core:dashboard", order=0, match=(("core", "dashboard"),)),
    Tab("assistants", "Assistants", "core:assistant_list", "core.view_assistant", order=10,
        match=(("core", "assistant"), ("inventory", "assistant"), ("prompts", ""), ("tools", ""), ("flows", "assistant"))),
    Tab("jobs", "Jobs", "core:job_list", order=900, match=(("core", "job"),)),
    Tab("audit", "Audit log", "core:audit_log", "core.view_auditevent", order=910, match=(("core", "audit"),)),
    Tab("system", "System", "core:system_status", order=920, match=(("core", "system"),)),
)

ASSISTANT_TABS = (Tab("overview", "Overview", "core:assistant_detail", order=0),)
