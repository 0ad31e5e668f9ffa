"""Step 5 of the pipeline: score a trained model on held-out labeled texts."""
