from tldr_train.cli import cli

cli()
