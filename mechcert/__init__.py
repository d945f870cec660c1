"""mechcert: formally checked certificates of neural-network accuracy."""
__version__ = "0.1.0"
