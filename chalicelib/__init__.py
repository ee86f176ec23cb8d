"""Complaint and report handling platform (投诉举报处置平台)."""
