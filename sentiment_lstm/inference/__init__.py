"""Step 7 of the pipeline: classify raw texts with a trained model directory (the
classifier, the SavedModel's serving function, the fold, scoring files)."""
