"""Measuring the assistant: dataset loaders, metrics, the seeds eval gate and public benchmarks."""
