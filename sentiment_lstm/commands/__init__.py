"""The subcommands of `sentiment-lstm`, one module each: `HELP`, `add_arguments(parser)`
and `run(args)`. Importing them loads no TensorFlow: `run` imports what it needs."""
