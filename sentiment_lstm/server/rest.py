"""TensorFlow Serving's REST API formats (and KServe's explain), for a model with one
string input `review` and one `(batch, classes)` float output: request bodies checked
and read, responses shaped. No web framework here: `app.py` routes HTTP to these.

Request formats (TensorFlow Serving's api_rest.md):

    predict, row format:      {"instances": ["A great film.", {"review": "Dull."}]}
    predict, columnar format: {"inputs": ["A great film.", "Dull."]}  or  {"inputs": {"review": [...]}}
    classify:                 {"examples": [{"review": "A great film."}]}
    explain (KServe):         {"instances": [...], "gates": true, "steps": 64, "target": "positive"}

Any of them may name `"signature_name": "serving_default"`, the one signature. A body
that breaks these rules is a `RestError` with a one-sentence message.

Example:

>>> parse_predict(json_body(b'{"instances": ["A great film."]}'))
(['A great film.'], 'instances')
"""
import json

SIGNATURE = "serving_default"
INPUT = "review"
OUTPUT = "output_0"  # the SavedModel's output name
VERSION = "1"
MAX_EXPLAIN_STEPS = 1024


class RestError(Exception):
    """A request the server refuses: an HTTP `status`, a one-sentence message, and the
    response's `headers` (a 405's `Allow`)."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.headers = headers


def json_body(body):
    """The JSON object of a request `body` (bytes), or a 400 `RestError` in a sentence."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RestError(400, f"The request body is not valid UTF-8 (byte 0x{body[error.start]:02x} "
                             f"at offset {error.start}).") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RestError(400, f"The request body is not valid JSON: {error.msg} at line {error.lineno} "
                             f"column {error.colno}.") from None
    if not isinstance(data, dict):
        raise RestError(400, f"The request body must be a JSON object, not {_kind(data)}.")
    return data


def parse_predict(data, extra=()):
    """(reviews, "instances" or "inputs") of a predict request's JSON object `data`;
    `extra` names further fields allowed (explain's options)."""
    _check_fields(data, {"instances", "inputs", "signature_name", *extra}, "a predict request")
    check_signature(data)
    if "instances" in data and "inputs" in data:
        raise RestError(400, 'A request holds either "instances" (row format) or "inputs" '
                             '(columnar format), not both.')
    if "instances" in data:
        instances = data["instances"]
        if not isinstance(instances, list):
            raise RestError(400, f'The field "instances" must be a list of texts, not {_kind(instances)}.')
        return [_review(item, f"Instance {k}") for k, item in enumerate(instances)], "instances"
    if "inputs" in data:
        inputs = data["inputs"]
        if isinstance(inputs, dict):
            _check_fields(inputs, {INPUT}, '"inputs"')
            inputs = inputs.get(INPUT)
        if not isinstance(inputs, list):
            raise RestError(400, f'The field "inputs" must be a list of texts (or {{"{INPUT}": [...]}}), '
                                 f'not {_kind(inputs)}.')
        return [_string(item, f"Input {k}") for k, item in enumerate(inputs)], "inputs"
    raise RestError(400, 'A predict request needs "instances" (row format) or "inputs" (columnar format).')


def parse_classify(data):
    """The reviews of a classify request's JSON object `data`."""
    _check_fields(data, {"examples", "signature_name"}, "a classify request")
    check_signature(data)
    examples = data.get("examples")
    if not isinstance(examples, list):
        raise RestError(400, f'A classify request needs "examples", a list of {{"{INPUT}": text}} '
                             f'objects, not {_kind(examples)}.')
    reviews = []
    for k, example in enumerate(examples):
        if not isinstance(example, dict) or set(example) != {INPUT}:
            raise RestError(400, f'Example {k} must be an object with the one feature "{INPUT}".')
        reviews.append(_string(example[INPUT], f'Example {k}\'s "{INPUT}"'))
    return reviews


