"""ganeval: FID, Inception Score and KID that agree with the reference implementations."""

__version__ = "0.1.0"
