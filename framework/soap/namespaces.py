"""Namespace URIs of SOAP, WSDL and idocbridge's fault details."""

from __future__ import annotations

__all__ = ["FAULT_NS", "SOAP11_ENV", "SOAP12_ENV", "WSA", "XSI"]

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
FAULT_NS = "urn:idocbridge:fault:1"
WSA = "http://www.w3.org/2005/08/addressing"
"""WS-Addressing 1.0: its ``MessageID`` header is accepted as the request's MessageId."""
XSI = "http://www.w3.org/2001/XMLSchema-instance"
