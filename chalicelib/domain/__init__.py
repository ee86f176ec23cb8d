"""Pure domain core: tickets, lifecycle, clocks and the working-day calendar (docs/domain.md "Code map").

Nothing here may import boto3, botocore, pynamodb or chalice: every rule is plain Python
and is tested without any I/O.
"""
