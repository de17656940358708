"""Inventory services: keyword-only functions called by views, jobs and management commands alike."""
