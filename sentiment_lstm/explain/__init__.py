"""Why the model said what it said: word attributions, the text read step by step, the
gates (`attributions`), and a self-contained HTML page of them (`page`)."""
