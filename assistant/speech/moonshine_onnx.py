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
4. the decoder keeps the encoder's attention keys as its attention reads them (transposed and
   scaled), made once on the first step, where every later step made them again (``_keys_once``):
   a token on 8 s of audio then costs 5 ms, not 9 (2 threads, an Intel Xeon);
5. the weights are written beside each graph (``NAME.weights``), not inside it: onnxruntime then
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
VERSION = 3
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
    if ort_file.stem == "decoder_model_merged":
        _keys_once(model)
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


def _keys_once(model) -> None:  # noqa: ANN001 - onnx.ModelProto
    """Make the merged decoder cache the encoder's keys as its cross-attention reads them.

    The first step (the If's ``else_branch``) outputs each layer's encoder keys for the cache,
    heads x frames x 52, and every later step (``then_branch``) transposed them and scaled them
    again before its one matrix product: two copies of every layer's keys per token, for nothing.
    Measured on an 8 s answer (340 frames): a step took 9 ms, 3.5 of them this, and held 4.5 MB
    more while it ran. The first step already computes them transposed and scaled for its own
    attention; it now caches those (heads x 52 x frames), and later steps read them as they are:
    the same numbers multiplied in the same order, so the same transcripts.
    """
    import onnx

    branches = {a.name: a.g for a in model.graph.node[0].attribute if a.type == onnx.AttributeProto.GRAPH}
    first, later = branches["else_branch"], branches["then_branch"]
    first_made = {o: n for n in first.node for o in n.output}
    readers = _readers(first)
    changed = 0
    for out in first.output:
        if not (out.name.startswith("present.") and out.name.endswith(".encoder.key")):
            continue
        keys = first_made[out.name].input[0]  # frames x heads x 52, before the cache's transpose
        ready = _transposed_scaled(readers, keys, [0, 2, 3, 1])
        past = out.name.replace("present", "past_key_values")
        _read_ready(later, past)
        first.node.remove(first_made[out.name])
        out.name = ready
        changed += 1
    if changed != 8:
        raise ValueError(f"the decoder's cross-attention is not as expected ({changed} layers changed)")
    for value in [*model.graph.input, *model.graph.output, *first.output, *later.output]:
        if value.name.endswith(".encoder.key") and value.name.startswith(("past_key_values.", "present.")):
            # set, not swapped: onnxruntime wrote the later step's pass-through as 0 x 8 x 1 x 52
            dims = value.type.tensor_type.shape.dim
            dims[2].dim_value, dims[3].dim_param = 52, "encoder_sequence_length_out"


def _readers(graph):  # noqa: ANN001, ANN202 - onnx types, imported lazily
    """Each value's name -> the nodes of ``graph`` that read it."""
    readers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    return readers


def _transposed_scaled(readers: dict, name: str, perm: list[int]) -> str:
    """The output of ``Mul(Transpose(name, perm), scale)`` where the graph computes it."""
    import onnx

    for node in readers.get(name, []):
        perm_of = [onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == "perm"]
        if node.op_type == "Transpose" and perm_of == [perm]:
            [scaled] = [n for n in readers[node.output[0]] if n.op_type == "Mul"]
            return scaled.output[0]
    raise ValueError(f"no transposed, scaled copy of {name} in the decoder")


def _read_ready(graph, past: str) -> None:  # noqa: ANN001 - onnx.GraphProto
    """In ``graph``, feed the cached keys ``past`` straight to the product their transposed,
    scaled copy fed, and drop the copying."""
    readers = _readers(graph)
    [transpose] = [n for n in readers[past] if n.op_type == "Transpose"]
    [scale] = readers[transpose.output[0]]
    [product] = readers[scale.output[0]]
    if scale.op_type != "Mul" or product.op_type != "MatMul":
        raise ValueError(f"the decoder reads {past} otherwise than expected")
    product.input[list(product.input).index(scale.output[0])] = past
    graph.node.remove(transpose)
    graph.node.remove(scale)


if __name__ == "__main__":
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
