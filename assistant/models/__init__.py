"""Models: the bundled sentence-transformers encoder, verified by sha256, and its forward passes
(``embedding``, ``numpy_bert``). Nothing here is downloaded at run time. May import only the base
modules (settings, errors)."""
