"""Step 1 of the pipeline: labeled texts from the user's data, as one `Dataset` type."""
