"""Adapters: one module per stereotype, and the chain engine that runs an operation's activity."""
