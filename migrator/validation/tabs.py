"""Validation's sidebar entry and assistant tab (discovered by migrator.core.navigation)."""

from migrator.core.navigation import Tab

NAV = (
    Tab("validation", "Validation", "validation:list", "validation.view_testset", order=35,
        match=(("validation", ""),)),
)

ASSISTANT_TABS = (
    Tab("validation", "Validation", "validation:assistant_validation", order=45),
)
