"""Inventory pages: connections, import, usage, model radar and the assistant's usage & drift tab."""
