"""Command-line shell over the chipswitch library (typer + rich).

`chipswitch.cli.app:main` is the console script. Each command module exposes
`register(app)`, and `app.py` calls it; the library itself never imports this package.
"""
