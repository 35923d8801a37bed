"""Text, image and speech providers: the offline ones and one OpenAI-compatible client."""
