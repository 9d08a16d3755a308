"""ScanHive: a self-hosted multi-engine file analysis server speaking the MetaDefender REST APIs."""

__version__ = "0.1.0"
