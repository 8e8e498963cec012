"""Which models exist, where their weights come from, and how to get a loadable path."""

from dalston.catalog.catalog import ModelCatalog, ModelEntry, ModelSource, ModelStatus

__all__ = ["ModelCatalog", "ModelEntry", "ModelSource", "ModelStatus"]
