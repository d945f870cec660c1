"""Jinja templates and the static Coq library copied into every certificate."""
