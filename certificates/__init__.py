"""Proof strategies, rigorous arithmetic backends, the certificate format and rendering."""
