"""A tiny text encoder built to contract C without torch: a word-level tokenizer and an ONNX
graph that averages token embeddings under the mask and L2-normalises them."""

from __future__ import annotations

import numpy as np

WORDS = ["the", "cat", "dog", "coin", "market", "up", "down", "meme", "news"]


def tiny_tokenizer_json() -> bytes:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3}
    vocab.update({word: i + 4 for i, word in enumerate(WORDS)})
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    return tokenizer.to_str().encode()


def tiny_table(dim: int = 384, *, seed: int = 0) -> np.ndarray:
    """The token embedding table of :func:`tiny_encoder_onnx` (rows: [PAD] [UNK] [CLS] [SEP],
    then :data:`WORDS`)."""
    return np.random.default_rng(seed).normal(size=(len(WORDS) + 4, dim)).astype(np.float32)


def tiny_embedding(words: list[str]) -> np.ndarray:
    """What the tiny encoder computes for a text of known ``words``, by hand."""
    ids = [2, *(WORDS.index(w) + 4 for w in words), 3]
    mean = tiny_table()[ids].mean(axis=0)
    return mean / np.linalg.norm(mean)


def tiny_encoder_onnx(dim: int = 384, *, seed: int = 0) -> bytes:
    """``input_ids``, ``attention_mask`` → ``sentence_embedding`` [batch, dim]: masked mean of
    a random embedding table, L2-normalised."""
    from onnx import TensorProto, helper, numpy_helper

    table = tiny_table(dim, seed=seed)
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["tokens"], axis=0),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", "axis_last"], ["mask3"]),
        helper.make_node("Mul", ["tokens", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis_seq"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask3", "axis_seq"], ["count"], keepdims=0),
        helper.make_node("Div", ["summed", "count"], ["mean"]),
        helper.make_node("LpNormalization", ["mean"], ["sentence_embedding"], axis=1, p=2),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", dim])],
        initializer=[
            numpy_helper.from_array(table, "table"),
            numpy_helper.from_array(np.array([-1], dtype=np.int64), "axis_last"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "axis_seq"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())
