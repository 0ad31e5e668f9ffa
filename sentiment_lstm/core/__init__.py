"""What every step shares, with no TensorFlow: errors, the config and its recipes, paths
and the model directory's layout, locks, atomic files, progress lines, quiet start-up."""
