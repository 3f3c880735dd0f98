"""Zoho CRM connector (REST API v6-v8 over requests) and its sandbox (``connectors.zoho_crm.sandbox``)."""
from concord.connectors.zoho_crm.config import ZohoCrmConfig
from concord.connectors.zoho_crm.connector import ZohoCrmConnector

__all__ = ["ZohoCrmConnector", "ZohoCrmConfig"]
