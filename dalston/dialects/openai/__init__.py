"""The openai dialect."""
