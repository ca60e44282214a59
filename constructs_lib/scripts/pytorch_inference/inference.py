"""SageMaker PyTorch serving handler for the model trained by constructs_lib's reference ``train.py``.

The PyTorch inference toolkit imports this module from ``/opt/ml/model/code`` and calls its four
handler functions. The model format is not re-implemented here: ``model.py`` (the network, its input
transform and the ``model.pt`` + ``model_meta.json`` format, shared with ``train.py``) sits beside this
file in ``model.tar.gz``'s ``code/`` directory and is imported from there. A model trained by another
script needs its own handler (``PyTorchModelConfig.source_dir``).

Requests (``Content-Type``):

* ``text/csv``: a header row, then one row per record (cells are read as text, like ``train.py`` reads
  categorical columns; numeric columns are parsed as numbers by the model's transform);
* ``application/json``: a list of records (``[{"feature1": 1.5, ...}, ...]``), ``{"instances": [...]}``,
  or one record.

Columns the model does not use are ignored; missing numeric values become the training mean, unknown
categories the "unknown" embedding. A request without a feature column is refused (``ValueError``).

Responses (``Accept``): ``application/json`` (default, also for ``*/*``):
``{"probabilities": [P(label=1) of each record, in request order]}``; ``text/csv``: one probability per
line.

Written for Python 3.9+ (the serving images' interpreters) and runnable locally: ``model_fn(<dir>)``...
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

# model.py is shipped beside this file (model.tar.gz's code/, from which the serving toolkit imports this
# module); in constructs_lib's source tree it is ../pytorch_training/model.py.
_HERE = Path(__file__).resolve().parent
for _candidate in (_HERE, _HERE.parent / "pytorch_training"):
    if (_candidate / "model.py").is_file():
        if str(_candidate) not in sys.path:
            sys.path.insert(0, str(_candidate))
        break

import model as tabular_model  # type: ignore[import-not-found]  # noqa: E402  (the module beside this one)

__all__ = ["CSV", "JSON", "input_fn", "model_fn", "output_fn", "predict_fn"]

JSON = "application/json"
CSV = "text/csv"


def model_fn(model_dir: str) -> tuple[Any, dict[str, Any]]:
    """Load ``model.pt`` + ``model_meta.json`` from ``model_dir``: ``(network in eval mode on CPU, meta)``."""
    net, meta = tabular_model.load_model(model_dir)
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


def predict_fn(data: pd.DataFrame, model: tuple[Any, dict[str, Any]]) -> list[float]:
    """P(label=1) for each row of ``data``, in row order."""
    net, meta = model
    missing = [c for c in [*meta["tab_field_list"], *meta["cat_field_list"]] if c not in data.columns]
    if missing:
        raise ValueError(f"the request lacks feature columns {missing}")
    return [float(p) for p in tabular_model.predict(net, meta, data)]


def output_fn(prediction: list[float], accept: str = JSON) -> str:
    """Serialise :func:`predict_fn`'s probabilities as ``application/json`` (default) or ``text/csv``."""
    media = _media_type(accept, JSON)
    if media in (JSON, "*/*"):
        return json.dumps({"probabilities": [float(p) for p in prediction]})
    if media == CSV:
        return "".join(f"{float(p)!r}\n" for p in prediction)
    raise ValueError(f"unsupported accept type {accept!r}: ask for {JSON} or {CSV}")
