"""The one HTTP application: the staff web console, Slack's `/slack/events` (HTTP mode) and
`/healthz`, served by uvicorn. `bot.web.app.build_web_app(settings, services, slack_app=...)`
builds it; `bot.web.server.WebServer` runs it."""
