"""storyd — an AI-written, audience-voted story, run live on stream."""

__version__ = "0.1.0"
