"""netpol-guard: a validating admission webhook that keeps pod networking on least privilege."""

__version__ = "0.1.0"
