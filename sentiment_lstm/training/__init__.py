"""Step 4 of the pipeline: the one training loop (`loop.train`), with its callbacks and
history, tf.distribute's strategies inside it, the teacher and pretrained vectors."""
