"""Jinja templates and the static Lean 4 library copied into every certificate."""
