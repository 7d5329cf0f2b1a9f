"""Generators that turn a validated model into WSDL, XSD and Python service code."""
