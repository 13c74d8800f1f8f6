"""Generation API (FastAPI) — placeholder until its own issue (#4)."""
