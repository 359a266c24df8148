"""ucterm: renew CA-signed certificates on Cisco UC (VOS) clusters from the keyboard."""

__version__ = "0.1.0"
