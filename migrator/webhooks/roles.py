"""Who may see and manage outgoing webhooks (merged by migrator.core.roles.sync_roles).

Engineers wire migrator into the team's tooling, so they manage endpoints. Support leads see the endpoints
and delivery logs (they want to know their approvals reached the channel) but do not change them. Endpoint
URLs are requests migrator makes from inside the network, so adding them stays with engineers and admins.
"""

from migrator.core.roles import ENGINEER, SUPPORT_LEAD

ROLE_PERMISSIONS: dict[str, list[str]] = {
    ENGINEER: [
        "webhooks.view_webhookendpoint",
        "webhooks.add_webhookendpoint",
        "webhooks.change_webhookendpoint",
        "webhooks.delete_webhookendpoint",
    ],
    SUPPORT_LEAD: ["webhooks.view_webhookendpoint"],
}
