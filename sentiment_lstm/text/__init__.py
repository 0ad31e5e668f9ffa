"""Step 2 of the pipeline: texts -> token ids (the vectorizer) and training batches."""
