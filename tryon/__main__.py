from tryon.cli import run

run()
