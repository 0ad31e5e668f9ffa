"""The HTTP server: TensorFlow Serving's REST API, KServe's routes and the demo page."""
