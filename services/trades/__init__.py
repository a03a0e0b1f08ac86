"""The trades service: the park's data exchange, from listing and compliance review to settlement.

Run with ``python -m services.trades.main``; never imported by other services.
"""
