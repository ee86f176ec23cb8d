"""The embedded local runtime (make run, tests). Production code never imports this package."""
