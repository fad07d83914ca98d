"""Trace a masked transformer (``input_ids``, ``attention_mask`` → one output) to ONNX, as
the text encoder's export and the sentiment fine-tuning both need it.

The TorchScript exporter (``dynamo=False``) with dynamic batch and sequence axes, opset 17 and
the IR version capped at 9: what onnxruntime 1.16, the oldest ``serve`` allows, reads.

Examples
--------
>>> proto = export_masked_transformer(graph, ids, mask, input_names=("input_ids",
...     "attention_mask"), output_name="probabilities", error=RuntimeError)  # doctest: +SKIP
>>> proto.ir_version <= MAX_IR_VERSION  # doctest: +SKIP
True
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

#: onnxruntime 1.16 reads IR <= 9 and default-domain opset <= 19; 17 keeps a margin.
TARGET_OPSET = 17
MAX_IR_VERSION = 9


def export_masked_transformer(
    graph: Any,
    ids: Any,
    mask: Any,
    *,
    input_names: tuple[str, str],
    output_name: str,
    error: type[Exception],
    opset: int = TARGET_OPSET,
) -> Any:
    """``graph(ids, mask)`` traced to an ``onnx.ModelProto`` (not yet checked: callers may add
    metadata first).

    Raises
    ------
    error
        When torch cannot export the graph.
    """
    import onnx
    import torch

    folder = tempfile.mkdtemp(prefix="learnloop-onnx-")
    target = Path(folder) / "model.onnx"
    try:
        # transformers' masking code warns of Python branches under tracing; they do not
        # depend on the shapes here (a mask is always given), and each job compares the export
        # with torch on texts of every length.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                graph,
                (ids, mask),
                str(target),
                input_names=list(input_names),
                output_names=[output_name],
                dynamic_axes={
                    input_names[0]: {0: "batch", 1: "sequence"},
                    input_names[1]: {0: "batch", 1: "sequence"},
                    output_name: {0: "batch"},
                },
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,
            )
        proto = onnx.load(str(target))
    except Exception as exc:  # torch.onnx raises a variety of its own errors
        raise error(f"torch.onnx.export failed: {exc}") from exc
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    proto.ir_version = min(proto.ir_version, MAX_IR_VERSION)
    return proto


__all__ = ["MAX_IR_VERSION", "TARGET_OPSET", "export_masked_transformer"]
