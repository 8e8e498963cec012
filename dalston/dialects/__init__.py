"""The API dialects, one package each: native, elevenlabs, openai. Each translates
its wire format into one request model and shapes one Transcript back."""
