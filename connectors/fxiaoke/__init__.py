"""Fxiaoke (纷享销客) CRM connector: corpAccessToken auth, CRM v2 data/describe APIs."""
from connectors.fxiaoke.config import FxiaokeConfig
from connectors.fxiaoke.connector import FxiaokeConnector

__all__ = ["FxiaokeConnector", "FxiaokeConfig"]
