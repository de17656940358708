"""Permissions this app grants to each role (merged by migrator.core.roles.sync_roles).

- Product owners draft (``core.draft_prompt``, from core), edit (``prompts.edit_prompt``), approve
  (``core.approve_prompt``, from core), comment and try versions.
- Engineers read, comment, try versions and may regenerate a draft from the legacy definition (they hold
  ``core.draft_prompt`` from core; regenerating never touches what was approved). They do not edit the wording.
- Product owners and engineers ask a product owner (or the product-owner group) to review a version
  (``prompts.request_review``).
- Support leads read, comment and try versions.
- Nobody moves a ``production`` label: what production serves is set per flow by the cutover app.
"""

from migrator.core.roles import ENGINEER, PRODUCT_OWNER, SUPPORT_LEAD

_COMMON = ["prompts.view_promptversion", "prompts.add_promptcomment", "prompts.try_prompt"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    PRODUCT_OWNER: [*_COMMON, "prompts.edit_prompt", "prompts.request_review"],
    ENGINEER: [*_COMMON, "prompts.request_review"],
    SUPPORT_LEAD: [*_COMMON],
}
