"""DynamoDB tables (PynamoDB models bound per stage) and the stage's bucket."""

from __future__ import annotations

from learnloop.store.bootstrap import BootstrapReport, bootstrap
from learnloop.store.tables import Tables, bind_model

__all__ = ["BootstrapReport", "Tables", "bind_model", "bootstrap"]
