from scanhive.cli import app

app(prog_name="scanhive")
