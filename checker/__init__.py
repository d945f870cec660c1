"""The standalone auditor (checker/check.py runs on bare Python 3.11)."""
