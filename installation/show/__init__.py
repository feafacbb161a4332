"""Show files: YAML in, frozen dataclasses out; every error names file:line and field."""
