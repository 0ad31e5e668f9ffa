"""Step 6 of the pipeline: publish a trained model directory, atomically, with its
SavedModel and model card."""
