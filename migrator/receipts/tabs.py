"""Receipts' pages other apps link to by key (migrator.core.navigation.page_url): a flow's receipt download."""

PAGES = {"flow_receipt": "receipts:download"}
