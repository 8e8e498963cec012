from dalston.cli.main import app

app()
