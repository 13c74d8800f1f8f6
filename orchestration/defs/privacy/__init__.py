"""Privacy domain: the daily retention of raw prompts (``imagify privacy expire-prompts``)."""