def parse_explain(data, default_steps, labels):
    """(reviews, format, steps, gates, target) of an explain request: a predict request
    with optional `"steps"` (Integrated Gradients' points), `"gates"` (true: add them)
    and `"target"` (the class to explain, one of `labels`; None: each one's predicted)."""
    reviews, form = parse_predict(data, extra=("steps", "gates", "target"))
    steps, gates, target = data.get("steps", default_steps), data.get("gates", False), data.get("target")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_EXPLAIN_STEPS:
        raise RestError(400, f'The field "steps" must be a whole number from 1 to {MAX_EXPLAIN_STEPS}, not {steps!r}.')
    if not isinstance(gates, bool):
        raise RestError(400, f'The field "gates" must be true or false, not {_kind(gates)}.')
    if target is not None and target not in labels:
        raise RestError(400, f'The field "target" must name one of the model\'s classes, '
                             f'{", ".join(_show(label) for label in labels)}; not {_show(target)}.')
    return reviews, form, steps, gates, target


def predictions(rows, form):
    """The predict response: `{"predictions": rows}` (row format) or `{"outputs": rows}`."""
    return {"predictions" if form == "instances" else "outputs": rows.tolist()}


def classifications(rows, labels):
    """The classify response (TF Serving's Classify API): per review, every class as a
    `[label, probability]` pair, in the order of the model's outputs."""
    return {"result": [[[label, float(p)] for label, p in zip(labels, row)] for row in rows]}


def model_status(state):
    """TF Serving's model status response for version 1 in `state` (AVAILABLE, LOADING, ...)."""
    return {"model_version_status": [{"version": VERSION, "state": state,
                                      "status": {"error_code": "OK", "error_message": ""}}]}


def _tensor(dtype, *sizes):
    return {"dtype": dtype, "tensor_shape": {"dim": [{"size": str(s), "name": ""} for s in sizes],
                                             "unknown_rank": False}}


def metadata(name, labels):
    """TF Serving's model metadata response: the `serving_default` signature (`review`,
    DT_STRING [-1] -> `output_0`, DT_FLOAT [-1, classes]) and the labels of the output's
    columns, in order."""
    signature = {"inputs": {INPUT: {**_tensor("DT_STRING", -1), "name": f"serving_default_{INPUT}:0"}},
                 "outputs": {OUTPUT: {**_tensor("DT_FLOAT", -1, len(labels)), "name": "StatefulPartitionedCall:0"}},
                 "method_name": "tensorflow/serving/predict"}
    return {"model_spec": {"name": name, "signature_name": "", "version": VERSION},
            "metadata": {"signature_def": {"signature_def": {SIGNATURE: signature}},
                         "labels": list(labels)}}


def check_signature(data):
    """A 400 `RestError` unless `data` names no signature or `serving_default`."""
    name = data.get("signature_name", SIGNATURE)
    if name != SIGNATURE:
        raise RestError(400, f'This model has one signature, "{SIGNATURE}"; the request asked for {_show(name)}.')


def _check_fields(data, allowed, what):
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise RestError(400, f'Unknown field {_show(unknown[0])} in {what}; it may hold '
                             f'{", ".join(_show(f) for f in sorted(allowed))}.')


def _review(item, what):
    """A row-format instance: a string, or `{"review": string}`."""
    if isinstance(item, dict):
        if set(item) != {INPUT}:
            raise RestError(400, f'{what} must be a string or an object with the one field "{INPUT}".')
        item = item[INPUT]
    return _string(item, what)


def _string(item, what):
    if not isinstance(item, str):
        raise RestError(400, f"{what} is {_kind(item)}, not a string: each one is a text to classify.")
    try:
        item.encode("utf-8")
    except UnicodeEncodeError:
        raise RestError(400, f"{what} holds an unpaired surrogate escape (\\ud800-\\udfff), "
                             "which is not text.") from None
    return item


def _kind(value):
    """`value`'s JSON kind with its article: "a number", "null", "a list", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    kinds = {str: "a string", int: "a number", float: "a number", list: "a list", dict: "an object"}
    return kinds.get(type(value), type(value).__name__)


def _show(value):
    return json.dumps(value)[:80]
