"""Export archives: reading (streaming), checking and writing the raw Assistants API objects."""
