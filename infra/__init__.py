"""The platform's AWS resources (template.yaml) and the packager that merges them with Chalice's."""
