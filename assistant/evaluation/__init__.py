"""Measuring the assistant: dataset loaders, metrics, the seeds eval gate and public benchmarks
(``assistant eval``, ``assistant bench``), and the training scripts (``training/``). A top layer
beside the CLI and the chat: may import core and everything below it, never the CLI or the chat."""
