from tldr_data.cli import cli

cli()
