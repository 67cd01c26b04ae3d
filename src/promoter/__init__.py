"""promoter: promote a component's version across a GitOps config repository, exactly."""

__version__ = "0.1.0"
