"""The Slack surfaces of the consultation assistant (slack-bolt).

`app.build_app()` wires the surfaces (one module each, `register(app, services, ...)`),
`runner.serve()` runs the app in Socket Mode or HTTP mode (bot.web: the one HTTP application).
"""
