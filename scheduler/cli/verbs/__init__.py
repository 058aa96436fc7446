"""One module per verb of the `scheduler` command; `scheduler.cli.app` assembles them."""
