"""Loopback peers: real servers on 127.0.0.1 for the demo and the tests (SFTP, buyer portal, AS2
partner), and the helper that serves an ASGI app in a background thread."""
