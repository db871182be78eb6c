"""The bundled Moonshine model rewritten once so that onnxruntime runs it fast, in int8.

``moonshine-cpp`` ships Moonshine base English as ORT-format files for its own C library, which
needs AVX-512 and dies with SIGILL on other CPUs. The Python ``onnxruntime`` (installed for
faster-whisper) loads the same files on any x86-64 CPU, but they store each weight matrix as
int8 with a Cast -> Mul -> Add chain in front of it, and an ORT-format model is not optimized
again on load: every decoder step dequantized all 61 M weights and transposed the 32768 x 416
embedding. Measured here: 75-100 ms per token.

So the model is converted once, into a cache folder, in a child process (the conversion briefly
holds the weights as float32, about 760 MB; a session never sees that):

1. onnxruntime writes each ORT file back out as ONNX (``optimized_model_filepath``);
2. onnxruntime folds the dequantizing chains into float32 weights (basic optimizations only, so
   the result is not tied to this CPU);
3. every weight matrix a MatMul uses is quantized again, per column, to int8, and the MatMul
   becomes onnxruntime's ``DynamicQuantizeMatMul``; the token embedding becomes an int8 table
   with one scale per row. The model stays int8 in memory (87 MB of files) and a token costs
   about 15 ms on 2 threads;
4. the weights are written beside each graph (``NAME.weights``), not inside it: onnxruntime then
   maps them from the file instead of parsing them out of one large protobuf. Measured here,
   loading peaks at 187 MB resident instead of 224 MB and settles at 137 MB instead of 164 MB.

Run as ``python -m assistant.speech.moonshine_onnx SOURCE DEST`` (that is the child). Needs the
``onnx`` package (a dependency) to edit the graphs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from assistant.speech.converted import convert_once

log = logging.getLogger(__name__)

PARTS = ("encoder_model", "decoder_model_merged")
"""The two graphs, as named in the package (``NAME.ort`` there, ``NAME.onnx`` here)."""
TOKENIZER = "tokenizer.bin"
VERSION = 2
"""Bumped when the conversion changes, so an old cache folder is not reused."""
MIN_QUANTIZED = 4096
"""Weight matrices with fewer elements stay float (norm scales and the like)."""


def converted_dir(source: Path, root: Path | None = None, timeout: float = 600.0) -> Path | None:
    """The converted copy of the Moonshine model in ``source``, made on first use.

    None when the conversion fails (logged): the shipped ORT files then run as they are, with
    the same answers, only several times slower.
    """
    return convert_once(__name__, source, copy_name, _complete, "the Moonshine model for onnxruntime",
                        timeout, root)


def copy_name(source: Path, root: Path) -> Path:
    """Where the converted copy of the model in ``source`` goes."""
    return root / f"moonshine-{source.name}-onnx-{_key(source)}"


def _key(source: Path) -> str:
    """Changes when the shipped files or this conversion change."""
    parts = [f"v{VERSION}"]
    for name in (*[f"{p}.ort" for p in PARTS], TOKENIZER):
        stat = (source / name).stat()
        parts.append(f"{(source / name).resolve()}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]


def _complete(folder: Path) -> bool:
    return all((folder / f"{p}.onnx").is_file() and (folder / f"{p}.weights").is_file()
               for p in PARTS) and (folder / TOKENIZER).is_file()


def convert(source: Path, dest: Path) -> None:
    """Write ``source``'s two graphs, converted, and its tokenizer into ``dest`` (atomically)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
    try:
        for part in PARTS:
            _convert_graph(source / f"{part}.ort", tmp / f"{part}.onnx", tmp)
        shutil.copy(source / TOKENIZER, tmp / TOKENIZER)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _convert_graph(ort_file: Path, out: Path, scratch: Path) -> None:
    import onnx
    import onnxruntime as ort

    def save_as_onnx(model: Path, to: Path, level: ort.GraphOptimizationLevel) -> None:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = level
        opts.optimized_model_filepath = str(to)
        ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])

    plain, folded = scratch / "plain.onnx", scratch / "folded.onnx"
    save_as_onnx(ort_file, plain, ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    _name_subgraphs(plain)  # onnxruntime writes the If branches unnamed, which ONNX forbids
    save_as_onnx(plain, folded, ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)
    model = onnx.load(str(folded))
    _quantize(model)
    onnx.save(model, str(out), save_as_external_data=True, all_tensors_to_one_file=True,
              location=f"{out.stem}.weights", size_threshold=4096)
    plain.unlink()
    folded.unlink()


def _name_subgraphs(path: Path) -> None:
    import onnx

    model = onnx.load(str(path))
    for graph, name in _graphs(model.graph, "main"):
        graph.name = graph.name or name
    onnx.save(model, str(path))


def _graphs(graph, name: str):  # noqa: ANN001, ANN202 - onnx.GraphProto, imported lazily
    """``graph`` and every subgraph under it (If branches), with a unique name for each."""
    import onnx

    yield graph, name
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _graphs(attr.g, f"{name}_{node.name}_{attr.name}")


def _quantize(model) -> None:  # noqa: ANN001 - onnx.ModelProto
    """Float weight matrices -> int8 in place: MatMuls by column, the embedding lookup by row.

    Quantized arrays go into the main graph, where every subgraph sees them, so the two If
    branches, which each hold a copy of the transposed embedding, share one int8 table.
    """
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    graphs = [g for g, _ in _graphs(model.graph, "main")]
    weights = {i.name: i for g in graphs for i in g.initializer
               if i.data_type == onnx.TensorProto.FLOAT and len(i.dims) == 2
               and int(np.prod(i.dims)) >= MIN_QUANTIZED}
    added: dict[str, onnx.TensorProto] = {}

    def int8(name: str, axis: int) -> str:
        """Symmetric int8 of weight ``name``, one scale per slice along ``axis``."""
        key = f"{name}_q8_{axis}"
        if key not in added:
            w = numpy_helper.to_array(weights[name]).astype(np.float32)
            scale = np.abs(w).max(axis=axis, keepdims=axis == 1) / 127.0
            scale[scale == 0] = 1.0
            added[key] = numpy_helper.from_array(np.round(w / scale).astype(np.int8), key)
            added[f"{key}_scale"] = numpy_helper.from_array(scale.astype(np.float32), f"{key}_scale")
            if axis == 0:
                zero = np.zeros(scale.shape, dtype=np.int8)
                added[f"{key}_zero"] = numpy_helper.from_array(zero, f"{key}_zero")
        return key

    for graph in reversed(graphs):  # branches first: rebuilding a graph copies its If nodes
        nodes = []
        for node in graph.node:
            if node.op_type == "MatMul" and node.input[1] in weights:
                q = int8(node.input[1], axis=0)
                nodes.append(helper.make_node(
                    "DynamicQuantizeMatMul", [node.input[0], q, f"{q}_scale", f"{q}_zero"],
                    list(node.output), name=f"{node.name}_q8", domain="com.microsoft"))
            elif (node.op_type == "Gather" and node.input[0] in weights
                  and all(a.i == 0 for a in node.attribute if a.name == "axis")):
                q, ids, out = int8(node.input[0], axis=1), node.input[1], node.output[0]
                nodes += [
                    helper.make_node("Gather", [q, ids], [f"{out}_q8"], name=f"{node.name}_q8"),
                    helper.make_node("Gather", [f"{q}_scale", ids], [f"{out}_scale"],
                                     name=f"{node.name}_scale"),
                    helper.make_node("Cast", [f"{out}_q8"], [f"{out}_float"],
                                     to=onnx.TensorProto.FLOAT, name=f"{node.name}_cast"),
                    helper.make_node("Mul", [f"{out}_float", f"{out}_scale"], [out],
                                     name=f"{node.name}_dequantize"),
                ]
            else:
                nodes.append(node)
        del graph.node[:]
        graph.node.extend(nodes)
    graphs = [g for g, _ in _graphs(model.graph, "main")]
    used = {x for g in graphs for n in g.node for x in n.input} | {o.name for g in graphs for o in g.output}
    for graph in graphs:
        kept = [i for i in graph.initializer if i.name in used]
        del graph.initializer[:]
        graph.initializer.extend(kept)
    model.graph.initializer.extend(added.values())
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))


if __name__ == "__main__":
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
