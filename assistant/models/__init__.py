"""Models: the bundled sentence-transformers encoder, verified by sha256, and its forward passes in
ONNX Runtime (``embedding``, ``onnx_runtime``, ``worker`` for ingest at a lower priority). Nothing here
is downloaded at run time. May import only the base modules (settings, errors)."""
