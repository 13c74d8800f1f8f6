"""Dashboards as code — placeholder until its own issue (#7)."""
