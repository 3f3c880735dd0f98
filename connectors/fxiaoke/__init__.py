"""Fxiaoke (纷享销客) CRM connector: corpAccessToken auth, CRM v2 data/describe APIs."""
from concord.connectors.fxiaoke.config import FxiaokeConfig
from concord.connectors.fxiaoke.connector import FxiaokeConnector

__all__ = ["FxiaokeConnector", "FxiaokeConfig"]
