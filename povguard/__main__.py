from povguard.cli import app

app()
