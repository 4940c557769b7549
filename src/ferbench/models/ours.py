"""Placeholder until this family lands; the registry imports it."""
