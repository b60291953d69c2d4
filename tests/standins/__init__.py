"""Local stand-ins for the external services (real HTTP / WebSocket on 127.0.0.1)."""
