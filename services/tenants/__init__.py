"""The tenants service: the park's registry of enterprises, its credentials and declared revenue.

Run with ``python -m services.tenants.main``; never imported by other services.
"""
