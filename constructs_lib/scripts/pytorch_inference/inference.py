"""SageMaker PyTorch serving handler for the model trained by constructs_lib's reference ``train.py``.

Format dependency: the model directory (``/opt/ml/model``, from the training job's ``model.tar.gz``) holds
``model.pt`` (the ``state_dict``) and ``model_meta.json`` (fields, normalisation statistics, vocabularies,
network shape, ``format_version``) exactly as ``train.py`` writes them. This handler does not re-implement
that format: it imports ``load_model`` and ``predict`` from ``train.py``, which the model step ships beside
this file (both end up in ``/opt/ml/model/code``). A model trained by another script needs its own handler
(``PyTorchModelConfig.source_dir``).

Requests:

* ``text/csv``: a header row, then one row per record (cells are read as text, like ``train.py`` reads
  categorical columns; numeric columns are parsed as numbers);
* ``application/json``: a list of records (``[{"feature1": 1.5, ...}, ...]``), ``{"instances": [...]}``,
  or one record. Columns the model does not use are ignored; missing numeric values become the training
  mean, unknown categories the "unknown" embedding.

Responses (``Accept``):

* ``application/json`` (default): ``{"probabilities": [...], "predictions": [0 | 1, ...]}`` plus ``"ids"``
  when the records carry the id column;
* ``text/csv``: one line ``probability,prediction`` per record, no header.

``predictions`` applies ``model_meta.json``'s ``threshold`` (0.5).

Written for Python 3.8+ (the serving images' interpreters: annotations are never evaluated, no
3.10-only calls) and runnable locally: ``model_fn(<dir>)`` etc.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

# train.py is shipped beside this file; the serving toolkit imports this module from that directory.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import train  # type: ignore[import-not-found]  # noqa: E402

JSON = "application/json"
CSV = "text/csv"


def model_fn(model_dir: str) -> tuple[Any, dict[str, Any]]:
    """Load ``model.pt`` + ``model_meta.json`` from ``model_dir``: ``(network in eval mode on CPU, meta)``."""
    net, meta = train.load_model(model_dir)
    return net, meta


def _media_type(value: str | None, default: str) -> str:
    return (value or default).split(";")[0].strip().lower() or default


def input_fn(request_body: bytes | str, content_type: str = JSON) -> pd.DataFrame:
    """Parse a request (``text/csv`` with a header row, or ``application/json`` records) into a frame."""
    text = request_body.decode("utf-8") if isinstance(request_body, (bytes, bytearray)) else request_body
    media = _media_type(content_type, JSON)
    if media == CSV:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    if media == JSON:
        payload = json.loads(text)
        if isinstance(payload, dict) and "instances" in payload:
            payload = payload["instances"]
        if isinstance(payload, dict):
            payload = [payload]
        if not isinstance(payload, list) or not all(isinstance(r, dict) for r in payload):
            raise ValueError('expected a JSON record, a list of records or {"instances": [...]}')
        return pd.DataFrame.from_records(payload)
    raise ValueError(f"unsupported content type {content_type!r}: send {CSV} or {JSON}")


def predict_fn(data: pd.DataFrame, model: tuple[Any, dict[str, Any]]) -> dict[str, list[Any]]:
    """Probability of label 1 and the thresholded prediction for each row (plus ids when present)."""
    net, meta = model
    missing = [c for c in [*meta["tab_field_list"], *meta["cat_field_list"]] if c not in data.columns]
    if missing:
        raise ValueError(f"the request lacks feature columns {missing}")
    probabilities = [float(p) for p in train.predict(net, meta, data)]
    threshold = float(meta.get("threshold", 0.5))
    result: dict[str, list[Any]] = {
        "probabilities": probabilities,
        "predictions": [int(p >= threshold) for p in probabilities],
    }
    id_name = meta.get("id_name")
    if id_name and id_name in data.columns:
        result["ids"] = [v.item() if hasattr(v, "item") else v for v in data[id_name].tolist()]
    return result


def output_fn(prediction: dict[str, list[Any]], accept: str = JSON) -> str:
    """Serialise :func:`predict_fn`'s result as ``application/json`` (default) or ``text/csv``."""
    media = _media_type(accept, JSON)
    if media in (JSON, "*/*"):
        return json.dumps(prediction, sort_keys=True)
    if media == CSV:
        labels = prediction["predictions"]
        return "".join(f"{p!r},{labels[i]}\n" for i, p in enumerate(prediction["probabilities"]))
    raise ValueError(f"unsupported accept type {accept!r}: ask for {JSON} or {CSV}")
