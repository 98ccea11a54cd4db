"""digestgen: research-paper listings to a static website and an email newsletter."""

__version__ = "0.1.0"
