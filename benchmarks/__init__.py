"""Side-by-side measurements of the companion against shap and captum: ``python -m benchmarks``.

Modules: :mod:`benchmarks.exact`, :mod:`benchmarks.permutation`, :mod:`benchmarks.kernel`,
:mod:`benchmarks.gradient`; shared timing and memory helpers in :mod:`benchmarks.common`.
"""
