"""SOAP ERP connector (zeep): any page-style SOAP service; Dynamics NAV / Business Central first."""
from concord.connectors.soap_erp.connector import SoapErpConnector

__all__ = ["SoapErpConnector"]
